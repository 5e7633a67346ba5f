package node_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringex/ringex/audit"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestSymbolInsertedAtTheFrontRefused: a venue runs the default
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
func TestSymbolInsertedAtTheFrontRefused(t *testing.T) {
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
	for _, w := range []string{"symbol id 1", "AMD", "AAPL", "at the end"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refused without naming %q: %v", w, err)
		}
	}
}

// TestNewSymbolAfterACheckpointStarts: an operator lists a new symbol,
// AAPL2 (AAPL with tick 0.05), at the end of symbols[] of a venue that
// has checkpointed, and restarts: the start restores the snapshot of 8
// symbols (the new book empty, its risk cells zero), verifies its hash,
// and journals one symbol scale record, AAPL2's (id 9). An order for
// AAPL2 then rests, a checkpoint is taken with 9 symbols, and a restart
// from it starts; `ringex verify` of the whole journal with the new
// config recomputes every checkpoint hash. With and without the risk stage (whose snapshot holds
// per-symbol cells). A start with AAPL2 removed again is refused, naming
// the removed symbol's cause: symbols keep their place.
func TestNewSymbolAfterACheckpointStarts(t *testing.T) {
	for _, mode := range []config.RiskMode{config.RiskModeNone, config.RiskModeLimits} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Default()
			cfg.DataDir = dir
			cfg.Risk.Mode = mode
			cfg.Snapshot = config.Snapshot{EveryCommands: 2}
			runToCheckpoint(t, cfg, 0, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "1")})
			eight := cfg
			before := len(scaleRecords(t, dir))
			added := cfg.Symbols[0]
			added.Name, added.TickSize = "AAPL2", "0.05"
			cfg.Symbols = append(append([]config.Symbol(nil), cfg.Symbols...), added)
			n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "2")})
			if err != nil {
				t.Fatalf("restart with a new symbol AAPL2 at the end of symbols[]: %v", err)
			}
			for _, o := range []*matcher.Command{order(1, "N1", matcher.Buy, 100, 10), order(1, "N2", matcher.Buy, 100, 10)} {
				o.Symbol = uint32(len(cfg.Symbols))
				if err := n.Submit(o); err != nil {
					t.Fatal(err)
				}
			}
			last, err := journal.LastSeq(filepath.Join(dir, "journal"))
			if err != nil {
				t.Fatal(err)
			}
			awaitSnapshotAt(t, dir, last)
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			got := scaleRecords(t, dir)
			if len(got) != before+1 || got[len(got)-1] != (matcher.SymbolScale{Symbol: uint32(len(cfg.Symbols)), Name: "AAPL2", Tick: "0.05", Lot: added.LotSize}) {
				t.Fatalf("symbol scale records %+v, want the first start's %d and AAPL2's alone", got, before)
			}
			n, err = node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "3")})
			if err != nil {
				t.Fatalf("restart from a checkpoint with AAPL2 listed: %v", err)
			}
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			// The whole journal, checkpoints of 8 symbols and of 9, replays
			// with the config of 9 to the same hashes and snapshots.
			verifyReplay(t, cfg, dir)
			n, err = node.Start(eight, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "4")})
			if err == nil {
				n.Stop()
				t.Fatal("a restart with AAPL2 removed from symbols[] after its orders were journaled started")
			}
			if !strings.Contains(err.Error(), "removed") {
				t.Errorf("refused without saying a symbol was removed: %v", err)
			}
		})
	}
}

// TestTickChangeRefusedOnAJournalCaughtUpFromASnapshot: a standby
// caught up from its primary's snapshot (replica.InstallSnapshot) has a
// journal that begins after the primary's symbol scale records: it never
// meets them (verifySymbolScale runs at records shipped after the
// snapshot), and its start finds none (symbolScalesToJournal), so it
// journals its own config's. Here the primary ran AAPL with tick 0.01
// and BROKER01's AAPL buy rests at 100 ticks (1.00); the node started on
// the caught-up journal has AAPL tick 0.05. It must be refused, naming
// AAPL's tickSize, as a start on the primary's own journal is; today it
// starts, journals tick 0.05, and the resting buy now bids 5.00. (The
// same journal started with the primary's tick, first, starts: the
// control.)
func TestTickChangeRefusedOnAJournalCaughtUpFromASnapshot(t *testing.T) {
	seed := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = seed
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	runToCheckpoint(t, cfg, 1 /* AAPL */, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "primary")})

	same := cfg
	same.DataDir = t.TempDir()
	installSnapshotOf(t, seed, same.DataDir)
	n, err := node.Start(same, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "same")})
	if err != nil {
		t.Fatalf("control: the caught-up journal with the primary's config: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	other := cfg
	other.DataDir = t.TempDir()
	other.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
	other.Symbols[0].TickSize = "0.05"
	installSnapshotOf(t, seed, other.DataDir)
	n, err = node.Start(other, node.Options{Publisher: &sink{}, Log: logtest.Named(t, "other")})
	if err == nil {
		n.Stop()
		t.Fatalf("a node on a journal caught up from a snapshot of a venue with AAPL tick 0.01 started with AAPL tick 0.05: "+
			"symbol scale records after the snapshot now %+v (its resting AAPL buys bid five times higher)", scalesFromFirst(t, other.DataDir))
	}
	if !strings.Contains(err.Error(), "AAPL") || !strings.Contains(err.Error(), "tickSize") {
		t.Errorf("refused without naming AAPL's tickSize: %v", err)
	}
	// `ringex verify --from-snapshot` of that journal with AAPL tick 0.05
	// finds it too.
	v, err := audit.VenueOf(other)
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Verify(audit.VerifyOptions{Dir: filepath.Join(other.DataDir, "journal"), Venue: v, FromSnapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(fmt.Sprint(r.Problems), "tickSize") {
		t.Errorf("verify from the snapshot with AAPL tick 0.05: %d problems %v, want one naming tickSize", r.ProblemCount, r.Problems)
	}
}

// scalesFromFirst are the symbol scale records of the journal under dir,
// read from its first record (a caught-up journal begins after seq 1).
func scalesFromFirst(t *testing.T, dir string) []matcher.SymbolScale {
	t.Helper()
	jdir := filepath.Join(dir, "journal")
	first, err := journal.FirstSeq(jdir)
	if err != nil {
		t.Fatal(err)
	}
	var out []matcher.SymbolScale
	var cmd matcher.Command
	err = journal.Read(jdir, first, func(seq int64, rec []byte) error {
		if err := cmd.DecodeAt(rec, seq); err != nil {
			return err
		}
		if s, ok := matcher.SymbolScaleOf(&cmd); ok {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
