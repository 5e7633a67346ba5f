package matcher

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
// expectEvents runs cmds on a fresh engine (testConfig, adjusted by cfg when
// not nil) as subtest name and compares what run returns with want.
func expectEvents(t *testing.T, name string, cfg func(*Config), cmds []Command, want []string) {
	t.Run(name, func(t *testing.T) {
		c := testConfig()
		if cfg != nil {
			cfg(&c)
		}
		got := run(t, New(c), cmds)
		if !slices.Equal(got, want) {
			t.Errorf("events:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
		}
	})
}

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
	if len(evs) == 0 && c.Kind != KindMassCancel && c.Kind != KindEndOfDay {
		t.Fatalf("command %d (kind %d) caused no event", c.Seq, c.Kind)
	}
	for i := range evs {
		ev := &evs[i]
		execID := c.Seq*ExecIDStride + int64(i)
		if c.Kind == KindEndOfDay {
			execID = EndOfDayExecID(ev.OrderID)
		}
		if ev.Seq != c.Seq || ev.TimeNs != c.TimeNs || ev.ExecID != execID || ev.Kind != c.Kind {
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
			if err := s.checkIndex(); err != nil {
				return fmt.Errorf("symbol %d side %d: %v", b.spec.ID, sd, err)
			}
			nl, prevKey := 0, int64(math.MaxInt64)
			for key, li := s.best(); li != 0; key, li = s.below(key) {
				lv := &e.levels[li]
				if sideKey(sd, lv.price) != key || key >= prevKey || lv.head == 0 || s.find(key) != li {
					return fmt.Errorf("symbol %d: level %d bad", b.spec.ID, lv.price)
				}
				prevKey = key
				nl++
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
			if nl != s.levels() {
				return fmt.Errorf("symbol %d side %d: %d levels walked, %d counted", b.spec.ID, sd, nl, s.levels())
			}
		}
		if bid, bl := b.bids.best(); bl != 0 {
			if ask, al := b.asks.best(); al != 0 && bid >= -ask {
				return fmt.Errorf("symbol %d: crossed book", b.spec.ID)
			}
		}
	}
	if resting != e.live {
		return fmt.Errorf("%d orders rest, pool holds %d", resting, e.live)
	}
	return nil
}

// checkIndex checks a side's window against its bitmap and its far levels
// against the window.
func (s *side) checkIndex() error {
	if !slices.IsSorted(s.keys) || len(s.keys) != len(s.lvls) {
		return fmt.Errorf("far keys not sorted")
	}
	for i, k := range s.keys {
		if uint64(k-s.base) < winTicks || s.lvls[i] == 0 || (i > 0 && k == s.keys[i-1]) {
			return fmt.Errorf("far key %d inside the window at %d, or repeated", k, s.base)
		}
	}
	w := s.win
	if w == nil {
		if s.nwin != 0 || len(s.keys) != 0 {
			return fmt.Errorf("levels without a window")
		}
		return nil
	}
	if s.levels() == 0 {
		return fmt.Errorf("an empty side holds a window")
	}
	n := 0
	for i := range w.occ {
		if (w.occ[i] != 0) != (w.sum&(1<<i) != 0) {
			return fmt.Errorf("summary bit %d wrong", i)
		}
		for b := range 64 {
			if (w.occ[i]&(1<<b) != 0) != (w.lvls[i*64+b] != 0) {
				return fmt.Errorf("bitmap and window disagree at %d", i*64+b)
			}
		}
	}
	for _, li := range w.lvls {
		if li != 0 {
			n++
		}
	}
	if n != s.nwin {
		return fmt.Errorf("window holds %d levels, counted %d", n, s.nwin)
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
		expectEvents(t, tc.name, nil, tc.cmds, tc.want)
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

func stpConfig(mode STPMode) func(*Config) { return func(c *Config) { c.STP = mode } }

// withSTP gives new order c its own self-trade prevention mode.
func withSTP(c Command, mode STPMode) Command { c.STP = uint8(mode) + 1; return c }

func TestOrderTypesReplaceSTPAndRules(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*Config)
		cmds []Command
		want []string
	}{
		// Market orders never rest.
		{"market_buy_sweeps_levels", nil, []Command{
			limit(brokerB, "S1", Sell, 2, 101),
			limit(brokerB, "S2", Sell, 2, 105),
			market(brokerA, "M1", Buy, 3),
		}, []string{"accepted o3 M1 3@0",
			"fill o3 M1 2@101 cum=2 leaves=1", "fill o1 S1 2@101 cum=2 leaves=0",
			"fill o3 M1 1@105 cum=3 leaves=0", "fill o2 S2 1@105 cum=1 leaves=1"}},
		{"market_on_empty_book_expires_no_liquidity", nil, []Command{
			market(brokerA, "M1", Buy, 3),
		}, []string{"accepted o1 M1 3@0", "expired o1 M1 no_liquidity cum=0"}},
		{"market_remainder_expires", nil, []Command{
			limit(brokerB, "S1", Sell, 2, 101),
			market(brokerA, "M1", Buy, 5),
		}, []string{"accepted o2 M1 5@0", "fill o2 M1 2@101 cum=2 leaves=3", "fill o1 S1 2@101 cum=2 leaves=0",
			"expired o2 M1 market_remainder cum=2"}},
		{"market_stops_at_price_band", nil, []Command{
			onSymbol(limit(brokerB, "S1", Sell, 20, 1040), 3),
			onSymbol(limit(brokerB, "S2", Sell, 20, 1050), 3),
			onSymbol(limit(brokerB, "S3", Sell, 20, 1040), 3), // 1040 is inside the band around 1000, 1060 is not
			onSymbol(market(brokerA, "M1", Buy, 100), 3),
		}, []string{"accepted o4 M1 100@0",
			"fill o4 M1 20@1040 cum=20 leaves=80", "fill o1 S1 20@1040 cum=20 leaves=0",
			"fill o4 M1 20@1040 cum=40 leaves=60", "fill o3 S3 20@1040 cum=20 leaves=0",
			"fill o4 M1 20@1050 cum=60 leaves=40", "fill o2 S2 20@1050 cum=20 leaves=0",
			"expired o4 M1 market_remainder cum=60"}},
		// IOC and FOK.
		{"ioc_fills_what_it_can_rest_expires", nil, []Command{
			limit(brokerB, "S1", Sell, 2, 100),
			withTIF(limit(brokerA, "I1", Buy, 5, 100), IOC),
		}, []string{"accepted o2 I1 5@100", "fill o2 I1 2@100 cum=2 leaves=3", "fill o1 S1 2@100 cum=2 leaves=0",
			"expired o2 I1 ioc_remainder cum=2"}},
		{"ioc_without_cross_expires_untouched", nil, []Command{
			limit(brokerB, "S1", Sell, 2, 101),
			withTIF(limit(brokerA, "I1", Buy, 5, 100), IOC),
		}, []string{"accepted o2 I1 5@100", "expired o2 I1 ioc_remainder cum=0"}},
		{"fok_fills_completely_across_levels", nil, []Command{
			limit(brokerB, "S1", Sell, 2, 100),
			limit(brokerB, "S2", Sell, 3, 101),
			withTIF(limit(brokerA, "F1", Buy, 5, 101), FOK),
		}, []string{"accepted o3 F1 5@101",
			"fill o3 F1 2@100 cum=2 leaves=3", "fill o1 S1 2@100 cum=2 leaves=0",
			"fill o3 F1 3@101 cum=5 leaves=0", "fill o2 S2 3@101 cum=3 leaves=0"}},
		{"fok_short_by_one_leaves_no_trace", nil, []Command{
			limit(brokerB, "S1", Sell, 2, 100),
			limit(brokerB, "S2", Sell, 2, 101),
			withTIF(limit(brokerA, "F1", Buy, 5, 101), FOK),
			limit(brokerA, "B1", Buy, 4, 101), // S1 and S2 are still there, untouched
		}, []string{"accepted o4 B1 4@101",
			"fill o4 B1 2@100 cum=2 leaves=2", "fill o1 S1 2@100 cum=2 leaves=0",
			"fill o4 B1 2@101 cum=4 leaves=0", "fill o2 S2 2@101 cum=2 leaves=0"}},
		{"fok_beyond_its_limit_expires", nil, []Command{
			limit(brokerB, "S1", Sell, 5, 102),
			withTIF(limit(brokerA, "F1", Buy, 5, 101), FOK),
		}, []string{"accepted o2 F1 5@101", "expired o2 F1 fok_unfilled cum=0"}},
		{"gtc_rests_like_day", nil, []Command{
			withTIF(limit(brokerA, "G1", Buy, 5, 100), GTC),
		}, []string{"accepted o1 G1 5@100"}},
		// Cancel/replace.
		{"replace_qty_down_keeps_priority", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "B2", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 6, 100),
			limit(brokerB, "S1", Sell, 6, 100),
		}, []string{"accepted o4 S1 6@100", "fill o4 S1 6@100 cum=6 leaves=0", "fill o1 B1a 6@100 cum=6 leaves=0"}},
		{"replace_qty_up_loses_priority", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "B2", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 12, 100),
			limit(brokerB, "S1", Sell, 6, 100),
		}, []string{"accepted o4 S1 6@100", "fill o4 S1 6@100 cum=6 leaves=0", "fill o2 B2 6@100 cum=6 leaves=4"}},
		{"replace_price_change_loses_priority", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "B2", Buy, 10, 101),
			replace(brokerA, "B1a", "B1", 10, 101),
			limit(brokerB, "S1", Sell, 6, 101),
		}, []string{"accepted o4 S1 6@101", "fill o4 S1 6@101 cum=6 leaves=0", "fill o2 B2 6@101 cum=6 leaves=4"}},
		{"replace_reports_new_clordid", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 8, 99),
		}, []string{"replaced o1 B1a<-B1 8@99 leaves=8"}},
		{"replace_chain_uses_latest_clordid", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 8, 99),
			replace(brokerA, "B1b", "B1a", 7, 99),
		}, []string{"replaced o1 B1b<-B1a 7@99 leaves=7"}},
		{"replace_of_replaced_away_clordid_too_late", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 8, 99),
			replace(brokerA, "B1b", "B1", 7, 99),
		}, []string{"cancel_rejected B1b too_late"}},
		{"replace_to_crossing_price_trades", nil, []Command{
			limit(brokerB, "S1", Sell, 4, 101),
			limit(brokerA, "B1", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 10, 101),
		}, []string{"replaced o2 B1a<-B1 10@101 leaves=10",
			"fill o2 B1a 4@101 cum=4 leaves=6", "fill o1 S1 4@101 cum=4 leaves=0"}},
		{"replace_down_to_filled_qty_cancels_rest", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 6, 100),
			replace(brokerA, "B1a", "B1", 5, 100),
		}, []string{"cancelled o1 B1a user_cancel cum=6"}},
		{"replace_keeps_filled_qty", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 6, 100),
			replace(brokerA, "B1a", "B1", 12, 100),
		}, []string{"replaced o1 B1a<-B1 12@100 leaves=6"}},
		{"replace_with_duplicate_clordid_rejected", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerA, "B2", Buy, 10, 100),
			replace(brokerA, "B2", "B1", 8, 100),
		}, []string{"cancel_rejected B2 duplicate_clordid"}},
		{"replace_of_filled_order_too_late", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerB, "S1", Sell, 10, 100),
			replace(brokerA, "B1a", "B1", 8, 100),
		}, []string{"cancel_rejected B1a too_late"}},
		{"replace_of_other_brokers_order_unknown", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			replace(brokerB, "B1a", "B1", 8, 100),
		}, []string{"cancel_rejected B1a unknown_order"}},
		{"replace_to_zero_qty_rejected", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			replace(brokerA, "B1a", "B1", 0, 100),
		}, []string{"cancel_rejected B1a invalid_qty"}},
		{"cancel_of_ioc_remainder_too_late", nil, []Command{
			withTIF(limit(brokerA, "I1", Buy, 5, 100), IOC),
			cancel(brokerA, "C1", "I1"),
		}, []string{"cancel_rejected C1 too_late"}},
		{"clordid_of_rejected_order_is_free_again", nil, []Command{
			limit(brokerA, "B1", Buy, 0, 100),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"accepted o2 B1 5@100"}},
		{"clordid_of_cancelled_order_stays_used", nil, []Command{
			limit(brokerA, "B1", Buy, 5, 100),
			cancel(brokerA, "C1", "B1"),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"rejected B1 duplicate_clordid"}},
		// Self-trade prevention.
		{"self_trade_allowed_without_stp", nil, []Command{
			limit(brokerA, "S1", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"accepted o2 B1 5@100", "fill o2 B1 5@100 cum=5 leaves=0", "fill o1 S1 5@100 cum=5 leaves=0"}},
		{"stp_cancel_resting_then_trades_next", stpConfig(STPCancelResting), []Command{
			limit(brokerA, "S1", Sell, 5, 100),
			limit(brokerB, "S2", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"accepted o3 B1 5@100", "cancelled o1 S1 self_trade cum=0",
			"fill o3 B1 5@100 cum=5 leaves=0", "fill o2 S2 5@100 cum=5 leaves=0"}},
		{"stp_cancel_incoming_keeps_resting", stpConfig(STPCancelIncoming), []Command{
			limit(brokerB, "S0", Sell, 2, 99),
			limit(brokerA, "S1", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"accepted o3 B1 5@100", "fill o3 B1 2@99 cum=2 leaves=3", "fill o1 S0 2@99 cum=2 leaves=0",
			"cancelled o3 B1 self_trade cum=2"}},
		{"stp_cancel_both", stpConfig(STPCancelBoth), []Command{
			limit(brokerA, "S1", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"accepted o2 B1 5@100", "cancelled o1 S1 self_trade cum=0", "cancelled o2 B1 self_trade cum=0"}},
		{"stp_decrement_resting_larger", stpConfig(STPDecrement), []Command{
			limit(brokerA, "S1", Sell, 8, 100),
			limit(brokerA, "B1", Buy, 3, 100),
		}, []string{"accepted o2 B1 3@100", "replaced o1 S1<- 5@100 leaves=5", "cancelled o2 B1 self_trade cum=0"}},
		{"stp_decrement_keeps_time_priority", stpConfig(STPDecrement), []Command{
			limit(brokerA, "S1", Sell, 8, 100),
			limit(brokerB, "S2", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 3, 100),
			limit(brokerB, "B2", Buy, 6, 100),
		}, []string{"accepted o4 B2 6@100", "fill o4 B2 5@100 cum=5 leaves=1", "fill o1 S1 5@100 cum=5 leaves=0",
			"replaced o2 S2<- 4@100 leaves=4", "cancelled o4 B2 self_trade cum=5"}},
		{"stp_decrement_incoming_larger_goes_on", stpConfig(STPDecrement), []Command{
			limit(brokerA, "S1", Sell, 3, 100),
			limit(brokerB, "S2", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 7, 100),
		}, []string{"accepted o3 B1 7@100", "cancelled o1 S1 self_trade cum=0", "replaced o3 B1<- 4@100 leaves=4",
			"fill o3 B1 4@100 cum=4 leaves=0", "fill o2 S2 4@100 cum=4 leaves=1"}},
		{"stp_decrement_equal_cancels_both", stpConfig(STPDecrement), []Command{
			limit(brokerA, "S1", Sell, 5, 100),
			limit(brokerA, "B1", Buy, 5, 100),
		}, []string{"accepted o2 B1 5@100", "cancelled o1 S1 self_trade cum=0", "cancelled o2 B1 self_trade cum=0"}},
		{"stp_decrement_fok_unfilled", stpConfig(STPDecrement), []Command{
			limit(brokerA, "S1", Sell, 1, 100),
			limit(brokerB, "S2", Sell, 9, 100),
			withTIF(limit(brokerA, "F1", Buy, 5, 100), FOK),
		}, []string{"accepted o3 F1 5@100", "expired o3 F1 fok_unfilled cum=0"}},
		{"stp_order_mode_overrides_account", stpConfig(STPCancelBoth), []Command{
			limit(brokerA, "S1", Sell, 3, 100),
			withSTP(limit(brokerA, "B1", Buy, 7, 100), STPDecrement),
		}, []string{"accepted o2 B1 7@100", "cancelled o1 S1 self_trade cum=0", "replaced o2 B1<- 4@100 leaves=4"}},
		{"stp_order_mode_none_trades", stpConfig(STPCancelBoth), []Command{
			limit(brokerA, "S1", Sell, 3, 100),
			withSTP(limit(brokerA, "B1", Buy, 3, 100), STPNone),
		}, []string{"accepted o2 B1 3@100", "fill o2 B1 3@100 cum=3 leaves=0", "fill o1 S1 3@100 cum=3 leaves=0"}},
		{"stp_order_mode_unknown_rejected", nil, []Command{
			func() Command { c := limit(brokerA, "B1", Buy, 3, 100); c.STP = 6; return c }(),
		}, []string{"rejected B1 invalid_order"}},
		{"stp_fok_counts_only_other_brokers", stpConfig(STPCancelResting), []Command{
			limit(brokerA, "S1", Sell, 5, 100),
			limit(brokerB, "S2", Sell, 2, 100),
			withTIF(limit(brokerA, "F1", Buy, 5, 100), FOK),
		}, []string{"accepted o3 F1 5@100", "expired o3 F1 fok_unfilled cum=0"}},
		// Per-symbol rules (symbol 3: qty 10..1000, band 50 ticks around 1000).
		{"below_min_qty_rejected", nil, []Command{
			onSymbol(limit(brokerA, "B1", Buy, 9, 1000), 3),
		}, []string{"rejected B1 invalid_qty"}},
		{"above_max_qty_rejected", nil, []Command{
			onSymbol(limit(brokerA, "B1", Buy, 1001, 1000), 3),
		}, []string{"rejected B1 invalid_qty"}},
		{"outside_band_rejected", nil, []Command{
			onSymbol(limit(brokerA, "B1", Buy, 10, 1051), 3),
		}, []string{"rejected B1 price_band"}},
		{"band_edge_accepted", nil, []Command{
			onSymbol(limit(brokerA, "B1", Buy, 10, 950), 3),
		}, []string{"accepted o1 B1 10@950"}},
		{"band_follows_last_trade", nil, []Command{
			onSymbol(limit(brokerA, "B1", Buy, 10, 1040), 3),
			onSymbol(limit(brokerB, "S1", Sell, 10, 1040), 3),
			onSymbol(limit(brokerA, "B2", Buy, 10, 1090), 3),
		}, []string{"accepted o3 B2 10@1090"}},
		{"replace_outside_band_rejected", nil, []Command{
			onSymbol(limit(brokerA, "B1", Buy, 10, 1000), 3),
			onSymbol(replace(brokerA, "B1a", "B1", 10, 900), 3),
		}, []string{"cancel_rejected B1a price_band"}},
		{"price_above_hard_cap_rejected", nil, []Command{
			limit(brokerA, "B1", Buy, 10, MaxPriceTicks+1),
		}, []string{"rejected B1 invalid_price"}},
		{"book_full_rejected", func(c *Config) { c.MaxOrders = 1 }, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			limit(brokerA, "B2", Buy, 10, 100),
		}, []string{"rejected B2 book_full"}},
		// Mass cancel.
		{"mass_cancel_one_symbol", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			onSymbol(limit(brokerA, "B2", Buy, 10, 100), 2),
			limit(brokerB, "B3", Buy, 10, 100),
			limit(brokerA, "B4", Sell, 10, 110),
			massCancel(brokerA, 1),
		}, []string{"cancelled o1 B1 cancel_on_disconnect cum=0", "cancelled o4 B4 cancel_on_disconnect cum=0"}}, // no report asked: cancel-on-disconnect's encoding
		{"mass_cancel_all_symbols_oldest_first", nil, []Command{
			limit(brokerA, "B1", Buy, 10, 100),
			onSymbol(limit(brokerA, "B2", Buy, 10, 100), 2),
			limit(brokerB, "B3", Buy, 10, 100),
			limit(brokerA, "B4", Sell, 10, 110),
			replace(brokerA, "B1a", "B1", 11, 101),
			massCancel(brokerA, 0),
		}, []string{"cancelled o1 B1a cancel_on_disconnect cum=0", "cancelled o2 B2 cancel_on_disconnect cum=0", "cancelled o4 B4 cancel_on_disconnect cum=0"}},
		{"mass_cancel_with_nothing_resting_is_silent", nil, []Command{
			massCancel(brokerA, 0),
		}, nil},
		{"mass_cancel_unknown_symbol_rejected", nil, []Command{
			massCancel(brokerA, 9),
		}, []string{"cancel_rejected MASS unknown_symbol"}},
	}
	for _, tc := range cases {
		expectEvents(t, tc.name, tc.cfg, tc.cmds, tc.want)
	}
}

func TestEventsCarryFullOrderState(t *testing.T) {
	e := New(testConfig())
	cmds := []Command{
		limit(brokerB, "S1", Sell, 4, 101),
		limit(brokerB, "S2", Sell, 4, 102),
		withTIF(limit(brokerA, "B1", Buy, 10, 102), GTC),
	}
	var evs []Event
	for i := range cmds {
		c := cmds[i]
		c.Seq, c.TimeNs = int64(10+i), int64(5000+i)
		evs = e.Apply(&c, evs[:0])
	}
	last := evs[len(evs)-2] // the aggressor's second fill
	want := Event{Seq: 12, TimeNs: 5002, OrderID: 12, ExecID: 12*ExecIDStride + 3, Price: 102, OrderQty: 10,
		LastQty: 4, LastPx: 102, CumQty: 8, LeavesQty: 2, CumNotional: 4*101 + 4*102, Symbol: 1, Account: brokerA,
		Type: EvFill, Side: Buy, OrdType: Limit, TIF: GTC, Kind: KindNew, ClOrdID: id("B1")}
	if last != want {
		t.Fatalf("fill event\n got  %+v\n want %+v", last, want)
	}
	if top := e.Top(1); top != (Top{BidPx: 102, BidQty: 2}) {
		t.Fatalf("top of book %+v", top)
	}
}

func TestSnapshotRestoreGivesSameBytesAndFuture(t *testing.T) {
	snap := sampleSnapshot()
	e := New(testConfig())
	if err := e.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again := e.Snapshot(nil); !slices.Equal(snap, again) {
		t.Fatal("snapshot after restore differs")
	}
	// The restored engine still knows every order and ClOrdID.
	tail := []Command{
		cancel(brokerB, "C9", "S3"),              // live: cancelled
		cancel(brokerB, "C8", "S2"),              // cancelled before the snapshot: too late
		limit(brokerA, "B1", Buy, 1, 90),         // B1 was used: duplicate
		replace(brokerA, "B1b", "B1a", 12, 103),  // live: loses priority, rests at 103
		onSymbol(cancel(brokerA, "C7", "B2"), 3), // live on symbol 3
	}
	want := [][]string{
		{"cancelled o7 C9 user_cancel cum=0"},
		{"cancel_rejected C8 too_late"},
		{"rejected B1 duplicate_clordid"},
		{"replaced o1 B1b<-B1a 12@103 leaves=8"},
		{"cancelled o5 C7 user_cancel cum=0"},
	}
	var evs []Event
	for i := range tail {
		c := tail[i]
		c.Seq = int64(100 + i)
		evs = e.Apply(&c, evs[:0])
		var got []string
		for j := range evs {
			got = append(got, describe(&evs[j]))
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("after restore, command %d: got %q, want %q", i, got, want[i])
		}
	}
}

func TestRestoreRefusesDamage(t *testing.T) {
	snap := sampleSnapshot()
	e := New(testConfig())
	for n := range len(snap) {
		if err := e.Restore(snap[:n]); err == nil {
			t.Fatalf("restore accepted a snapshot cut at %d of %d bytes", n, len(snap))
		}
	}
	if err := e.Restore(append(slices.Clone(snap), 0)); err == nil {
		t.Fatal("restore accepted trailing bytes")
	}
	other := testConfig()
	other.STP = STPCancelBoth
	if err := New(other).Restore(snap); err == nil {
		t.Fatal("restore accepted a snapshot written under another config")
	}
	if e.RestingOrders() != 0 {
		t.Fatal("a failed restore changed the engine")
	}
}

func TestHashTracksState(t *testing.T) {
	a, b := New(testConfig()), New(testConfig())
	empty := a.Hash()
	cmds := []Command{limit(brokerA, "B1", Buy, 10, 100), limit(brokerB, "S1", Sell, 4, 100)}
	run(t, a, cmds)
	run(t, b, cmds)
	if a.Hash() != b.Hash() {
		t.Fatal("same commands, different hashes")
	}
	if a.Hash() == empty {
		t.Fatal("hash did not change with the book")
	}
	c := New(testConfig())
	cmds[1].Qty = 5 // one lot more traded: a resting order differs by one lot
	run(t, c, cmds)
	if c.Hash() == a.Hash() {
		t.Fatal("different resting state, same hash")
	}
}

func status(acct uint32, cl string) Command {
	return Command{Kind: KindStatus, Symbol: 1, Account: acct, ClOrdID: id(cl), OrigClOrdID: id(cl)}
}

func statusID(acct uint32, cl string, orderID int64) Command {
	c := status(acct, cl)
	c.OrderID = orderID
	return c
}

// describeStatus renders a status answer with everything a broker's
// ExecutionReport carries.
func describeStatus(ev *Event) string {
	return fmt.Sprintf("status %s %s o%d %s %d@%d %s/%d cum=%d leaves=%d notional=%d", ev.ClOrdID, ev.Reason, ev.OrderID,
		[...]string{"?", "buy", "sell"}[ev.Side&3], ev.OrderQty, ev.Price, [...]string{"?", "limit", "market"}[ev.OrdType&3],
		ev.TIF, ev.CumQty, ev.LeavesQty, ev.CumNotional)
}

// TestOrderStatus: a status request reports a live order as it stands and
// a finished one as it ended (LeavesQty 0, the reason it ended; none when it
// filled), and changes nothing. The commands of a case get Seq 1, 2, ...,
// so order oN is the N-th command's.
func TestOrderStatus(t *testing.T) {
	cases := []struct {
		name string
		cmds []Command
		want string
	}{
		{"resting_order_reports_its_state",
			[]Command{limit(1, "S1", Sell, 100, 50), limit(2, "B1", Buy, 30, 50), status(1, "S1")},
			"status S1 none o1 sell 100@50 limit/0 cum=30 leaves=70 notional=1500"},
		{"unknown_order", []Command{status(1, "NOPE")}, "status NOPE unknown_order o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
		{"another_brokers_order_is_unknown",
			[]Command{limit(1, "S1", Sell, 100, 50), status(2, "S1")},
			"status S1 unknown_order o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
		{"filled_order_reports_filled",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 10, 50), status(1, "S1")},
			"status S1 none o1 sell 10@50 limit/0 cum=10 leaves=0 notional=500"},
		{"taker_filled_at_two_prices",
			[]Command{limit(1, "S1", Sell, 4, 50), limit(1, "S2", Sell, 6, 51), withTIF(limit(2, "B1", Buy, 10, 55), GTC), status(2, "B1")},
			"status B1 none o3 buy 10@55 limit/1 cum=10 leaves=0 notional=506"},
		{"cancelled_after_partial_fill",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 3, 50), cancel(1, "C1", "S1"), status(1, "S1")},
			"status S1 user_cancel o1 sell 10@50 limit/0 cum=3 leaves=0 notional=150"},
		{"the_cancels_own_clordid_is_unknown",
			[]Command{limit(1, "S1", Sell, 10, 50), cancel(1, "C1", "S1"), status(1, "C1")},
			"status C1 unknown_order o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
		{"ioc_remainder_expired",
			[]Command{limit(1, "S1", Sell, 4, 50), withTIF(limit(2, "B1", Buy, 10, 50), IOC), status(2, "B1")},
			"status B1 ioc_remainder o2 buy 10@50 limit/3 cum=4 leaves=0 notional=200"},
		{"fok_unfilled_expired",
			[]Command{limit(1, "S1", Sell, 4, 50), withTIF(limit(2, "B1", Buy, 10, 50), FOK), status(2, "B1")},
			"status B1 fok_unfilled o2 buy 10@50 limit/4 cum=0 leaves=0 notional=0"},
		{"market_order_without_liquidity",
			[]Command{market(2, "B1", Buy, 10), status(2, "B1")},
			"status B1 no_liquidity o1 buy 10@0 market/0 cum=0 leaves=0 notional=0"},
		{"mass_cancelled",
			[]Command{withTIF(limit(1, "S1", Sell, 10, 50), GTC), func() Command { c := massCancel(1, 1); c.TIF = GTC; return c }(), status(1, "S1")},
			"status S1 mass_cancel o1 sell 10@50 limit/1 cum=0 leaves=0 notional=0"},
		{"replaced_then_filled_found_by_latest_clordid",
			[]Command{limit(1, "S1", Sell, 10, 52), replace(1, "S1a", "S1", 8, 50), limit(2, "B1", Buy, 8, 50), status(1, "S1a")},
			"status S1a none o1 sell 8@50 limit/0 cum=8 leaves=0 notional=400"},
		{"replaced_away_clordid_is_too_late",
			[]Command{limit(1, "S1", Sell, 10, 52), replace(1, "S1a", "S1", 8, 50), limit(2, "B1", Buy, 8, 50), status(1, "S1")},
			"status S1 too_late o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
		{"replaced_to_below_filled_is_cancelled",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 6, 50), replace(1, "S1a", "S1", 5, 50), status(1, "S1a")},
			"status S1a user_cancel o1 sell 10@50 limit/0 cum=6 leaves=0 notional=300"},
		{"finished_order_by_order_id",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 10, 50), statusID(1, "ASK", 1)},
			"status S1 none o1 sell 10@50 limit/0 cum=10 leaves=0 notional=500"},
		{"another_brokers_finished_order_is_unknown",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 10, 50), status(2, "S1")},
			"status S1 unknown_order o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
		{"another_brokers_finished_order_by_id_is_unknown",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 10, 50), statusID(2, "ASK", 1)},
			"status ASK unknown_order o1 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
		{"finished_order_asked_in_another_symbol_is_unknown",
			[]Command{limit(1, "S1", Sell, 10, 50), limit(2, "B1", Buy, 10, 50), onSymbol(status(1, "S1"), 2)},
			"status S1 unknown_order o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := New(testConfig())
			run(t, e, tc.cmds[:len(tc.cmds)-1])
			before := e.Hash()
			c := tc.cmds[len(tc.cmds)-1]
			c.Seq = 99
			evs := e.Apply(&c, nil)
			if len(evs) != 1 || evs[0].Type != EvStatus {
				t.Fatalf("got %d events (%s), want one status", len(evs), describeAll(evs))
			}
			if got := describeStatus(&evs[0]); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if e.Hash() != before {
				t.Fatal("a status request changed the engine's state")
			}
		})
	}
}

// TestFinishedStatusSurvivesRestoreAndIsForgotten: a finished order's final
// state travels in the snapshot, and goes when the retired store forgets
// the order (then the order is unknown, as a cancel finds it).
func TestFinishedStatusSurvivesRestoreAndIsForgotten(t *testing.T) {
	cfg := testConfig()
	cfg.ClOrdIDWindow = 6 // generations of one record
	e := New(cfg)
	run(t, e, []Command{limit(1, "S1", Sell, 4, 50), withTIF(limit(2, "B1", Buy, 10, 50), IOC)})
	want := "status B1 ioc_remainder o2 buy 10@50 limit/3 cum=4 leaves=0 notional=200"
	ask := func(e *Engine) string {
		c := status(2, "B1")
		c.Seq = 1000
		evs := e.Apply(&c, nil)
		return describeStatus(&evs[0])
	}
	r := New(cfg)
	if err := r.Restore(e.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if got := ask(r); got != want {
		t.Fatalf("after restore: got %s, want %s", got, want)
	}
	if r.Hash() != e.Hash() {
		t.Fatal("restored engine hashes differently")
	}
	// Finish more orders than the window remembers: B1 is forgotten.
	var more []Command
	for i := range 2 * cfg.ClOrdIDWindow {
		more = append(more, withTIF(limit(3, fmt.Sprintf("X%d", i), Buy, 1, 10), IOC))
	}
	for i := range more {
		more[i].Seq = int64(10 + i)
		e.Apply(&more[i], nil)
	}
	if got, want := ask(e), "status B1 unknown_order o0 ? 0@0 ?/0 cum=0 leaves=0 notional=0"; got != want {
		t.Fatalf("after the window: got %s, want %s", got, want)
	}
}

// TestRestoreRefusesVersion1: a snapshot of the format before finished
// orders kept their final state is refused with a message saying so.
func TestRestoreRefusesVersion1(t *testing.T) {
	snap := sampleSnapshot()
	binary.LittleEndian.PutUint32(snap[4:], 1)
	err := New(testConfig()).Restore(snap)
	if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), "version 1, written by an older ringex without the final state") {
		t.Fatalf("got %v", err)
	}
}
