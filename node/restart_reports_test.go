package node_test

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestRestartRebuildsReportsTheStoresLack: BROKER01 and BROKER02 rest GTC
// buys while away; BROKER03's sell fills both. The machine then dies with
// the fills journaled but the session stores' last writes lost (they are
// not fsynced per message): the stores are put back as they were before
// the sell. On restart each broker still gets its fill, rebuilt from the
// journal, with PossResend=Y: BROKER01 logging on with ResetSeqNumFlag=Y,
// BROKER02 keeping its sequence numbers (it gets its stored New report by
// ResendRequest, PossDup=Y). Nothing comes twice without one of the flags.
func TestRestartRebuildsReportsTheStoresLack(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	var logs logLines
	start := func() *node.Node {
		t.Helper()
		n, err := node.Start(cfg, node.Options{Log: logs.Tee(t, "").Logger()})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	submit := func(n *node.Node, cmds ...*matcher.Command) {
		t.Helper()
		for _, c := range cmds {
			if err := n.Submit(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	// Same-length ClOrdIDs: one symbol (order()).
	submit(start(), order(1, "B1", matcher.Buy, 100, 10), order(2, "B2", matcher.Buy, 100, 10))
	stores, saved := filepath.Join(dir, "fix"), filepath.Join(t.TempDir(), "fix")
	if err := os.CopyFS(saved, os.DirFS(stores)); err != nil {
		t.Fatal(err)
	}
	submit(start(), order(3, "S3", matcher.Sell, 100, 20))
	// The crash: the stores lose what was written since the copy.
	if err := os.RemoveAll(stores); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(stores, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}

	n := start()
	defer n.Stop()
	if !logs.has("reports that the session stores lack (not yet sent, or lost by a crash) rebuilt from the journal", " reports=5 ", " sessions=3 ") {
		t.Error("no log line for the 5 rebuilt reports (BROKER03: its New and two fills)")
	}
	if got := logs.count("that the session stores lack ("); got != 1 {
		t.Errorf("%d starts rebuilt reports, want 1: the start after a clean stop rebuilds none", got)
	}
	keepSeqNums := func(ss *quickfix.SessionSettings) { ss.Set(qfconfig.ResetOnLogon, "N") }
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	checkFillAfterCrash(t, "BROKER01 (141=Y)", b1, "B1", "")
	b2 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX", keepSeqNums)
	defer b2.Close()
	checkFillAfterCrash(t, "BROKER02 (keeps its numbers)", b2, "B2", "New")
}

// checkFillAfterCrash reads what broker b gets until the answer to an
// OrderStatusRequest sent once the fill is in: exactly one fill of clOrd,
// with PossResend=Y; with storedNew, also its New report, by resend
// (PossDup=Y). Anything else must be flagged PossResend or PossDup (a
// stored report resent after a 141=Y Logon) and must not be a fill. The
// request's answer goes through the ring and then the account's queue,
// behind every report queued for the broker before it: a round trip, not
// a quiet spell, says that nothing more was coming.
func checkFillAfterCrash(t *testing.T, who string, b *fixtest.Client, clOrd, storedNew string) {
	t.Helper()
	fills, news := 0, 0
	probed, answered := false, false
	deadline := time.Now().Add(wait)
	for !answered && time.Now().Before(deadline) {
		ms := b.Drain()
		if len(ms) == 0 {
			if !probed && fills > 0 && (storedNew == "" || news > 0) {
				b.Send("H", tag.ClOrdID, "PROBE", tag.Symbol, "AAPL", tag.Side, "1")
				probed = true
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		for _, m := range ms {
			f := fixtest.Fields(m)
			possResend, _ := m.Header.GetString(tag.PossResend)
			possDup, _ := m.Header.GetString(tag.PossDupFlag)
			switch {
			case probed && f[tag.ExecType] == "I" && f[tag.ClOrdID] == "PROBE":
				answered = true
			case f[tag.ExecType] == "F":
				fills++
				if possResend != "Y" || f[tag.ClOrdID] != clOrd || f[tag.LastQty] != "10" {
					t.Errorf("%s: fill %v with PossResend %q, want one of %s, PossResend=Y", who, f, possResend, clOrd)
				}
			case possDup == "Y" && f[tag.ExecType] == "0" && f[tag.ClOrdID] == clOrd:
				news++
			case possResend != "Y" && possDup != "Y":
				t.Errorf("%s: %v without PossResend or PossDup", who, f)
			}
		}
	}
	if !answered {
		t.Errorf("%s: no answer to the OrderStatusRequest sent once the fill was in (sent: %v)", who, probed)
	}
	if fills != 1 {
		t.Errorf("%s got %d fills of %s after the crash, want 1", who, fills, clOrd)
	}
	if storedNew != "" && news != 1 {
		t.Errorf("%s got its stored New report %d times by resend, want 1", who, news)
	}
}

// TestIdleSessionStoreMarkFollowsCheckpoints: a broker with no reports for
// a while does not send the rebuild after a crash back to its last report:
// at each checkpoint its session store's mark moves to the checkpoint.
func TestIdleSessionStoreMarkFollowsCheckpoints(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Snapshot = config.Snapshot{EveryCommands: 10}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	for i := range 30 { // BROKER02's orders only
		if err := n.Submit(order(2, fmt.Sprintf("B%02d", i), matcher.Buy, 100, 1)); err != nil {
			t.Fatal(err)
		}
	}
	mark := filepath.Join(cfg.DataDir, "fix", "FIX.4.4-RINGEX-BROKER01.mark")
	waitUntil(t, "BROKER01's store mark passes a checkpoint after its start", func() bool {
		b, err := os.ReadFile(mark)
		return err == nil && len(b) == 16 && int64(binary.LittleEndian.Uint64(b)) > 10*matcher.ExecIDStride
	})
}

// TestStoresShowRecordsTheJournalLost: acknowledged records zeroed at the
// journal's end with journal/DURABLE gone too are still not taken for a
// torn tail: the session store's mark shows the broker was sent reports of
// them, and the start is refused, naming the journal segment, the offset,
// the missing seqs and the store's mark file.
func TestStoresShowRecordsTheJournalLost(t *testing.T) {
	dir := t.TempDir()
	addr := fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)
	broker := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	for i := range 10 {
		broker.Send("D", tag.ClOrdID, fmt.Sprintf("O%d", i), tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "1")
		expect(t, "new", broker.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: fmt.Sprintf("O%d", i), tag.ExecType: "0"})
	}
	n.Stop()
	broker.Close()

	seg, off := zeroLastRecords(t, filepath.Join(dir, "journal"), 3)
	if err := os.Remove(filepath.Join(dir, "journal", "DURABLE")); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	_, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err == nil || !strings.Contains(err.Error(), seg) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", off)) ||
		!strings.Contains(err.Error(), "are missing") || !strings.Contains(err.Error(), "BROKER01.mark") {
		t.Fatalf("start on a journal whose acknowledged end was zeroed, DURABLE removed: %v; "+
			"want a refusal naming %s, offset %d, the missing seqs and the session store's mark", err, seg, off)
	}
}

// TestFailoverAfterRestartResendsStoredUnacknowledgedReports: a report
// stored in its session store but never acknowledged by its broker's TCP
// stack (BROKER01 went away before its GTC buy filled) does not count as
// delivered after the node restarts: the delivery marks a standby hears
// from the restarted primary leave it out, and a failover before BROKER01
// logs on again resends it (PossResend=Y). Before, every report stored
// before the start counted as delivered (SetDeliveredBefore), and the
// promoted standby resent nothing.
func TestFailoverAfterRestartResendsStoredUnacknowledgedReports(t *testing.T) {
	dirP := t.TempDir()
	cfgP := replCfg(dirP, "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	single := cfgP
	single.Replication = config.Default().Replication
	p, err := node.Start(single, node.Options{Log: logtest.Named(t, "P1")})
	if err != nil {
		t.Fatal(err)
	}
	b1 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "GTC1", tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "1")
	waitConfirmed(t, p, 1, execSeq(t, expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "GTC1"})), 1)
	b1.Close()
	b2 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	b2.Send("D", tag.ClOrdID, "SELL1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "0")
	expect(t, "BROKER02's order", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "SELL1"})
	fill := expect(t, "BROKER02's fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "SELL1"})
	id, err := strconv.ParseInt(fill[tag.ExecID], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	sellSeq := id / matcher.ExecIDStride
	b2.Close()
	if err := p.Stop(); err != nil { // BROKER01's fill stays in its store, unsent
		t.Fatal(err)
	}

	var logS logLines
	p, err = node.Start(cfgP, node.Options{Log: logtest.Named(t, "P2")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)
	waitUntil(t, "the standby has every record and hears the delivery marks", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(s) == lastSeq(p) && st.PrimaryPublished >= lastSeq(p) && len(st.PrimaryDelivered) > 2
	})
	st, _ := s.ReplicationStats()
	if got := st.PrimaryDelivered[1]; got/matcher.ExecIDStride >= sellSeq {
		t.Errorf("BROKER01's delivery mark %d covers the fill's command %d, which its broker never got", got, sellSeq)
	}
	failOver(t, p, s)
	b1 = fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's fill after the failover: PossResend(97) %q, want Y", pr)
	}
	expect(t, "BROKER01's fill after the failover", m, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "GTC1", tag.LastQty: "10",
	})
}

// TestFailedRebuildAtStartFailsTheStart: a start that must rebuild reports
// the session stores lack and cannot (here the journal's first segment is
// gone and no snapshot is old enough) refuses to start, naming the
// session stores, the commands and what failed, instead of letting the
// brokers go on without those reports.
func TestFailedRebuildAtStartFailsTheStart(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Journal.SegmentMiB = 1
	cfg.Snapshot = config.Snapshot{EveryCommands: 6000}
	start := func() (*node.Node, error) {
		return node.Start(cfg, node.Options{Log: logtest.New(t)})
	}
	n, err := start()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Submit(order(1, "B1", matcher.Buy, 100, 10)); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	stores, saved := filepath.Join(dir, "fix"), filepath.Join(t.TempDir(), "fix")
	if err := os.CopyFS(saved, os.DirFS(stores)); err != nil {
		t.Fatal(err)
	}
	if n, err = start(); err != nil {
		t.Fatal(err)
	}
	// Past the first segment: IOC orders that find nothing and rest nowhere.
	for i := range 20000 {
		c := order(2, fmt.Sprintf("I%d", i), matcher.Sell, 200, 1)
		c.TIF = matcher.IOC
		if err := n.Submit(c); err != nil {
			t.Fatal(err)
		}
	}
	// The start below restores a snapshot past the first segment's end
	// (about seq 8,000); the rebuild needs one at or before seq 9.
	waitUntil(t, "a snapshot past seq 12000", func() bool {
		snaps, _ := filepath.Glob(filepath.Join(dir, "journal", "snap-*.snap"))
		for _, p := range snaps {
			var seq int64
			if _, err := fmt.Sscanf(filepath.Base(p), "snap-%d.snap", &seq); err == nil && seq >= 12000 {
				return true
			}
		}
		return false
	})
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// The first segment goes, hot and archived copies alike (an operator
	// pruning the journal, say).
	var first []string
	filepath.WalkDir(filepath.Join(dir, "journal"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "00000000000000000001.seg") {
			first = append(first, path)
		}
		return nil
	})
	if len(first) == 0 {
		t.Fatal("the journal did not roll")
	}
	for _, f := range first {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: BROKER01's store is back where it was after its order.
	if err := os.RemoveAll(stores); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(stores, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	n, err = start()
	if err == nil {
		n.Stop()
		t.Fatal("the start went on without the reports the stores lack")
	}
	t.Logf("refused: %v", err)
	for _, want := range []string{"rebuild", "session stores", "journal"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}
