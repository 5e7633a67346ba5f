package matcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Test vocabulary: brokers A (account 1) and B (account 2) trade symbol 1
// (and 2). Commands get Seq 1, 2, 3... in the order of a case, so order o3
// is the one created by the third command.

const (
	brokerA = 1
	brokerB = 2
)

func id(s string) ClOrdID {
	c, ok := MakeClOrdID(s)
	if !ok {
		panic("bad test ClOrdID " + s)
	}
	return c
}

func limit(acct uint32, cl string, sd Side, qty, px int64) Command {
	return Command{Kind: KindNew, Symbol: 1, Account: acct, Side: sd, Type: Limit, TIF: Day, Qty: qty, Price: px, ClOrdID: id(cl)}
}

func withTIF(c Command, tif TIF) Command { c.TIF = tif; return c }

func market(acct uint32, cl string, sd Side, qty int64) Command {
	return Command{Kind: KindNew, Symbol: 1, Account: acct, Side: sd, Type: Market, TIF: Day, Qty: qty, ClOrdID: id(cl)}
}

func cancel(acct uint32, cl, orig string) Command {
	return Command{Kind: KindCancel, Symbol: 1, Account: acct, ClOrdID: id(cl), OrigClOrdID: id(orig)}
}

func cancelID(acct uint32, cl string, orderID int64) Command {
	return Command{Kind: KindCancel, Symbol: 1, Account: acct, ClOrdID: id(cl), OrderID: orderID}
}

func replace(acct uint32, cl, orig string, qty, px int64) Command {
	return Command{Kind: KindReplace, Symbol: 1, Account: acct, ClOrdID: id(cl), OrigClOrdID: id(orig), Qty: qty, Price: px}
}

func massCancel(acct uint32, sym uint32) Command {
	return Command{Kind: KindMassCancel, Symbol: sym, Account: acct, ClOrdID: id("MASS")}
}

func onSymbol(c Command, sym uint32) Command { c.Symbol = sym; return c }

// describe renders an event the way a broker reads an execution report.
func describe(ev *Event) string {
	switch ev.Type {
	case EvAccepted:
		return fmt.Sprintf("accepted o%d %s %d@%d", ev.OrderID, ev.ClOrdID, ev.OrderQty, ev.Price)
	case EvFill:
		return fmt.Sprintf("fill o%d %s %d@%d cum=%d leaves=%d", ev.OrderID, ev.ClOrdID, ev.LastQty, ev.LastPx, ev.CumQty, ev.LeavesQty)
	case EvCancelled, EvExpired:
		return fmt.Sprintf("%s o%d %s %s cum=%d", ev.Type, ev.OrderID, ev.ClOrdID, ev.Reason, ev.CumQty)
	case EvReplaced:
		return fmt.Sprintf("replaced o%d %s<-%s %d@%d leaves=%d", ev.OrderID, ev.ClOrdID, ev.OrigClOrdID, ev.OrderQty, ev.Price, ev.LeavesQty)
	default:
		return fmt.Sprintf("%s %s %s", ev.Type, ev.ClOrdID, ev.Reason)
	}
}

func testConfig() Config {
	return Config{Symbols: []SymbolSpec{{ID: 1}, {ID: 2}, {ID: 3, MinQty: 10, MaxQty: 1000, BandTicks: 50, RefPrice: 1000}}}
}

// run applies cmds in order and returns the events of the last one.
func run(t *testing.T, e *Engine, cmds []Command) []string {
	t.Helper()
	var evs []Event
	for i := range cmds {
		c := cmds[i]
		c.Seq = int64(i + 1)
		c.TimeNs = 1_000 * c.Seq
		evs = e.Apply(&c, evs[:0])
		checkEvents(t, &c, evs)
		checkInvariants(t, e)
	}
	var got []string
	for i := range evs {
		got = append(got, describe(&evs[i]))
	}
	return got
}

// checkEvents checks what every event of a command must satisfy.
func checkEvents(t *testing.T, c *Command, evs []Event) {
	t.Helper()
	if len(evs) == 0 && c.Kind != KindMassCancel {
		t.Fatalf("command %d (kind %d) caused no event", c.Seq, c.Kind)
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Seq != c.Seq || ev.TimeNs != c.TimeNs || ev.ExecID != c.Seq*ExecIDStride+int64(i) || ev.Kind != c.Kind {
			t.Fatalf("event %d of command %d: ids %d/%d/%d kind %d", i, c.Seq, ev.Seq, ev.TimeNs, ev.ExecID, ev.Kind)
		}
		if ev.CumQty < 0 || ev.LeavesQty < 0 || ev.CumQty+ev.LeavesQty > ev.OrderQty && ev.Type != EvCancelled && ev.Type != EvExpired {
			t.Fatalf("event %d of command %d: cum %d leaves %d qty %d", i, c.Seq, ev.CumQty, ev.LeavesQty, ev.OrderQty)
		}
	}
}

// checkInvariants checks the books' internal consistency.
func checkInvariants(t *testing.T, e *Engine) {
	t.Helper()
	if err := e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func (e *Engine) checkInvariants() error {
	resting := 0
	for bi := range e.books {
		b := &e.books[bi]
		for _, sd := range []Side{Buy, Sell} {
			s := b.sideOf(sd)
			if !slices.IsSorted(s.keys) || len(s.keys) != len(s.lvls) {
				return fmt.Errorf("symbol %d side %d: keys not sorted", b.spec.ID, sd)
			}
			for i, li := range s.lvls {
				lv := &e.levels[li]
				if sideKey(sd, lv.price) != s.keys[i] || lv.head == 0 {
					return fmt.Errorf("symbol %d: level %d bad", b.spec.ID, lv.price)
				}
				qty, n := int64(0), int32(0)
				for oi := lv.head; oi != 0; oi = e.orders[oi].next {
					o := &e.orders[oi]
					if o.level != li || o.price != lv.price || o.side != sd || o.leaves <= 0 || o.cum+o.leaves != o.qty {
						return fmt.Errorf("symbol %d: order %d inconsistent with its level", b.spec.ID, o.id)
					}
					qty += o.leaves
					n++
				}
				if qty != lv.qty || n != lv.count {
					return fmt.Errorf("symbol %d level %d: qty %d count %d, orders sum %d/%d", b.spec.ID, lv.price, lv.qty, lv.count, qty, n)
				}
				resting += int(n)
			}
		}
		if bb, ba := len(b.bids.keys), len(b.asks.keys); bb > 0 && ba > 0 && b.bids.keys[bb-1] >= -b.asks.keys[ba-1] {
			return fmt.Errorf("symbol %d: crossed book", b.spec.ID)
		}
	}
	if resting != e.live {
		return fmt.Errorf("%d orders rest, pool holds %d", resting, e.live)
	}
	return nil
}

func TestLimitOrdersDay(t *testing.T) {
	cases := []struct {
		name string
		cmds []Command
		want []string
	}{
		{"buy_rests_on_empty_book", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
		}, []string{"accepted o1 B1 10@100"}},
		{"sell_below_bid_fills_at_bid_price", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 10, 99),
		}, []string{"accepted o2 S1 10@99", "fill o2 S1 10@100 cum=10 leaves=0", "fill o1 B1 10@100 cum=10 leaves=0"}},
		{"buy_partially_fills_then_rests", []Command{
			limit(brokerB, "S1", Sell, 4, 101),
			limit(brokerA, "B1", Buy, 10, 101),
		}, []string{"accepted o2 B1 10@101", "fill o2 B1 4@101 cum=4 leaves=6", "fill o1 S1 4@101 cum=4 leaves=0"}},
		{"buy_crosses_two_levels_partial", []Command{
			limit(brokerB, "S1", Sell, 5, 101),
			limit(brokerB, "S2", Sell, 5, 102),
			limit(brokerB, "S3", Sell, 5, 103),
			limit(brokerA, "B1", Buy, 8, 102),
		}, []string{"accepted o4 B1 8@102",
			"fill o4 B1 5@101 cum=5 leaves=3", "fill o1 S1 5@101 cum=5 leaves=0",
			"fill o4 B1 3@102 cum=8 leaves=0", "fill o2 S2 3@102 cum=3 leaves=2"}},
		{"earlier_order_at_same_price_fills_first", []Command{
			limit(brokerB, "S1", Sell, 5, 101),
			limit(brokerB, "S2", Sell, 5, 101),
			limit(brokerA, "B1", Buy, 7, 101),
		}, []string{"accepted o3 B1 7@101",
			"fill o3 B1 5@101 cum=5 leaves=2", "fill o1 S1 5@101 cum=5 leaves=0",
			"fill o3 B1 2@101 cum=7 leaves=0", "fill o2 S2 2@101 cum=2 leaves=3"}},
		{"better_price_fills_before_earlier_order", []Command{
			limit(brokerA, "B1", Buy, 5, 99),
			limit(brokerA, "B2", Buy, 5, 100),
			limit(brokerB, "S1", Sell, 5, 99),
		}, []string{"accepted o3 S1 5@99", "fill o3 S1 5@100 cum=5 leaves=0", "fill o2 B2 5@100 cum=5 leaves=0"}},
		{"sweep_walks_levels_until_limit_then_rests", []Command{
			limit(brokerA, "B1", Buy, 1, 100),
			limit(brokerA, "B2", Buy, 1, 99),
			limit(brokerA, "B3", Buy, 1, 97),
			limit(brokerB, "S1", Sell, 5, 98),
		}, []string{"accepted o4 S1 5@98",
			"fill o4 S1 1@100 cum=1 leaves=4", "fill o1 B1 1@100 cum=1 leaves=0",
			"fill o4 S1 1@99 cum=2 leaves=3", "fill o2 B2 1@99 cum=1 leaves=0"}},
		{"no_cross_when_prices_do_not_meet", []Command{
			limit(brokerA, "B1", Buy, 5, 100),
			limit(brokerB, "S1", Sell, 5, 101),
		}, []string{"accepted o2 S1 5@101"}},
		{"cancel_resting_order", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancel(brokerA, "C1", "B1"),
		}, []string{"cancelled o1 C1 user_cancel cum=0"}},
		{"cancel_by_order_id", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancelID(brokerA, "C1", 1),
		}, []string{"cancelled o1 C1 user_cancel cum=0"}},
		{"cancel_partially_filled_order_keeps_cum", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 4, 100),
			cancel(brokerA, "C1", "B1"),
		}, []string{"cancelled o1 C1 user_cancel cum=4"}},
		{"cancel_after_fill_rejected", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 10, 100),
			cancel(brokerA, "C1", "B1"),
		}, []string{"cancel_rejected C1 too_late"}},
		{"cancel_twice_rejected_too_late", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancel(brokerA, "C1", "B1"),
			cancel(brokerA, "C2", "B1"),
		}, []string{"cancel_rejected C2 too_late"}},
		{"cancel_unknown_order_rejected", []Command{
			cancel(brokerA, "C1", "NOPE"),
		}, []string{"cancel_rejected C1 unknown_order"}},
		{"cancel_other_brokers_order_is_unknown", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancel(brokerB, "C1", "B1"),
		}, []string{"cancel_rejected C1 unknown_order"}},
		{"cancel_other_brokers_order_id_is_unknown", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancelID(brokerB, "C1", 1),
		}, []string{"cancel_rejected C1 unknown_order"}},
		{"cancel_filled_order_id_too_late", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 10, 100),
			cancelID(brokerA, "C1", 1),
		}, []string{"cancel_rejected C1 too_late"}},
		{"cancel_in_wrong_symbol_is_unknown", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			onSymbol(cancel(brokerA, "C1", "B1"), 2),
		}, []string{"cancel_rejected C1 unknown_order"}},
		{"cancelled_order_does_not_trade", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			cancel(brokerA, "C1", "B1"),
			limit(brokerB, "S1", Sell, 10, 100),
		}, []string{"accepted o3 S1 10@100"}},
		{"symbols_do_not_cross", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			onSymbol(limit(brokerB, "S1", Sell, 10, 100), 2),
		}, []string{"accepted o2 S1 10@100"}},
		{"unknown_symbol_rejected", []Command{
			onSymbol(limit(brokerA, "B1", Buy, 10, 100), 9),
		}, []string{"rejected B1 unknown_symbol"}},
		{"zero_qty_rejected", []Command{
			limit(brokerA, "B1", Buy, 0, 100),
		}, []string{"rejected B1 invalid_qty"}},
		{"negative_price_rejected", []Command{
			limit(brokerA, "B1", Buy, 10, -1),
		}, []string{"rejected B1 invalid_price"}},
		{"bad_side_rejected", []Command{
			limit(brokerA, "B1", 7, 10, 100),
		}, []string{"rejected B1 invalid_order"}},
		{"duplicate_clordid_rejected", []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerA, "B1", Buy, 10, 99),
		}, []string{"rejected B1 duplicate_clordid"}},
		{"same_clordid_other_broker_accepted", []Command{
			limit(brokerA, "X1", Buy, 10, 100),
			limit(brokerB, "X1", Buy, 10, 99),
		}, []string{"accepted o2 X1 10@99"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := New(testConfig())
			got := run(t, e, tc.cmds)
			if !slices.Equal(got, tc.want) {
				t.Errorf("events:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(tc.want, "\n       "))
			}
		})
	}
}

func TestRejectChangesNothing(t *testing.T) {
	e := New(testConfig())
	run(t, e, []Command{limit(brokerA, "B1", Buy, 10, 100), limit(brokerB, "S1", Sell, 5, 105)})
	before := e.Snapshot(nil)
	bad := []Command{
		onSymbol(limit(brokerA, "B2", Buy, 10, 100), 9),
		limit(brokerA, "B2", Buy, -5, 100),
		limit(brokerA, "B2", Buy, 5, 0),
		limit(brokerA, "B1", Sell, 5, 100),
		cancel(brokerB, "C1", "B1"),
		{Kind: 99, Symbol: 1, Account: brokerA},
	}
	for i := range bad {
		c := bad[i]
		c.Seq = int64(100 + i)
		e.Apply(&c, nil)
	}
	if after := e.Snapshot(nil); !slices.Equal(before, after) {
		t.Fatal("a rejected command changed the engine state")
	}
}
