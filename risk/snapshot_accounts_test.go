package risk

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// snapConfig is a spot venue of accounts accounts and one symbol.
func snapConfig(accounts int, unit string) Config {
	return Config{Mode: ModeSpot, Accounts: accounts, Symbols: []Symbol{{CashPerTickLot: 1}}, CashUnit: unit}
}

// snapState is a state of snapConfig with account 2 funded and a buy of
// it working.
func snapState(t *testing.T, accounts int) *State {
	t.Helper()
	s, err := New(snapConfig(accounts, "0.01"))
	if err != nil {
		t.Fatal(err)
	}
	engines := testEngines(t, 1, matcher.STPNone)
	dep, _ := matcher.Funds{Account: 2, Amount: 1000}.Command()
	id, _ := matcher.MakeClOrdID("b1")
	buy := matcher.Command{Kind: matcher.KindNew, Account: 2, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 2, Price: 100, ClOrdID: id}
	for i, c := range []matcher.Command{dep, buy} {
		c.Seq = int64(i + 1)
		if _, h := s.Step(&c, engines, nil); h.Reason != matcher.ReasonNone {
			t.Fatalf("command %d refused: %v", i+1, h.Reason)
		}
	}
	return s
}

// A table grown by accounts that hold nothing (a firm's new account) has
// the same snapshot and hash, and each table restores the other's.
func TestSnapshotOfAGrownTableIsTheSame(t *testing.T) {
	small, large := snapState(t, 3), snapState(t, 5)
	if small.Hash() != large.Hash() || string(small.Snapshot(nil)) != string(large.Snapshot(nil)) {
		t.Fatalf("hash with 3 accounts %016x, with 5 (two empty) %016x; want one", small.Hash(), large.Hash())
	}
	for _, n := range []int{3, 5} {
		r, _ := New(snapConfig(n, "0.01"))
		if err := r.Restore(small.Snapshot(nil)); err != nil {
			t.Fatalf("restore into %d accounts: %v", n, err)
		}
		if r.Hash() != small.Hash() {
			t.Fatalf("restored into %d accounts: hash %016x, want %016x", n, r.Hash(), small.Hash())
		}
		if b, _ := r.Balance(2); b.Cash != 1000 || b.CashHeld != 200 || b.OpenOrders != 1 {
			t.Fatalf("restored into %d accounts: account 2 = %+v", n, b)
		}
	}
}

// A version 1 snapshot (the table's size, every cell, no cash unit)
// restores into a grown table, and its hash, LegacyHash, is the one the
// checkpoint recorded, before and after the restore.
func TestSnapshotVersion1Restores(t *testing.T) {
	old := snapState(t, 3)
	v1 := old.LegacySnapshot(nil)
	if v1[0] != snapVersionDense {
		t.Fatalf("legacy snapshot version %d", v1[0])
	}
	r, _ := New(snapConfig(5, "0.01"))
	if err := r.Restore(v1); err != nil {
		t.Fatal(err)
	}
	if r.LegacyHash() != old.LegacyHash() || r.Hash() != old.Hash() {
		t.Fatalf("after restoring a version 1 snapshot into 5 accounts: legacy %016x hash %016x, want %016x %016x",
			r.LegacyHash(), r.Hash(), old.LegacyHash(), old.Hash())
	}
}

// A snapshot taken with another cash unit is refused, naming it.
func TestSnapshotRefusesAnotherCashUnit(t *testing.T) {
	r, _ := New(snapConfig(3, "0.001"))
	err := r.Restore(snapState(t, 3).Snapshot(nil))
	if err == nil || !strings.Contains(err.Error(), "risk.cashUnit") {
		t.Fatalf("restore of a 0.01 snapshot with cash unit 0.001: %v; want a refusal naming risk.cashUnit", err)
	}
}

// The version 1 hash of a grown table, at the table size it had, is the
// one a checkpoint recorded before it grew; at a size too small for the
// state it is the config's.
func TestLegacyHashAtTheOldTable(t *testing.T) {
	old, grown := snapState(t, 3), snapState(t, 5)
	if grown.LegacyHashAt(3) != old.LegacyHash() {
		t.Fatalf("legacy hash of 5 accounts at a table of 3: %016x, want %016x", grown.LegacyHashAt(3), old.LegacyHash())
	}
	if grown.LegacyHash() == old.LegacyHash() {
		t.Fatal("the legacy hash of a table of 5 is that of a table of 3")
	}
	if grown.LegacyHashAt(1) != grown.LegacyHash() {
		t.Fatal("a table of 1 cannot hold account 2: want the config's table")
	}
}

// A snapshot restores into a config with a symbol appended (empty), to the
// same hash; the state then snapshots as before until the new symbol's
// scale record, which counts it; a snapshot that counts it is refused by
// the config without it (a symbol removed).
func TestSnapshotOfFewerSymbolsRestores(t *testing.T) {
	small := snapState(t, 3)
	grown := snapConfig(3, "0.01")
	grown.Symbols = append(grown.Symbols, Symbol{CashPerTickLot: 1})
	r, err := New(grown)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(small.Snapshot(nil)); err != nil {
		t.Fatalf("restore of 1 symbol into 2: %v", err)
	}
	if r.Hash() != small.Hash() {
		t.Fatalf("restored into 2 symbols: hash %016x, want %016x", r.Hash(), small.Hash())
	}
	if b, _ := r.Balance(2); b.Cash != 1000 || b.CashHeld != 200 || b.OpenOrders != 1 {
		t.Fatalf("restored into 2 symbols: account 2 = %+v", b)
	}
	c, err := matcher.SymbolScale{Symbol: 2, Name: "NEW", Tick: "0.01", Lot: 1}.Command()
	if err != nil {
		t.Fatal(err)
	}
	c.Seq = 3
	r.Step(&c, testEngines(t, 1, matcher.STPNone), nil)
	if r.Hash() == small.Hash() {
		t.Fatal("the new symbol's scale record did not count it in the snapshot")
	}
	again, _ := New(grown)
	if err := again.Restore(r.Snapshot(nil)); err != nil || again.Hash() != r.Hash() {
		t.Fatalf("restore of 2 symbols into 2: %v, hash %016x, want %016x", err, again.Hash(), r.Hash())
	}
	one, _ := New(snapConfig(3, "0.01"))
	if err := one.Restore(r.Snapshot(nil)); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("restore of 2 symbols into 1: %v, want a refusal saying a symbol was removed", err)
	}
}
