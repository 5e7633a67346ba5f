package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// The settle half applies a withdrawal in two stores (its total, then its
// applied count); Check may look between them (here, a store that takes
// the amount off what is free too, the worst a first store can do). Its
// view is then too low, which is safe only if Exact does not vouch for it: Exact must
// say false while any change to the account is half done.
func TestExactNotWhileAWithdrawalIsHalfApplied(t *testing.T) {
	s, _ := New(testConfig(ModeSpot))
	dep, _ := matcher.Funds{Account: 1, Amount: 100}.Command()
	s.Apply(&dep, s.Check(&dep))
	s.Done()
	w, _ := matcher.Funds{Withdraw: true, Account: 1, Amount: 60}.Command()
	if h := s.Check(&w); h.Reason != matcher.ReasonNone {
		t.Fatalf("withdrawal of 60 of 100: %v", h.Reason)
	}
	// The settle half's first store of the withdrawal, and not its second.
	s.move(s.cashCell(1), -60)
	exact := s.Exact(1)
	w2, _ := matcher.Funds{Withdraw: true, Account: 1, Amount: 30}.Command()
	if h := s.Check(&w2); exact && h.Reason != matcher.ReasonNone {
		t.Fatalf("Exact vouched for a view with the withdrawal half applied, and 30 of the 40 left was refused (%v)", h.Reason)
	}
}

// A replace the settle half has applied but whose answer it has not
// settled yet still holds what Check reserved for it; the matcher refuses
// it (its order is gone) and that is released. Until then Check's view is
// too low, so Exact must not vouch for it: a buy the exact state affords
// would be refused for good, live, and accepted on replay.
func TestExactNotWhileAReplaceIsUnanswered(t *testing.T) {
	s, _ := New(testConfig(ModeSpot))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) Hold {
		seq++
		c.Seq, c.TimeNs = seq, seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	dep, _ := matcher.Funds{Account: 1, Amount: 100}.Command()
	step(dep)
	id, _ := matcher.MakeClOrdID("o1")
	if h := step(matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 1, Price: 50, ClOrdID: id}); h.Reason != matcher.ReasonNone {
		t.Fatalf("buy 1 at 50 with 100: %v", h.Reason)
	}
	orderID := seq
	cl, _ := matcher.MakeClOrdID("c1")
	step(matcher.Command{Kind: matcher.KindCancel, Account: 1, Symbol: 1, OrderID: orderID, ClOrdID: cl})

	// The replace of the cancelled order: checked, and applied by the
	// settle half, whose answer (a refusal) is not settled yet.
	seq++
	rp, _ := matcher.MakeClOrdID("r1")
	rep := matcher.Command{Seq: seq, TimeNs: seq, Kind: matcher.KindReplace, Account: 1, Symbol: 1, Side: matcher.Buy, OrderID: orderID, Qty: 1, Price: 40, ClOrdID: rp}
	h := s.Check(&rep)
	if h.Reason != matcher.ReasonNone || h.Cash == 0 {
		t.Fatalf("replace to 1 at 40: %+v", h)
	}
	s.Apply(&rep, h)
	exact := s.Exact(1)
	seq++
	id2, _ := matcher.MakeClOrdID("o2")
	buy := matcher.Command{Seq: seq, TimeNs: seq, Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 1, Price: 70, ClOrdID: id2}
	if h := s.Check(&buy); exact && h.Reason != matcher.ReasonNone {
		t.Fatalf("Exact vouched for a view with an unanswered replace's hold in it, and a buy of 71 of the 100 free was refused (%v)", h.Reason)
	}
}
