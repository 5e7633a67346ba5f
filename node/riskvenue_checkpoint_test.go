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

// A venue runs with risk.mode none and takes checkpoints
// (snapshot.everyCommands 2: the first one lands right after the start's
// account bindings, before any order); BROKER01's GTC buy is accepted.
// The operator restarts it with risk.mode spot. The start is refused
// naming risk.mode and what to do, as for the same journal without a
// checkpoint (TestRiskModeTurnedOnReplaysHistoryDifferently), not as a
// bare state hash mismatch at the first checkpoint, which venueGuard
// (node/riskvenue.go) meets before the first order: the replay explains
// the mismatch with RiskModeMismatch.
func TestRiskModeTurnedOnAfterACheckpoint(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk = config.Risk{}
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	rests(t, b1, "GTC buy with no risk stage", "G1", "AAPL", "1", "5", "10.00")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	spot := spotVenue(dir, addr)
	spot.Snapshot = cfg.Snapshot
	n, err := node.Start(spot, node.Options{Log: logtest.New(t)})
	if err == nil {
		n.Stop()
		t.Fatal("restart with risk.mode spot on a journal written with mode none started; want it refused naming risk.mode")
	}
	if !strings.Contains(err.Error(), "risk.mode") {
		t.Fatalf("restart with risk.mode spot on a journal written with mode none refused, not naming risk.mode: %v", err)
	}
}
