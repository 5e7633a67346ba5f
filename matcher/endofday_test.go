package matcher

import (
	"testing"
)

var endOfDay = Command{Kind: KindEndOfDay}

// TestEndOfDay: a trading day ends with every resting Day order expired,
// oldest first across symbols, GTC orders kept, and a new ClOrdID day.
func TestEndOfDay(t *testing.T) {
	cases := []struct {
		name string
		cmds []Command
		want []string // events of the last command
	}{
		{"day_orders_expire_oldest_first_gtc_stays", []Command{
			onSymbol(limit(brokerB, "S1", Sell, 10, 105), 2),
			withTIF(limit(brokerA, "G1", Buy, 10, 100), GTC),
			limit(brokerA, "B1", Buy, 10, 99),
			limit(brokerB, "S2", Sell, 10, 101),
			endOfDay,
		}, []string{"expired o1 S1 expired cum=0", "expired o3 B1 expired cum=0", "expired o4 S2 expired cum=0"}},
		{"partly_filled_day_order_expires_with_its_fills", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 4, 100),
			endOfDay,
		}, []string{"expired o1 B1 expired cum=4"}},
		{"empty_book_says_nothing", []Command{
			endOfDay,
		}, nil},
		{"expired_clordid_reused_next_day", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			endOfDay,
			limit(brokerA, "B1", Buy, 10, 100),
		}, []string{"accepted o3 B1 10@100"}},
		{"filled_clordid_reused_next_day", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 10, 100),
			endOfDay,
			limit(brokerA, "B1", Buy, 10, 100),
		}, []string{"accepted o4 B1 10@100"}},
		{"live_gtc_clordid_still_refused", []Command{
			withTIF(limit(brokerA, "G1", Buy, 10, 100), GTC),
			endOfDay,
			limit(brokerA, "G1", Buy, 10, 99),
		}, []string{"rejected G1 duplicate_clordid"}},
		{"same_day_reuse_still_refused", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancel(brokerA, "C1", "B1"),
			limit(brokerA, "B1", Buy, 10, 100),
		}, []string{"rejected B1 duplicate_clordid"}},
		{"gtc_order_trades_next_day", []Command{
			withTIF(limit(brokerA, "G1", Buy, 10, 100), GTC),
			endOfDay,
			limit(brokerB, "S1", Sell, 10, 100),
		}, []string{"accepted o3 S1 10@100", "fill o3 S1 10@100 cum=10 leaves=0", "fill o1 G1 10@100 cum=10 leaves=0"}},
		{"expired_order_unknown_next_day", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			endOfDay,
			cancel(brokerA, "C1", "B1"),
		}, []string{"cancel_rejected C1 unknown_order"}},
	}
	for _, tc := range cases {
		expectEvents(t, tc.name, nil, tc.cmds, tc.want)
	}
}

// TestEndOfDayEventsAndState: the expiries carry the order's final state
// and ExecIDs that another partition's expiries cannot share; the engine
// after an end of day equals one that never saw the expired orders' ids.
func TestEndOfDayEventsAndState(t *testing.T) {
	e := New(testConfig())
	cmds := []Command{
		limit(brokerA, "B1", Buy, 10, 100),
		withTIF(limit(brokerA, "G1", Buy, 5, 98), GTC),
		limit(brokerB, "S1", Sell, 3, 100),
		endOfDay,
	}
	var evs []Event
	for i := range cmds {
		cmds[i].Seq, cmds[i].TimeNs = int64(i+1), int64(1000*(i+1))
		evs = e.Apply(&cmds[i], evs[:0])
	}
	if len(evs) != 1 {
		t.Fatalf("end of day: %d events, want 1", len(evs))
	}
	want := Event{Seq: 4, TimeNs: 4000, OrderID: 1, ExecID: EndOfDayExecID(1), Price: 100, OrderQty: 10,
		CumQty: 3, LeavesQty: 0, CumNotional: 300, Symbol: 1, Account: brokerA, Type: EvExpired, Reason: ReasonExpired,
		Side: Buy, OrdType: Limit, TIF: Day, Kind: KindEndOfDay, ClOrdID: id("B1")}
	if evs[0] != want {
		t.Fatalf("expiry:\n got  %+v\n want %+v", evs[0], want)
	}
	if e.RestingOrders() != 1 {
		t.Fatalf("%d resting after the end of day, want the GTC order", e.RestingOrders())
	}
	if got := EndOfDayExecID(1); got == 1*ExecIDStride+2*MaxOrdersLimit+1 || got/ExecIDStride != 1 {
		t.Fatalf("EndOfDayExecID(1) = %d overlaps command 1's range or leaves it", got)
	}

	// The same state, built without the first day: only the GTC order and
	// the last trade price. The retired store is empty in both.
	f := New(testConfig())
	day2 := []Command{
		limit(brokerA, "X", Buy, 3, 100),
		withTIF(limit(brokerA, "G1", Buy, 5, 98), GTC),
		limit(brokerB, "Y", Sell, 3, 100),
		endOfDay,
	}
	for i := range day2 {
		day2[i].Seq = int64(i + 1)
		f.Apply(&day2[i], nil)
	}
	if e.Hash() != f.Hash() {
		t.Fatalf("state after the end of day depends on the forgotten day: %x != %x", e.Hash(), f.Hash())
	}
	snap := e.Snapshot(nil)
	g := New(testConfig())
	if err := g.Restore(snap); err != nil {
		t.Fatalf("restore after end of day: %v", err)
	}
	if g.Hash() != e.Hash() {
		t.Fatal("restored engine hashes differently")
	}
}

// TestEndOfDayForgetsAFullWindow: a day that filled every generation of
// the retired store ends, and the next day reuses all of its ids.
func TestEndOfDayForgetsAFullWindow(t *testing.T) {
	cfg := testConfig()
	cfg.ClOrdIDWindow = 60
	e := New(cfg)
	seq := int64(0)
	apply := func(c Command) []Event {
		seq++
		c.Seq = seq
		return e.Apply(&c, nil)
	}
	ids := func(day int) {
		for i := range 200 {
			cl := "D" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			evs := apply(limit(brokerA, cl, Buy, 1, 100))
			if evs[0].Type != EvAccepted {
				t.Fatalf("day %d order %s: %s", day, cl, describe(&evs[0]))
			}
			apply(limit(brokerB, "S"+cl, Sell, 1, 100)) // fills it: retired
			if i%3 == 0 {
				apply(limit(brokerA, "R"+cl, Buy, 1, 90)) // rests to the end of the day
			}
		}
	}
	ids(1)
	apply(endOfDay)
	ids(2)
	if err := e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}
