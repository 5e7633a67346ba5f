package matcher

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// TestRestingShowsBooksInPriority: Resting lists bids best first, then
// asks best first, oldest first within a price, with what each order has
// left after trading; another symbol's orders are not in it.
func TestRestingShowsBooksInPriority(t *testing.T) {
	e := New(Config{Symbols: []SymbolSpec{{ID: 1}, {ID: 2}}})
	seq := int64(0)
	send := func(sym uint32, side Side, px, qty int64) {
		seq++
		cl, _ := MakeClOrdID("c" + string(rune('a'+seq)))
		e.Apply(&Command{Seq: seq, Kind: KindNew, Symbol: sym, Account: 1, ClOrdID: cl, Side: side, Type: Limit, TIF: GTC, Price: px, Qty: qty}, nil)
	}
	send(1, Buy, 99, 5)   // 1
	send(1, Buy, 100, 3)  // 2
	send(1, Buy, 99, 7)   // 3
	send(1, Sell, 102, 4) // 4
	send(1, Sell, 101, 6) // 5
	send(2, Buy, 50, 1)   // 6: another symbol
	send(1, Sell, 100, 1) // 7: takes 1 of order 2
	want := []RestingOrder{
		{OrderID: 2, Symbol: 1, Side: Buy, Price: 100, Qty: 3, Leaves: 2, Account: 1, TIF: GTC},
		{OrderID: 1, Symbol: 1, Side: Buy, Price: 99, Qty: 5, Leaves: 5, Account: 1, TIF: GTC},
		{OrderID: 3, Symbol: 1, Side: Buy, Price: 99, Qty: 7, Leaves: 7, Account: 1, TIF: GTC},
		{OrderID: 5, Symbol: 1, Side: Sell, Price: 101, Qty: 6, Leaves: 6, Account: 1, TIF: GTC},
		{OrderID: 4, Symbol: 1, Side: Sell, Price: 102, Qty: 4, Leaves: 4, Account: 1, TIF: GTC},
	}
	if got := e.Resting(1, nil); !slices.Equal(got, want) {
		t.Fatalf("Resting(1):\n got %v\nwant %v", got, want)
	}
	if got := e.Resting(3, nil); len(got) != 0 {
		t.Fatalf("Resting of an unknown symbol: %v", got)
	}
}

// TestSnapshotBookShowsTheBookWithoutRestore: the book read straight from
// a snapshot's bytes (audit shows books without the config that wrote the
// journal) is what Resting shows, in the same order, with each order's
// ClOrdID, filled quantity and notional, in every snapshot version; a
// symbol with no book written has none, and a cut snapshot or an unknown
// version is an error.
func TestSnapshotBookShowsTheBookWithoutRestore(t *testing.T) {
	e := New(testConfig())
	seq := int64(0)
	apply := func(c Command) {
		seq++
		c.Seq = seq
		e.Apply(&c, nil)
	}
	apply(limit(brokerA, "B1", Buy, 10, 100))
	apply(limit(brokerB, "S1", Sell, 4, 100)) // takes 4 of B1
	apply(limit(brokerB, "S2", Sell, 4, 103))
	apply(limit(brokerA, "B2", Buy, 5, 100))
	apply(onSymbol(limit(brokerA, "X1", Buy, 20, 1000), 3)) // another symbol
	extra := map[int64]SnapshotOrder{
		1: {ClOrdID: id("B1"), Cum: 4, Notional: 400},
		3: {ClOrdID: id("S2")},
		4: {ClOrdID: id("B2")},
	}
	check := func(name string, snap []byte, version uint32) {
		t.Helper()
		if v := binary.LittleEndian.Uint32(snap[4:]); v != version {
			t.Fatalf("%s: snapshot version %d, want %d", name, v, version)
		}
		px, got, err := SnapshotBook(snap, 1, nil)
		if err != nil || px != 100 || len(got) != 3 {
			t.Fatalf("%s: last price %d, %d orders, %v; want 100, 3 orders", name, px, len(got), err)
		}
		for i, o := range got {
			want := extra[o.OrderID]
			want.RestingOrder = e.Resting(1, nil)[i]
			if o != want {
				t.Fatalf("%s: order %d:\n got %+v\nwant %+v", name, i, o, want)
			}
		}
		if px, got, err := SnapshotBook(snap, 2, nil); err != nil || px != 0 || len(got) != 0 {
			t.Fatalf("%s: symbol 2 (no book written): last price %d, orders %v, %v", name, px, got, err)
		}
	}
	v2 := e.Snapshot(nil)
	check("version 2", v2, 2)
	v1 := slices.Clone(v2)
	binary.LittleEndian.PutUint32(v1[4:], 1) // books laid out as in version 2
	check("version 1", v1, 1)
	apply(bindCmd(t, seq+1, brokerA, "BROKER_A"))
	check("version 3", e.Snapshot(nil), 3)
	c := onSymbol(limit(brokerB, "G1", Sell, 10, 1010), 3)
	c.STPGroup = 7
	apply(c)
	v4 := e.Snapshot(nil)
	check("version 4", v4, 4)

	unknown := slices.Clone(v2)
	binary.LittleEndian.PutUint32(unknown[4:], snapVersionScales+1)
	if _, _, err := SnapshotBook(unknown, 1, nil); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("version %d read: %v", snapVersionScales+1, err)
	}
	for _, cut := range []int{3, 30, 60, 120} {
		if _, _, err := SnapshotBook(v4[:cut], 1, nil); !errors.Is(err, ErrSnapshot) {
			t.Fatalf("snapshot cut at %d read: %v", cut, err)
		}
	}
}
