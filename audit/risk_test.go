package audit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

type discardEvents struct{}

func (discardEvents) Publish(*matcher.Event) {}

// TestVerifyRiskJournal: a journal written by a node with risk mode spot
// (tight balances, so the risk stage refuses many orders) verifies: every
// checkpoint hash, which covers the risk state, and every snapshot, which
// holds it, recomputed and equal by replaying check, match and settle.
// Replayed as a venue without risk, the same journal does not verify.
func TestVerifyRiskJournal(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Snapshot = config.Snapshot{EveryCommands: 1 << 40} // checkpoints only where the test submits them
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01", Limits: config.RiskLimits{MaxOpenOrders: 4}}
	n, err := node.Start(cfg, node.Options{Logf: t.Logf, Publisher: discardEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		c := riskTestCommand(r, i)
		if i%500 == 249 {
			c = matcher.Command{Kind: matcher.KindCheckpoint}
		}
		if err := n.Submit(&c); err != nil {
			t.Fatal(err)
		}
		if i%500 == 249 {
			// Funds returns once the publish stage has passed it: the
			// checkpoint is taken, and its hash record follows.
			if _, err := n.Funds(false, "BROKER01", "cash", "0.01"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := n.Funds(false, "BROKER01", "cash", "0.01"); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	v, err := VenueOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checkpoints != 4 || rep.CheckpointsOK < 3 || rep.SnapshotsOK < 3 {
		t.Fatalf("verify of a risk journal: ok %v, checkpoints %d (%d equal), snapshots %d (%d equal), problems %v, kinds %v",
			rep.OK(), rep.Checkpoints, rep.CheckpointsOK, rep.Snapshots, rep.SnapshotsOK, rep.Problems, rep.Kinds)
	}
	none := cfg
	none.Risk = config.Risk{}
	vn, _ := VenueOf(none)
	if rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: vn}); err == nil && rep.OK() {
		t.Fatal("the risk journal verified as a venue without risk")
	}
}

func riskTestCommand(r *rand.Rand, i int) matcher.Command {
	a := 1 + uint32(r.IntN(4))
	sym := 1 + uint32(r.IntN(2))
	switch p := r.IntN(100); {
	case p < 6:
		c, _ := matcher.Funds{Account: a, Amount: 1 + r.Int64N(3000)}.Command()
		return c
	case p < 10:
		c, _ := matcher.Funds{Account: a, Symbol: sym, Amount: 1 + r.Int64N(30)}.Command()
		return c
	case p < 13:
		c, _ := matcher.Funds{Withdraw: true, Account: a, Amount: 1 + r.Int64N(1000)}.Command()
		return c
	case p < 18:
		return matcher.MassCancel{Account: a, Symbol: sym, Scope: matcher.ScopeAllOrders}.Command()
	}
	c := matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: sym, Side: matcher.Side(1 + r.IntN(2)),
		Type: matcher.Limit, TIF: matcher.GTC, Qty: 1 + r.Int64N(10), Price: 95 + r.Int64N(10)}
	c.ClOrdID, _ = matcher.MakeClOrdID(fmt.Sprintf("r%d", i))
	return c
}
