package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// Review (issue 19, limits): docs/config.md says of
// risk.limits.maxOrderNotional "a market order counts at its symbol's
// protection price (none: not limited)". AAPL has a protection price of
// 200.00 and the limit is 10 000.00, so a market order of 100 lots
// (20 000.00) is over it on either side. A broker (and the risk officer who
// set the limit) expects both to be Rejected with OrdRejReason 3 and a Text
// naming maxOrderNotional. The market buy is; the market sell is accepted
// and sent to the book: risk.State.checkNew (risk/check.go) writes the
// protection price only into a market buy's price, so a market sell's
// notional is computed at price 0 and passes any notional limit.
func TestReviewMarketSellOverNotionalAtProtectionPrice(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	defer n.Stop()
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()

	refused(t, b1, "market buy of 100 at protection 200.00 = 20 000.00", "MB", "AAPL", "1", "100", "1", "", "3", "maxOrderNotional")
	refused(t, b1, "market sell of 100 at protection 200.00 = 20 000.00", "MS", "AAPL", "2", "100", "1", "", "3", "maxOrderNotional")
}
