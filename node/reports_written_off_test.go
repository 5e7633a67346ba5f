package node_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// TestPromotedNodeThatWroteReportsOffRestarts: the promotion of
// TestPromotionSaysWhichReportsAreGone (the anchor snapshot removed by
// hand) logs PROMOTION: REPORTS LOST for BROKER01 and, as
// docs/operations.md ("Reports that cannot be rebuilt") says, "serves
// on". Before BROKER01 logs on again, the operator restarts the new
// primary (a maintenance stop, or a crash).
// The operator and every broker expect the primary to start again, as it
// served before the stop: the lost reports were already written off,
// loudly, and nothing more was lost since. Before the fix, BROKER01's
// session store still held the mark the promotion gave it (below the
// lost commands), so the start tried the same rebuild again, failed, and
// refused to start: the venue stayed down until someone found the
// removed files. Now the write-off is recorded in the marks
// (gateway.WriteOff).
func TestPromotedNodeThatWroteReportsOffRestarts(t *testing.T) {
	a := caughtUpBySnapshotPastAMark(t)
	js := filepath.Join(a.cfgS.DataDir, "journal")
	if err := os.Remove(filepath.Join(js, fmt.Sprintf("snap-%020d.snap", a.anchor))); err != nil {
		t.Fatal(err)
	}
	failOver(t, a.p, a.s)
	waitUntil(t, "the promotion says BROKER01's reports are lost", func() bool {
		return a.logS.has("PROMOTION: REPORTS LOST", "BROKER01 (after seq ")
	})
	waitUntil(t, "the promotion has rebuilt what it could", func() bool {
		return a.logS.has("PROMOTION: reports rebuilt from the journal") || a.logS.has("reports could not be rebuilt")
	})
	if err := a.s.Stop(); err != nil {
		t.Fatal(err)
	}
	single := a.cfgS
	single.Replication = config.Default().Replication
	n, err := node.Start(single, node.Options{Log: a.logS.Tee(t, "S2").Logger()})
	if err != nil {
		t.Fatalf("the new primary, which served on after writing BROKER01's old reports off, does not start again: %v", err)
	}
	defer n.Stop()
	b1 := fixtest.Dial(t, single.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Close()
}
