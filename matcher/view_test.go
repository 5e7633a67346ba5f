package matcher

import (
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
