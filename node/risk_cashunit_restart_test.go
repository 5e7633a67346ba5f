package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestCashUnitChangedAcrossARestart: balances, holds and maxOrderNotional
// are whole numbers of risk.cashUnit, and the journal keeps them as those
// integers (deposit records, the risk snapshot). A broker deposits
// 1000.00 on a venue with cashUnit "0.01"; the operator restarts it with
// cashUnit "0.001" (a finer unit, which the config check accepts). The
// journal's risk venue record (matcher.KindRiskVenue, journaled before FIX
// opened) says the unit it was written with, so the start is refused,
// naming risk.cashUnit, rather than reading the deposit of 100000 units
// of 0.01 as 100.000. (The test also accepts a start that keeps the
// broker's 1000.00, a rescaling ringex does not do.)
func TestCashUnitChangedAcrossARestart(t *testing.T) {
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
