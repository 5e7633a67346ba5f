package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// The venue's fee account over FIX: under risk.feeBps 100, BROKER02 sells
// 10 AAPL at 100.00 to BROKER01, and each side pays 10.00 into the fee
// account. `account show @fees` shows its 20.00 of cash; the operator
// withdraws 15.00 of it (20.01 is more than it holds, and it takes no
// deposit, no inventory and no block); a restart replays the same 5.00.
func TestFeeAccountShowAndWithdraw(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Limits, cfg.Risk.Accounts, cfg.Risk.FeeBps = config.RiskLimits{}, nil, 100
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "BROKER01", "cash", "1010")
	mustFunds(t, n, false, "BROKER02", "AAPL", "10")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	rests(t, b2, "GTC sell of 10 at 100.00", "S1", "AAPL", "2", "10", "100.00")
	rests(t, b1, "GTC buy of 10 at 100.00", "B1", "AAPL", "1", "10", "100.00")
	wantShow(t, n, config.FeeAccount, "openOrders 0 cash 20.00 held 0.00")
	wantShow(t, n, "BROKER01", "cash 0.00 held 0.00 AAPL 10 held 0")
	b1.Close()
	b2.Close()

	for _, bad := range []struct {
		withdraw      bool
		asset, amount string
		want          string
	}{
		{true, "cash", "20.01", "more than is free"},
		{false, "cash", "1", "cash withdrawals only"},
		{true, "AAPL", "1", "cash withdrawals only"},
	} {
		if _, err := n.Funds(bad.withdraw, config.FeeAccount, bad.asset, bad.amount); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("funds (withdraw %v) %s %s of %s: %v; want a refusal saying %q", bad.withdraw, bad.asset, bad.amount, config.FeeAccount, err, bad.want)
		}
	}
	if _, err := n.Block(config.FeeAccount, false); err == nil {
		t.Errorf("block %s: no error; the fee account is no trading account", config.FeeAccount)
	}
	mustFunds(t, n, true, config.FeeAccount, "cash", "15")
	wantShow(t, n, config.FeeAccount, "cash 5.00 held 0.00")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n = startCfg(t, cfg)
	defer n.Stop()
	wantShow(t, n, config.FeeAccount, "cash 5.00 held 0.00")
}
