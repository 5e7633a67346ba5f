package matcher

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// throughBytes is c encoded and decoded again, as the journal stores it.
func throughBytes(t *testing.T, c Command) Command {
	t.Helper()
	var b [CommandSize]byte
	c.Encode(b[:])
	var d Command
	if err := d.Decode(b[:]); err != nil {
		t.Fatal(err)
	}
	return d
}

// A symbol scale record reads back as written, and only a fit one is
// written: a tick written two ways ("0.010") or not positive, a lot not
// positive, a symbol out of range are refused, and a record with a stray
// field is not read as one.
func TestSymbolScaleRecord(t *testing.T) {
	for _, s := range []SymbolScale{{1, "", "0.01", 1}, {MaxSymbolID, "AAPL", "5", 100}, {7, "ABCDEFGHIJKLMNOPQRSTUVWX", "12.5", 3}, {2, "X", "0.000000000000001", 1}} {
		c, err := s.Command()
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		d := throughBytes(t, c)
		if got, ok := SymbolScaleOf(&d); !ok || got != s {
			t.Fatalf("%+v read back as %+v, %v", s, got, ok)
		}
		if Route(&d, 4) != PartitionOf(s.Symbol, 4) {
			t.Fatalf("%+v not routed to its symbol's partition", s)
		}
		d.Price = 1
		if _, ok := SymbolScaleOf(&d); ok {
			t.Fatalf("%+v with a price read as a symbol scale record", s)
		}
	}
	for _, s := range []SymbolScale{{1, "A", "0.010", 1}, {1, "A", "00.01", 1}, {1, "A", "0", 1}, {1, "A", "", 1}, {1, "A", ".5", 1}, {1, "A", "1.", 1},
		{1, "A", "-1", 1}, {1, "A", "1e3", 1}, {1, "A", "0.01", 0}, {0, "A", "0.01", 1}, {MaxSymbolID + 1, "A", "0.01", 1},
		{1, "ABCDEFGHIJKLMNOPQRSTUVWXY", "0.01", 1}, {1, "A\x00B", "0.01", 1}} {
		if _, err := s.Command(); err == nil {
			t.Errorf("%+v written", s)
		}
	}
}

// An engine keeps the symbol scale record in force of each symbol it
// lists, says nothing for one, and carries them in its snapshot (version
// 9) through Restore; an engine that applied none writes the version it
// wrote before the records existed.
func TestSymbolScaleInSnapshot(t *testing.T) {
	cfg := testConfig()
	e := New(cfg)
	before := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(before[4:]); v >= snapVersionScales {
		t.Fatalf("an engine without scales writes version %d", v)
	}
	want := SymbolScale{Symbol: cfg.Symbols[0].ID, Name: "AAPL", Tick: "0.01", Lot: 1}
	c, err := want.Command()
	if err != nil {
		t.Fatal(err)
	}
	if ev := e.Apply(&c, nil); len(ev) != 0 {
		t.Fatalf("a symbol scale record caused %+v", ev)
	}
	unlisted := SymbolScale{Symbol: MaxSymbolID, Name: "NONE", Tick: "1", Lot: 1}
	if c, err = unlisted.Command(); err != nil {
		t.Fatal(err)
	}
	e.Apply(&c, nil)
	if _, ok := e.Scale(MaxSymbolID); ok {
		t.Fatal("an unlisted symbol's scale kept")
	}
	snap := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(snap[4:]); v != snapVersionScales {
		t.Fatalf("an engine with a scale writes version %d", v)
	}
	r := New(cfg)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Scale(want.Symbol); !ok || got != want {
		t.Fatalf("restored scale %+v %v, want %+v", got, ok, want)
	}
	if again := r.Snapshot(nil); string(again) != string(snap) {
		t.Fatal("the restored engine's snapshot differs")
	}
	if _, ok := r.Scale(cfg.Symbols[1].ID); ok {
		t.Fatal("a scale for a symbol no record named")
	}
}

// A snapshot restores into a Config with a symbol appended, to the same
// bytes (the new book empty), and counts the new symbol from its scale
// record on; a snapshot that counts it is refused by the Config without
// it (a symbol removed). A version 9 snapshot also carries self-trade
// prevention settings a record set (its stp flag 1).
func TestSymbolScaleSnapshotOfFewerSymbols(t *testing.T) {
	small := Config{Symbols: []SymbolSpec{{ID: 1}, {ID: 2}}}
	grown := Config{Symbols: []SymbolSpec{{ID: 1}, {ID: 2}, {ID: 3}}}
	e := New(small)
	seq := int64(0)
	apply := func(c Command) {
		seq++
		c.Seq = seq
		e.Apply(&c, nil)
	}
	for sym := uint32(1); sym <= 2; sym++ {
		c, err := SymbolScale{Symbol: sym, Name: fmt.Sprint("S", sym), Tick: "0.01", Lot: 1}.Command()
		if err != nil {
			t.Fatal(err)
		}
		apply(c)
	}
	apply(onSymbol(limit(1, "B1", Buy, 5, 100), 2))
	apply(stpCmd(t, 0, STPRecord{Form: STPFormVenue, Mode: STPCancelResting}))
	snap := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(snap[4:]); v != snapVersionScales {
		t.Fatalf("version %d, want %d", v, snapVersionScales)
	}
	g := New(grown)
	if err := g.Restore(snap); err != nil {
		t.Fatalf("restore of 2 symbols into 3: %v", err)
	}
	if string(g.Snapshot(nil)) != string(snap) {
		t.Fatal("restored into 3 symbols, the snapshot differs")
	}
	if s := g.STPSettings(); !s.Journaled || s.Venue != STPCancelResting {
		t.Fatalf("restored stp settings %+v", s)
	}
	c, _ := SymbolScale{Symbol: 3, Name: "S3", Tick: "0.05", Lot: 1}.Command()
	c.Seq = seq + 1
	g.Apply(&c, nil)
	grew := g.Snapshot(nil)
	if string(grew) == string(snap) {
		t.Fatal("the new symbol's scale record did not count it")
	}
	if err := New(grown).Restore(grew); err != nil {
		t.Fatalf("restore of 3 symbols into 3: %v", err)
	}
	if err := New(small).Restore(grew); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("restore of 3 symbols into 2: %v, want a refusal saying a symbol was removed", err)
	}
}
