package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestDepositAmountOverflowingTheCashUnitIsRefused: an operator deposits
// 18446744073710 of cash (14 digits; a decimal may have 15) on a spot
// venue whose risk.cashUnit is "0.000001". That is 1.8 × 10^19 cash units,
// more than an int64 holds, and more than a funds record may carry
// (matcher.Funds: at most 2^50): a venue should refuse it with a clear
// answer and change nothing.
//
// ringex credited 0.448384: Node.fundsAmount (node/risk.go)
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
func TestDepositAmountOverflowingTheCashUnitIsRefused(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.CashUnit = "0.000001"
	n := startCfg(t, cfg)
	defer n.Stop()
	_, err := n.Funds(false, "BROKER01", "cash", "18446744073710")
	show, _ := n.AccountShow("BROKER01")
	if err == nil || !strings.Contains(err.Error(), `"18446744073710"`) || !strings.Contains(show, "cash 0.000000 ") {
		t.Fatalf("deposit of 18446744073710 at cashUnit 0.000001: %v, and account show says %q; "+
			"want a refusal naming the amount typed (1.8 × 10^19 units do not fit) and no cash", err, show)
	}
	if _, err := n.Funds(false, "BROKER01", "cash", "999999999999999"); err == nil || !strings.Contains(err.Error(), `"999999999999999"`) {
		t.Fatalf("deposit of 999999999999999 at cashUnit 0.000001: %v; want a refusal naming the amount typed", err)
	}
}

// TestHugeFIXPriceIsRejectedNotWrapped: the same conversion reads FIX
// prices. With AAPL's tickSize "0.00000001", Price 184467440737096 is
// 1.8 × 10^22 ticks; it wrapped to 48384000 ticks (0.48384), a fine
// price, and the buy rested there. It is Rejected, its Text naming the
// price the broker typed, and nothing rests: a sell at 0.48384 finds no
// buyer.
func TestHugeFIXPriceIsRejectedNotWrapped(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	cfg.Symbols[0].TickSize = "0.00000001"
	n := startCfg(t, cfg)
	defer n.Stop()
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	refused(t, b1, "buy at 184467440737096", "H1", "AAPL", "1", "1", "2", "184467440737096", "99", "Price 184467440737096")
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "0.48384", tag.TimeInForce, "3")
	expect(t, "sell at 0.48384", b2.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "0", tag.ClOrdID: "S1"})
	expect(t, "sell at 0.48384 finds no buyer", b2.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "C", tag.CumQty: "0"})
}
