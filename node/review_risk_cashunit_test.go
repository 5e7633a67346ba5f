package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestReviewCashUnitChangedAcrossARestart: balances, holds and
// maxOrderNotional are whole numbers of risk.cashUnit, and the journal
// keeps them as those integers (deposit records, the risk snapshot). A
// broker deposits 1000.00 on a venue with cashUnit "0.01"; the operator
// restarts it with cashUnit "0.001" (a finer unit, which the config check
// accepts). A venue should either refuse the start, naming
// risk.cashUnit, as it refuses a journal replayed with another risk mode
// or one that lost a firm account, or keep the broker's 1000.00.
//
// ringex starts and reinterprets every balance in the new unit: the
// deposit of 100000 units of 0.01 is now 100.000, a tenth of the money,
// and every symbol's cash per tick and lot (riskConfig in node/risk.go,
// computed from the config at each start) changes with it. Neither the
// unit nor CashPerTickLot is journaled (the rules records carry limits,
// protection prices and the fee only) nor in the risk snapshot or its
// hash (risk/snapshot.go), so nothing notices.
func TestReviewCashUnitChangedAcrossARestart(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, spotVenue(dir, addr))
	mustFunds(t, n, false, "BROKER01", "cash", "1000.00")
	wantShow(t, n, "BROKER01", "cash 1000.00 held 0.00")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg := spotVenue(dir, addr)
	cfg.Risk.CashUnit = "0.001"
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		if !strings.Contains(err.Error(), "cashUnit") {
			t.Fatalf("restart with another risk.cashUnit refused, but not naming it: %v", err)
		}
		return
	}
	defer n.Stop()
	show, err := n.AccountShow("BROKER01")
	if err != nil || !strings.Contains(show, "cash 1000.000 ") {
		t.Fatalf("after a restart with risk.cashUnit 0.01 -> 0.001, account show BROKER01 = %q, %v; want its 1000.00 as 1000.000 (or a refused start)", show, err)
	}
}
