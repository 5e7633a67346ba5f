package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
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
	n, err := restartNoneAsSpot(t, config.Snapshot{EveryCommands: 2})
	if err == nil {
		n.Stop()
		t.Fatal("restart with risk.mode spot on a journal written with mode none started; want it refused naming risk.mode")
	}
	if !strings.Contains(err.Error(), "risk.mode") {
		t.Fatalf("restart with risk.mode spot on a journal written with mode none refused, not naming risk.mode: %v", err)
	}
}
