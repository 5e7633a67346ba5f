package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// replayOK runs `ringex replay args...` and returns its standard output.
func replayOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runMain(args...)
	if code != 0 {
		t.Fatalf("ringex replay %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// An exchange whose sessions are not the default config's writes a
// journal; `ringex replay book` and `trail`, without --config, name its
// brokers by the CompIDs the journal binds, not by the default config's
// session list.
func TestReplayNamesBrokersWithoutTheConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.FIX.Sessions = []config.Session{{BeginString: "FIX.4.4", TargetCompID: "ALPHA"}, {BeginString: "FIX.4.4", TargetCompID: "BETA"}}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ broker, side, px string }{{"ALPHA", "2", "101"}, {"BETA", "1", "99"}} {
		c := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, o.broker, cfg.FIX.SenderCompID)
		c.Send("D", tag.ClOrdID, "ORD"+o.side, tag.Symbol, "AAPL", tag.Side, o.side, tag.OrderQty, "10",
			tag.OrdType, "2", tag.Price, o.px, tag.TimeInForce, "1")
		fixtest.Expect(t, o.broker, c.Next(10*time.Second), map[quickfix.Tag]string{tag.ExecType: "0"})
		defer c.Close()
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cfg.DataDir, "journal")

	book := replayOK(t, "book", "--journal", dir, "--symbol", "AAPL")
	for _, want := range []string{"ALPHA", "BETA"} {
		if !strings.Contains(book, want) {
			t.Errorf("book does not name %s:\n%s", want, book)
		}
	}
	if strings.Contains(book, "BROKER0") {
		t.Errorf("book names a broker of the default config:\n%s", book)
	}

	trail := replayOK(t, "trail", "--journal", dir, "--broker", "BETA", "--format", "json")
	rows := 0
	for line := range strings.Lines(trail) {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("trail row %q: %v", line, err)
		}
		if row["broker"] != "BETA" {
			t.Errorf("trail --broker BETA gave a row of %v: %s", row["broker"], line)
		}
		rows++
	}
	if rows < 3 { // the binding, the order, its acceptance
		t.Errorf("trail --broker BETA gave %d rows:\n%s", rows, trail)
	}
}

// A journal that begins after a snapshot (its older segments gone) names
// its brokers by the bindings the snapshot carries.
func TestBrokerNamesFromASnapshot(t *testing.T) {
	dir := t.TempDir()
	cmds := bindTwoBrokersAndRest(t, dir)
	const snapSeq = 200
	v := testVenue(t)
	writeSnapshot(t, dir, v, v.Partitions, cmds, snapSeq)
	removeSegmentsBefore(t, dir, snapSeq+1)
	book := replayOK(t, "book", "--journal", dir, "--symbol", "AAPL", "--from-snapshot")
	for _, want := range []string{"ALPHA", "BETA"} {
		if !strings.Contains(book, want) {
			t.Errorf("book does not name %s:\n%s", want, book)
		}
	}
}

// bindTwoBrokersAndRest journals, in segments of 8 KiB, the bindings of
// accounts 1 (ALPHA) and 2 (BETA) and then 300 orders that rest without
// crossing, and returns the commands with their seqs.
func bindTwoBrokersAndRest(t *testing.T, dir string) []matcher.Command {
	t.Helper()
	var cmds []matcher.Command
	for i, name := range []string{"ALPHA", "BETA"} {
		c, err := matcher.AccountBinding{Account: uint32(i + 1), Name: name}.Command()
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for i := range 300 {
		id, _ := matcher.MakeClOrdID(fmt.Sprintf("O%d", i))
		c := matcher.Command{Kind: matcher.KindNew, Account: uint32(1 + i%2), Symbol: 1, Type: matcher.Limit, TIF: matcher.GTC, Qty: 1, ClOrdID: id}
		c.Side, c.Price = matcher.Sell, int64(10100+i%7)
		if c.Account == 2 {
			c.Side, c.Price = matcher.Buy, int64(9900-i%7)
		}
		cmds = append(cmds, c)
	}
	for i := range cmds {
		cmds[i].Seq, cmds[i].TimeNs = int64(i+1), 1_772_000_000_000_000_000+int64(i)
	}
	writeJournal(t, dir, cmds, 8<<10)
	return cmds
}

// removeSegmentsBefore removes every segment of the journal in dir that
// ends before seq (the next segment begins at or before it), as a
// snapshot's cleanup would, and fails the test when none does.
func removeSegmentsBefore(t *testing.T, dir string, seq int64) {
	t.Helper()
	segs := segmentFiles(t, dir)
	removed := 0
	for i := 0; i+1 < len(segs); i++ {
		if next := filepath.Base(segs[i+1]); next <= filepath.Base(journalSegName(seq)) {
			if err := os.Remove(segs[i]); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	if removed == 0 {
		t.Fatalf("no segment before seq %d to remove: %v", seq, segs)
	}
}

// journalSegName is the plain segment file name of a segment whose first
// record is seq (journal/doc.go).
func journalSegName(seq int64) string { return fmt.Sprintf("%020d.seg", seq) }

// A journal that begins after a snapshot written with another config than
// the one replay runs with (no --config: the default) still names its
// brokers by the bindings the snapshot carries: they are read from its
// bytes, not from a restore that this config cannot do.
func TestBrokerNamesFromASnapshotOfAnotherConfig(t *testing.T) {
	dir := t.TempDir()
	cmds := bindTwoBrokersAndRest(t, dir)
	const snapSeq = 200
	cfg := config.Default()
	cfg.Symbols = append(cfg.Symbols, config.Symbol{Name: "EXTRA", TickSize: "0.01", LotSize: 1})
	writer, err := VenueOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeSnapshot(t, dir, writer, writer.Partitions, cmds, snapSeq)
	removeSegmentsBefore(t, dir, snapSeq+1)
	if first := segmentFiles(t, dir)[0]; filepath.Base(first) <= filepath.Base(journalSegName(2)) {
		t.Fatalf("the journal still begins at %s: the bindings' records are not gone", first)
	}

	v := testVenue(t)
	v.LoadBindings(dir)
	if a, b := v.BrokerName(1), v.BrokerName(2); a != "ALPHA" || b != "BETA" {
		t.Fatalf("accounts 1 and 2 named %q and %q; want ALPHA and BETA (the snapshot's bindings)", a, b)
	}
}

// A journal that binds accounts names brokers by its bindings alone: a
// name the config lists but the journal does not bind is no account,
// whatever its place in the list (an error saying so), and a bound name is
// found wherever the list puts it. Only a journal that binds nothing
// takes the config's positions.
func TestBrokerIDByTheJournalsBindings(t *testing.T) {
	v := testVenue(t) // sessions BROKER01, BROKER02, ...
	if id, err := v.BrokerID(v.Brokers[1]); err != nil || id != 2 {
		t.Fatalf("no bindings: %s: %d, %v; want its position, 2", v.Brokers[1], id, err)
	}
	v.bind([]matcher.AccountBinding{{Account: 1, Name: "ALPHA"}, {Account: 2, Name: v.Brokers[2]}})
	if id, err := v.BrokerID("ALPHA"); err != nil || id != 1 {
		t.Fatalf("ALPHA: %d, %v; want 1", id, err)
	}
	if id, err := v.BrokerID(v.Brokers[2]); err != nil || id != 2 {
		t.Fatalf("%s (bound to account 2, listed third): %d, %v; want 2", v.Brokers[2], id, err)
	}
	for _, name := range v.Brokers[:2] {
		if id, err := v.BrokerID(name); err == nil || !strings.Contains(err.Error(), "binds no account to it") {
			t.Fatalf("%s (listed, not bound): %d, %v; want an error saying the journal binds no account to it", name, id, err)
		}
	}
	if got := v.BrokerName(3); got != "#3" {
		t.Errorf("account 3, which the journal does not bind, is named %q; want #3, not the config's third session", got)
	}
}
