package node_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// firstStartRecords is how many records the first start of a node with
// cfg (no bands, no risk, no firm or account of its own STP mode, no
// session bound: a node with Options.Publisher) journals before the first
// order: a symbol scale record for each symbol and the STP venue record.
func firstStartRecords(cfg config.Config) int64 { return int64(len(cfg.Symbols)) + 1 }

// runToCheckpoint starts a node with cfg (its snapshot.everyCommands 2),
// has BROKER01 rest two buys of symbol (0: order's), waits for the
// snapshot after them and stops the node.
func runToCheckpoint(t *testing.T, cfg config.Config, symbol uint32, opts node.Options) {
	t.Helper()
	n, err := node.Start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*matcher.Command{order(1, "B1", matcher.Buy, 100, 10), order(1, "B2", matcher.Buy, 100, 10)} {
		if symbol != 0 {
			o.Symbol = symbol
		}
		if err := n.Submit(o); err != nil {
			t.Fatal(err)
		}
	}
	awaitSnapshotAt(t, cfg.DataDir, firstStartRecords(cfg)+1)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}

// scaleRecords are the symbol scale records of the journal under dir.
func scaleRecords(t *testing.T, dir string) []matcher.SymbolScale {
	return recordsOf(t, dir, matcher.SymbolScaleOf)
}

// A venue journals each symbol's tick and lot sizes once: a restart with
// the same config (tickSize written "0.010", the same decimal) from a
// snapshot taken after the records journals none; a restart with a
// symbol's lotSize changed is refused, naming the symbol, lotSize and both
// values, and journals nothing; so is one with a symbol's tickSize changed.
func TestSymbolScaleJournaledOnceAndChangeRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	runToCheckpoint(t, cfg, 0, node.Options{Publisher: &sink{}, Log: logtest.New(t)})
	var want []matcher.SymbolScale
	for i, s := range cfg.Symbols {
		want = append(want, matcher.SymbolScale{Symbol: uint32(i + 1), Name: s.Name, Tick: s.TickSize, Lot: s.LotSize})
	}
	if got := scaleRecords(t, dir); !slices.Equal(got, want) {
		t.Fatalf("symbol scale records after the first run: %+v, want %+v", got, want)
	}

	cfg.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
	cfg.Symbols[0].TickSize += "0"
	n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("restart with the same tick written %q: %v", cfg.Symbols[0].TickSize, err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := scaleRecords(t, dir); len(got) != len(want) {
		t.Fatalf("symbol scale records after a restart with the same config: %+v, want the first run's alone", got)
	}
	last, err := journal.LastSeq(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		change func(*config.Symbol)
		words  []string
	}{
		{func(s *config.Symbol) { s.LotSize = 100 }, []string{"lotSize", "100", "journal record", "symbols[1]"}},
		{func(s *config.Symbol) { s.TickSize = "0.05" }, []string{"tickSize", `"0.05"`, `"0.01"`, "symbols[1]"}},
	} {
		changed := cfg
		changed.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
		c.change(&changed.Symbols[1])
		n, err := node.Start(changed, node.Options{Publisher: &sink{}, Log: logtest.New(t)})
		if err == nil {
			n.Stop()
			t.Fatalf("a restart with symbols[1] %+v started", changed.Symbols[1])
		}
		for _, w := range append(c.words, changed.Symbols[1].Name) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("restart with symbols[1] %+v: %v; want a refusal with %q", changed.Symbols[1], err, w)
			}
		}
		if now, err := journal.LastSeq(filepath.Join(dir, "journal")); err != nil || now != last {
			t.Fatalf("journal ends at %d after the refused start, %d before (%v)", now, last, err)
		}
	}
}

// A standby whose config gives AAPL another tick size than its primary's
// stops at the primary's symbol scale record, naming AAPL's tickSize,
// rather than follow a journal whose prices it reads five times too high;
// started again on the journal it copied, it is refused the same way.
func TestStandbyWithAnotherTickSizeRefused(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	p, _ := startRepl(t, replCfg(dirP, "primary", ""), &logP)
	defer p.Stop()
	scfg := replCfg(dirS, "standby", p.ReplicationAddr().String())
	scfg.Symbols = append([]config.Symbol(nil), scfg.Symbols...)
	scfg.Symbols[0].TickSize = "0.05"
	check := func(what string, err error) {
		t.Helper()
		for _, w := range []string{"AAPL", "tickSize", `"0.05"`, `"0.01"`} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want a refusal naming %s", what, err, w)
			}
		}
	}
	s, err := node.Start(scfg, node.Options{Publisher: &sink{}, Log: logS.Tee(t, "standby").Logger()})
	if err != nil {
		check("standby start", err)
		return
	}
	for end := time.Now().Add(wait); s.Err() == nil && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
	}
	serr := s.Err()
	s.Stop()
	if serr == nil {
		t.Fatalf("a standby with AAPL's tickSize 0.05 follows a primary with 0.01 (no error within %v)", wait)
	}
	check("standby following", serr)
	if len(scaleRecords(t, dirS)) == 0 {
		return // it stopped before journaling any: nothing to start again on
	}
	if s, err := node.Start(scfg, node.Options{Publisher: &sink{}, Log: logS.Tee(t, "standby again").Logger()}); err == nil {
		s.Stop()
		t.Fatal("the standby started again on a journal its config's tick size disagrees with")
	} else {
		check("standby started again", err)
	}
}
