package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestFeeAccountCanBeShownAndWithdrawn: with risk.feeBps both sides of every
// fill pay a fee into the venue's fee account (account 0, Config.FeeBps).
// The operator should be able to see what the venue collected, as it
// sees any account's cash: Balance is the one accessor another goroutine
// may call (the node's `ringex account show`, audit's `replay account`).
//
// ringex kept the fee account's cash as a plain number of the settle half
// (State.feeCash), and Balance(0) said the account did not exist, so no
// command showed the fees collected, and no withdrawal could take them
// out (checkFunds refused account 0 too). Now the fees are account 0's
// cash cell: Balance(0) shows them, the operator withdraws cash from it
// (no more than it holds), it takes no deposit and no inventory, and a
// snapshot restores it.
func TestFeeAccountCanBeShownAndWithdrawn(t *testing.T) {
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
	out, _ := matcher.Funds{Withdraw: true, Account: 0, Amount: fees + 1}.Command()
	if h := step(out); h.Reason != matcher.ReasonRiskFundsRefused {
		t.Fatalf("withdrawal of %d from a fee account of %d: %v; want ReasonRiskFundsRefused", fees+1, fees, h.Reason)
	}
	out, _ = matcher.Funds{Withdraw: true, Account: 0, Amount: fees - 1}.Command()
	if h := step(out); h.Reason != matcher.ReasonNone {
		t.Fatalf("withdrawal of %d from a fee account of %d: %v", fees-1, fees, h.Reason)
	}
	if b, _ := s.Balance(0); b.Cash != 1 || s.Fees() != 1 {
		t.Fatalf("after withdrawing %d of %d: Balance(0).Cash %d, Fees %d; want 1", fees-1, fees, b.Cash, s.Fees())
	}
	if f := s.Funding(); f.Cash != 100000-(fees-1) {
		t.Fatalf("funding cash %d after the withdrawal; want %d", f.Cash, 100000-(fees-1))
	}
	for _, bad := range []matcher.Funds{{Account: 0, Amount: 1}, {Withdraw: true, Account: 0, Symbol: 1, Amount: 1}} {
		if _, err := bad.Command(); err == nil {
			t.Fatalf("%+v: a fee account record other than a cash withdrawal was written", bad)
		}
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if b, ok := restored.Balance(0); !ok || b.Cash != 1 || restored.Hash() != s.Hash() {
		t.Fatalf("restored fee account %+v, %v (hash equal: %v); want cash 1", b, ok, restored.Hash() == s.Hash())
	}
}
