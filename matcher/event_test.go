package matcher

import "testing"

// TestEventsCarryTheOrdersFirmAccount: every event of an order placed for
// a firm's named account carries it (Event.Owner): its acceptance, both
// sides' fills, a replace's refusal and a cancel; a refusal built from the
// command carries the account the command names; an order of the
// session's own account carries 0, as every event did before firms.
func TestEventsCarryTheOrdersFirmAccount(t *testing.T) {
	const accA = FirstNamedAccount
	e := New(Config{Symbols: []SymbolSpec{{ID: 1}}})
	var evs []Event
	apply := func(c Command) []Event {
		evs = e.Apply(&c, evs[:0])
		return evs
	}
	wantOwners := func(what string, evs []Event, want ...uint16) {
		t.Helper()
		if len(evs) != len(want) {
			t.Fatalf("%s: %d events, want %d:%s", what, len(evs), len(want), describeAll(evs))
		}
		for i, ev := range evs {
			if ev.Owner != want[i] {
				t.Errorf("%s: event %d (%v, order %d) has Owner %d, want %d", what, i, ev.Type, ev.OrderID, ev.Owner, want[i])
			}
		}
	}
	wantOwners("sell for ACC-A rests", apply(Command{Seq: 1, Kind: KindNew, Account: 1, Owner: accA, Symbol: 1, Side: Sell, Type: Limit, TIF: GTC, Qty: 5, Price: 100, ClOrdID: id("S1")}), accA)
	wantOwners("session 2's own buy takes 2", apply(Command{Seq: 2, Kind: KindNew, Account: 2, Symbol: 1, Side: Buy, Type: Limit, TIF: GTC, Qty: 2, Price: 100, ClOrdID: id("B1")}), 0, 0, accA)
	wantOwners("replace without the order's account", apply(Command{Seq: 3, Kind: KindReplace, Account: 1, Symbol: 1, Side: Sell, Qty: 4, Price: 100, ClOrdID: id("S2"), OrigClOrdID: id("S1")}), accA)
	if evs[0].Type != EvCancelRejected || evs[0].Reason != ReasonUnknownOrder {
		t.Fatalf("replace without the order's account:%s", describeAll(evs))
	}
	wantOwners("new for ACC-A at a bad price", apply(Command{Seq: 4, Kind: KindNew, Account: 1, Owner: accA, Symbol: 1, Side: Sell, Type: Limit, TIF: GTC, Qty: 1, Price: 0, ClOrdID: id("S3")}), accA)
	wantOwners("cancel for ACC-A", apply(Command{Seq: 5, Kind: KindCancel, Account: 1, Owner: accA, Symbol: 1, ClOrdID: id("C1"), OrigClOrdID: id("S1")}), accA)
	wantOwners("status of session 2's own buy", apply(Command{Seq: 6, Kind: KindStatus, Account: 2, Symbol: 1, OrigClOrdID: id("B1")}), 0)
}
