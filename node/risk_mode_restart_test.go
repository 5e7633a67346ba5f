package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestRiskModeTurnedOnReplaysHistoryDifferently: a venue runs with
// risk.mode "none"; BROKER01's GTC buy is accepted and rests (the broker
// has its ExecutionReport New). The venue then turns risk.mode to "spot"
// and restarts, before any checkpoint. Replayed through the new risk
// stage, the accepted buy would be refused for want of cash and vanish
// from the book with no report to the broker; instead the journal's risk
// venue record (mode "none", journaled before FIX opened) stops the
// replay, and the start is refused naming risk.mode. (The test also
// accepts a start that keeps the order working.)
func TestRiskModeTurnedOnReplaysHistoryDifferently(t *testing.T) {
	n, err := restartNoneAsSpot(t, config.Snapshot{})
	if err != nil {
		if !strings.Contains(err.Error(), "mode") {
			t.Fatalf("restart with risk.mode spot refused, not naming the mode: %v", err)
		}
		return
	}
	defer n.Stop()
	show, err := n.AccountShow("BROKER01")
	if err != nil || !strings.Contains(show, "openOrders 1 ") {
		t.Fatalf("after turning risk.mode none -> spot, account show BROKER01 = %q, %v; want its accepted GTC buy still working "+
			"(openOrders 1), or a refused start", show, err)
	}
}

// restartNoneAsSpot runs a venue with risk.mode none and snapshot, where
// BROKER01's GTC buy is accepted and rests, stops it, and starts it again
// with risk.mode spot: what that start gives.
func restartNoneAsSpot(t *testing.T, snapshot config.Snapshot) (*node.Node, error) {
	t.Helper()
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk = config.Risk{}
	cfg.Snapshot = snapshot
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	rests(t, b1, "GTC buy with no risk stage", "G1", "AAPL", "1", "5", "10.00")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	spot := spotVenue(dir, addr)
	spot.Snapshot = snapshot
	return node.Start(spot, node.Options{Log: logtest.New(t)})
}
