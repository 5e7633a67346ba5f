package node_test

import (
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestReview7SymbolInsertedAtTheFrontRefused: a venue runs the default
// symbols (AAPL is id 1) and BROKER01's AAPL buy rests. The operator
// then adds a new symbol, AMD (same tick and lot as the others), at the
// front of symbols[] rather than at the end. Symbol ids are 1-based
// positions in that list, so every journaled order now belongs to
// another symbol: BROKER01's AAPL buy would rest in AMD's book, and so on
// down the list. The symbol scale records (kind 22) were added so that
// a journal says what its symbols' prices mean and a start with another
// meaning is refused naming the symbol; but the record holds no name, so
// with equal ticks and lots the shifted list starts and silently renames
// every book. The start must be refused (naming AMD or AAPL).
func TestReview7SymbolInsertedAtTheFrontRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "1")})
	if err != nil {
		t.Fatal(err)
	}
	b := order(1, "B1", matcher.Buy, 100, 10)
	b.Symbol = 1 // AAPL
	if err := n.Submit(b); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if cfg.Symbols[0].Name != "AAPL" {
		t.Fatalf("symbols[0] is %s, want AAPL", cfg.Symbols[0].Name)
	}
	amd := cfg.Symbols[0]
	amd.Name = "AMD"
	cfg.Symbols = append([]config.Symbol{amd}, cfg.Symbols...)
	n, err = node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "2")})
	if err == nil {
		n.Stop()
		t.Fatalf("a restart with AMD inserted before AAPL in symbols[] started: the journal's AAPL orders are now AMD's, MSFT's AAPL's, and so on")
	}
	t.Logf("refused: %v", err)
}

// TestReview7NewSymbolAfterACheckpointStarts: docs/config.md says "a new
// tick is a new symbol or a new dataDir", and a start journals the symbol
// scale record "of each configured symbol the journal does not say yet"
// (node/symbolscale.go). So an operator lists a new symbol, AAPL2 (AAPL
// with tick 0.05), at the end of symbols[] and restarts. The venue has
// checkpointed once, as every venue does: the start must succeed and
// journal one symbol scale record, AAPL2's (id 9). Today the engine
// snapshot is refused ("written with another config ... 8 symbols",
// matcher Engine.load), so the documented remedy cannot be taken on any
// venue that has a snapshot.
func TestReview7NewSymbolAfterACheckpointStarts(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "1")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*matcher.Command{order(1, "B1", matcher.Buy, 100, 10), order(1, "B2", matcher.Buy, 100, 10)} {
		if err := n.Submit(o); err != nil {
			t.Fatal(err)
		}
	}
	awaitSnapshotAt(t, dir, firstStartRecords(cfg)+1)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	before := len(scaleRecords(t, dir))
	added := cfg.Symbols[0]
	added.Name, added.TickSize = "AAPL2", "0.05"
	cfg.Symbols = append(append([]config.Symbol(nil), cfg.Symbols...), added)
	n, err = node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "2")})
	if err != nil {
		t.Fatalf("restart with a new symbol AAPL2 at the end of symbols[] (the documented way to a new tick): %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	got := scaleRecords(t, dir)
	if len(got) != before+1 || got[len(got)-1] != (matcher.SymbolScale{Symbol: uint32(len(cfg.Symbols)), Tick: "0.05", Lot: added.LotSize}) {
		t.Fatalf("symbol scale records %+v, want the first start's %d and AAPL2's alone", got, before)
	}
}
