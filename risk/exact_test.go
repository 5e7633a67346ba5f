package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// The settle half applies a withdrawal in two stores (its free amount,
// then its applied count); Check may look between them. Its view is then
// too low, which is safe only if Exact does not vouch for it: Exact must
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
