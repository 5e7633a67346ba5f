package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestReviewDepositAmountOverflowsTheCashUnit: an operator deposits
// 18446744073710 of cash (14 digits; a decimal may have 15) on a spot
// venue whose risk.cashUnit is "0.000001". That is 1.8 × 10^19 cash units,
// more than an int64 holds, and more than a funds record may carry
// (matcher.Funds: at most 2^50): a venue should refuse it with a clear
// answer and change nothing.
//
// ringex credits 0.448384: Node.fundsAmount (node/risk.go)
// converts with gateway.Scale.Units (gateway/decimal.go), which multiplies
// the mantissa by 10 for each decimal of the unit with no overflow check
// ("maxDigits bounds the digits ... so every product below fits" holds
// for the mantissa only, not once it is scaled), so the product wraps to
// 18446744073710 × 10^6 - 2^64 = 448384 units, which the funds record's
// bound accepts and the journal keeps. (999999999999999 wraps to a number
// over that bound and is refused, but the error names 3875820019683212736,
// an amount the operator never typed.) The same conversion
// reads FIX prices: with a tickSize of "0.00000001", Price
// 184467440737096 becomes 48384000 ticks (0.48384).
func TestReviewDepositAmountOverflowsTheCashUnit(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.CashUnit = "0.000001"
	n := startCfg(t, cfg)
	defer n.Stop()
	_, err := n.Funds(false, "BROKER01", "cash", "18446744073710")
	show, _ := n.AccountShow("BROKER01")
	if err == nil || !strings.Contains(show, "cash 0.000000 ") {
		t.Fatalf("deposit of 18446744073710 at cashUnit 0.000001: %v, and account show says %q; "+
			"want a refusal (1.8 × 10^19 units do not fit) and no cash", err, show)
	}
}
