package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// A replace that names an account with no order working passes, unheld,
// whatever that account's balance: it has no order to replace, and the
// matcher refuses it as an unknown order (a replace naming another
// account than its order's, or none for an order of a firm's account).
// One naming an account with an order working is still refused for cash,
// and never finally before the settle half has caught up (Final): that
// order may end first, and then the replace passes.
func TestReplaceOfAnAccountWithNoOrderGoesToTheMatcher(t *testing.T) {
	s, _ := New(testConfig(ModeSpot))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) Hold {
		seq++
		c.Seq = seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	dep, _ := matcher.Funds{Account: 2, Amount: 1000}.Command()
	step(dep)
	id, _ := matcher.MakeClOrdID("g1")
	if h := step(matcher.Command{Kind: matcher.KindNew, Account: 1, Owner: 2, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit,
		TIF: matcher.GTC, Qty: 5, Price: 100, ClOrdID: id}); h.Reason != matcher.ReasonNone || h.Cash == 0 {
		t.Fatalf("order of session 1 for account 2: %+v", h)
	}
	newID, _ := matcher.MakeClOrdID("g2")
	rep := matcher.Command{Kind: matcher.KindReplace, Account: 1, Symbol: 1, Side: matcher.Buy, Qty: 5, Price: 110,
		ClOrdID: newID, OrigClOrdID: id}
	if h := s.Check(&rep); h != (Hold{}) {
		t.Fatalf("replace naming session 1's own account, which has no order and no cash: %+v, want it passed unheld", h)
	}
	rep.Owner = 2
	rep.Qty = 9
	h := s.Check(&rep)
	if h.Reason != matcher.ReasonRiskCash {
		t.Fatalf("replace for account 2, which has the order, over its cash: %+v, want %v", h, matcher.ReasonRiskCash)
	}
	if s.Final(&rep, h.Reason) {
		t.Error("Final vouched for a replace's refusal: the account's order may end before it")
	}
}
