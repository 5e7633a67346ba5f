package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// Check does not know which orders work; the engines do. A replace it
// refuses is answered by its order's engine: a working order of the
// account the replace names is reported as it stands (its order id, its
// quantities, the risk reason) and keeps its hold; a replace of an order
// that is not working, or that names another account than the order's,
// gets the matcher's answer (too late, unknown order), never a risk
// refusal. A replace's refusal for cash is never final before the settle
// half has caught up (Final).
func TestRefusedReplaceIsAnsweredByItsOrdersEngine(t *testing.T) {
	s, _ := New(testConfig(ModeSpot))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) ([]matcher.Event, Hold) {
		seq++
		c.Seq, c.TimeNs = seq, seq
		return s.Step(&c, engines, nil)
	}
	dep, _ := matcher.Funds{Account: 2, Amount: 1000}.Command()
	step(dep)
	id, _ := matcher.MakeClOrdID("g1")
	if _, h := step(matcher.Command{Kind: matcher.KindNew, Account: 1, Owner: 2, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit,
		TIF: matcher.GTC, Qty: 5, Price: 100, ClOrdID: id}); h.Reason != matcher.ReasonNone || h.Cash == 0 {
		t.Fatalf("order of session 1 for account 2: %+v", h)
	}
	orderID := seq
	before, _ := s.Balance(2)
	answer := func(what string, c matcher.Command, wantHold, wantAnswer matcher.Reason, wantOrderID int64) {
		t.Helper()
		evs, h := step(c)
		if h.Reason != wantHold {
			t.Fatalf("%s: risk decided %v, want %v", what, h.Reason, wantHold)
		}
		if len(evs) != 1 || evs[0].Type != matcher.EvCancelRejected || evs[0].Reason != wantAnswer || evs[0].OrderID != wantOrderID {
			t.Fatalf("%s: answered %+v, want one cancel reject %v of order %d", what, evs, wantAnswer, wantOrderID)
		}
	}
	rep := func(cl string, owner uint32, qty int64) matcher.Command {
		newID, _ := matcher.MakeClOrdID(cl)
		return matcher.Command{Kind: matcher.KindReplace, Account: 1, Owner: owner, Symbol: 1, Side: matcher.Buy, Qty: qty, Price: 110,
			ClOrdID: newID, OrigClOrdID: id}
	}
	answer("replace naming session 1's own account, which has no cash and not the order", rep("g2", 0, 5),
		matcher.ReasonRiskCash, matcher.ReasonUnknownOrder, orderID)

	over := rep("g3", 2, 9)
	if h := s.Check(&over); h.Reason != matcher.ReasonRiskCash || s.Final(&over, h.Reason) {
		t.Fatalf("replace for account 2 over its cash: %+v, final %v; want refused for cash, not finally", h, s.Final(&over, h.Reason))
	}
	// Judged again on the difference (CheckExact): 10 at 110 needs 1100
	// (and its fee), 600 more than the order holds, of 500 free.
	answer("replace for account 2, which has the order, over its cash", rep("g4", 2, 10), matcher.ReasonRiskCash, matcher.ReasonRiskCash, orderID)
	if after, _ := s.Balance(2); after.CashHeld != before.CashHeld || after.OpenOrders != 1 {
		t.Fatalf("after the refused replace: held %d, %d open; want %d held as before, 1 open", after.CashHeld, after.OpenOrders, before.CashHeld)
	}
	evs := engines.Apply(&matcher.Command{Seq: seq + 1, Kind: matcher.KindStatus, Account: 1, Symbol: 1, OrigClOrdID: id}, nil)
	if len(evs) != 1 || evs[0].OrderID != orderID || evs[0].LeavesQty != 5 || evs[0].Price != 100 {
		t.Fatalf("the order after its refused replace: %+v, want it working, 5 at 100", evs)
	}
	seq++

	cl, _ := matcher.MakeClOrdID("x1")
	step(matcher.Command{Kind: matcher.KindCancel, Account: 1, Symbol: 1, OrigClOrdID: id, ClOrdID: cl})
	answer("replace of the cancelled order, over account 2's cash", rep("g5", 2, 20), matcher.ReasonRiskCash, matcher.ReasonTooLate, 0)
	answer("replace of the cancelled order, over account 2's maxOrderQty", rep("g6", 2, 23), matcher.ReasonRiskOrderQty, matcher.ReasonTooLate, 0)
}
