package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// No balance or hold is ever negative, nor a hold above its total, across
// a fee change. A GTC buy of 1 lot at 10000 ticks is accepted under a fee
// of 100 bps, holding 10100. The venue then lowers the fee to 0 (a
// risk_fee record). The broker amends the order to 200 lots: its new terms
// pay the fee in force at the replace, so Check reserves 200 × 10000, which
// the account has free, and the settle half holds the order at that same
// fee (replaced, settle.go); a seller filling it leaves the buyer's cash at
// zero, not below. Held at the fee the order was first accepted under, it
// would hold 9 900 more than the account has.
func TestReplaceAfterAFeeCutNeverHoldsMoreThanTheCash(t *testing.T) {
	s, err := New(Config{Mode: ModeSpot, Accounts: 2, Symbols: []Symbol{{CashPerTickLot: 1}}, FeeBps: 100})
	if err != nil {
		t.Fatal(err)
	}
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) Hold {
		t.Helper()
		seq++
		c.Seq, c.TimeNs = seq, seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	check := func(when string) {
		t.Helper()
		for a := uint32(1); a <= 2; a++ {
			b, _ := s.Balance(a)
			if b.Cash < 0 || b.CashHeld > b.Cash {
				t.Errorf("%s: account %d cash %d held %d: negative, or more held than there is", when, a, b.Cash, b.CashHeld)
			}
		}
	}
	dep, _ := matcher.Funds{Account: 1, Amount: 2_010_100}.Command()
	step(dep)
	inv, _ := matcher.Funds{Account: 2, Symbol: 1, Amount: 200}.Command()
	step(inv)
	id, _ := matcher.MakeClOrdID("b1")
	if h := step(matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit,
		TIF: matcher.GTC, Qty: 1, Price: 10000, ClOrdID: id}); h.Reason != matcher.ReasonNone || h.Cash != 10100 {
		t.Fatalf("buy of 1 at 10000 under 100 bps: %+v, want it accepted holding 10100", h)
	}
	fee, _ := matcher.RiskFee{FeeBps: 0}.Command()
	step(fee)
	id2, _ := matcher.MakeClOrdID("b2")
	h := step(matcher.Command{Kind: matcher.KindReplace, Account: 1, Symbol: 1, Side: matcher.Buy, Qty: 200, Price: 10000,
		ClOrdID: id2, OrigClOrdID: id})
	check("after the replace to 200 lots (" + h.Reason.String() + ")")
	sid, _ := matcher.MakeClOrdID("s1")
	step(matcher.Command{Kind: matcher.KindNew, Account: 2, Symbol: 1, Side: matcher.Sell, Type: matcher.Limit,
		TIF: matcher.Day, Qty: 200, Price: 10000, ClOrdID: sid})
	check("after a sell of 200 fills it")
}
