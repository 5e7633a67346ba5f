package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// A journal written with risk.mode none whose first checkpoint comes
// before its first order: verify under risk.mode spot reports the
// checkpoint's hash mismatch naming risk.mode (node.RiskModeMismatch), as
// a node's start does, not as a bare hash mismatch.
func TestVerifyNamesRiskModeAtACheckpointHash(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Risk = config.Risk{}
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discardEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // cancels of no order
		id, _ := matcher.MakeClOrdID("c" + string(rune('1'+i)))
		c := matcher.Command{Kind: matcher.KindCancel, Account: 1, Symbol: 1, Side: matcher.Buy, ClOrdID: id, OrigClOrdID: id}
		if err := n.Submit(&c); err != nil {
			t.Fatal(err)
		}
	}
	// The checkpointer polls every 100ms: wait (bounded) for the first
	// checkpoint's hash record, before the first order.
	deadline := time.Now().Add(20 * time.Second)
	for !hasCheckpointHash(t, cfg.DataDir+"/journal") {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint hash journaled in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 4 {
		id, _ := matcher.MakeClOrdID("o" + string(rune('1'+i)))
		c := matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC,
			Price: 100, Qty: 1, ClOrdID: id}
		if err := n.Submit(&c); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	spot := cfg
	spot.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	v, err := VenueOf(spot)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
	if err != nil {
		t.Fatal(err)
	}
	var hashProblem string
	for _, p := range rep.Problems {
		if strings.Contains(p.Error(), "state hash at checkpoint") {
			hashProblem = p.Error()
			break
		}
	}
	if hashProblem == "" {
		t.Fatalf("verify under risk.mode spot of a mode none journal: problems %v; want a checkpoint hash mismatch", rep.Problems)
	}
	if !strings.Contains(hashProblem, "risk.mode") {
		t.Fatalf("checkpoint hash problem %q; want it to name risk.mode", hashProblem)
	}
}

// hasCheckpointHash reports whether the journal in dir holds a checkpoint
// hash record yet.
func hasCheckpointHash(t *testing.T, dir string) bool {
	t.Helper()
	var cmd matcher.Command
	found := false
	err := journal.Read(dir, 1, func(seq int64, rec []byte) error {
		if err := cmd.DecodeAt(rec, seq); err != nil {
			return err
		}
		found = found || cmd.Kind == matcher.KindCheckpointHash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
