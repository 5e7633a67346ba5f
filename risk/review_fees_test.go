package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestReviewFeeAccountCanBeShown: with risk.feeBps both sides of every
// fill pay a fee into the venue's fee account (account 0, Config.FeeBps).
// The operator should be able to see what the venue collected, as it
// sees any account's cash: Balance is the one accessor another goroutine
// may call (the node's `ringex account show`, audit's `replay account`).
//
// ringex keeps the fee account's cash as a plain number of the settle half
// (State.feeCash; Fees is "the settle half's goroutine only" and nothing
// outside tests calls it), and Balance(0) says the account does not exist
// (knownAccount(0) is false). So no command, metric or replay ever shows
// the fees collected, and no withdrawal can take them out (checkFunds
// refuses account 0 too): the venue's revenue is locked in the snapshot.
func TestReviewFeeAccountCanBeShown(t *testing.T) {
	s, _ := New(testConfig(ModeSpot))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) Hold {
		seq++
		c.Seq, c.TimeNs = seq, seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	cash, _ := matcher.Funds{Account: 1, Amount: 100000}.Command()
	step(cash)
	inv, _ := matcher.Funds{Account: 2, Symbol: 1, Amount: 10}.Command()
	step(inv)
	b1, _ := matcher.MakeClOrdID("b1")
	s1, _ := matcher.MakeClOrdID("s1")
	if h := step(matcher.Command{Kind: matcher.KindNew, Account: 2, Symbol: 1, Side: matcher.Sell, Type: matcher.Limit, TIF: matcher.GTC,
		Qty: 10, Price: 100, ClOrdID: s1}); h.Reason != matcher.ReasonNone {
		t.Fatalf("sell refused: %v", h.Reason)
	}
	if h := step(matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC,
		Qty: 10, Price: 100, ClOrdID: b1}); h.Reason != matcher.ReasonNone {
		t.Fatalf("buy refused: %v", h.Reason)
	}
	fees := s.Fees()
	if fees == 0 {
		t.Fatal("a fill of 1000 at 30 bps collected no fee")
	}
	b, ok := s.Balance(0)
	if !ok || b.Cash != fees {
		t.Fatalf("Balance(0) (the venue's fee account) = %+v, %v; want its cash, the %d collected in fees", b, ok, fees)
	}
}
