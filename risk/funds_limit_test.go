package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// No balance is ever negative, and bad input changes nothing: each
// deposit is bounded (matcher.MaxFundsAmount, 2^50), and the venue's total
// of an asset too. 8192 deposits of the most one may be would add up to
// 2^63; the one that would take the total past MaxInt64 is refused
// (ReasonRiskFundsLimit, checkFunds) and the balance stays as it was, where
// an unchecked sum wraps to a negative total.
func TestDepositsCannotWrapABalance(t *testing.T) {
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
