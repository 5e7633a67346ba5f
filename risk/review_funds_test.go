package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// Review (issue 19, spot balances): "no balance or hold is ever
// negative", and bad input "changes nothing". Each deposit is bounded
// (matcher.MaxFundsAmount, 2^50), but nothing bounds a balance: 8192
// deposits of the most one may be add up to 2^63, so the 8192nd wraps the
// account's cash to a negative total. An operator (or a script
// repeating `ringex account deposit`) expects the deposit that would
// overflow to be refused (ReasonRiskFundsRefused) with the balance left
// as it was. Instead checkFunds (risk/check.go) passes every deposit, and
// applyFunds (risk/settle.go) adds it, wrapping the int64 total (and the
// venue-wide funding) negative.
func TestReviewDepositsCannotWrapABalance(t *testing.T) {
	s, err := New(Config{Mode: ModeSpot, Accounts: 1, Symbols: []Symbol{{CashPerTickLot: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	engines := testEngines(t, 1, matcher.STPNone)
	var out []matcher.Event
	const deposits = 1<<13 + 1 // one more than 2^63 / 2^50
	for i := range deposits {
		c, err := matcher.Funds{Account: 1, Amount: matcher.MaxFundsAmount}.Command()
		if err != nil {
			t.Fatal(err)
		}
		c.Seq, c.TimeNs = int64(i+1), int64(i+1)
		var h Hold
		out, h = s.Step(&c, engines, out[:0])
		b, _ := s.Balance(1)
		if b.Cash < 0 {
			t.Fatalf("deposit %d of %d (reason %v): cash %d, negative", i+1, int64(matcher.MaxFundsAmount), h.Reason, b.Cash)
		}
	}
}
