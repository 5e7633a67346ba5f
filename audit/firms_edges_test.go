package audit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestVerifyFirmJournal: a journal written by a node with firms (named
// accounts that orders name as Owner, STP groups, per-order and per-replace
// STP modes, a firm with scope firm, kill switches of a firm and of an
// account) verifies: every checkpoint hash and every snapshot (version 4,
// with its owners section) recomputed and equal by replaying it.
func TestVerifyFirmJournal(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t) // the gateway binds the named accounts
	cfg.Snapshot = config.Snapshot{EveryCommands: 1 << 40}
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01", Limits: config.RiskLimits{MaxOpenOrders: 6}}
	decrement, cancelOldest := config.STPDecrement, config.STPCancelOldest
	cfg.Firms = []config.Firm{
		{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}, Accounts: []string{"ACC-A", "ACC-B"}, STP: &decrement, STPScope: config.STPScopeFirm},
		{Name: "F2", Sessions: []string{"BROKER03"}, Accounts: []string{"ACC-C"}, STP: &cancelOldest},
	}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[uint32][]uint32{1: {0, 1024, 1025}, 2: {0, 1024, 1025}, 3: {0, 1026}, 4: {0}}
	r := rand.New(rand.NewPCG(18, 19))
	var placed []matcher.Command
	for i := range 3000 {
		var c matcher.Command
		switch {
		case i%600 == 299:
			c = matcher.Command{Kind: matcher.KindCheckpoint}
		case i == 1200:
			if _, err := n.Block("F1", false); err != nil {
				t.Fatal(err)
			}
			continue
		case i == 1500:
			if _, err := n.Block("F1", true); err != nil {
				t.Fatal(err)
			}
			continue
		case i == 2100:
			if _, err := n.Block("ACC-C", false); err != nil {
				t.Fatal(err)
			}
			continue
		case r.IntN(100) < 12:
			a := []uint32{1, 2, 3, 4, 1024, 1025, 1026}[r.IntN(7)]
			c, _ = matcher.Funds{Account: a, Amount: 1 + r.Int64N(3000)}.Command()
			if r.IntN(2) == 0 {
				c, _ = matcher.Funds{Account: a, Symbol: 1 + uint32(r.IntN(2)), Amount: 1 + r.Int64N(30)}.Command()
			}
		case len(placed) > 0 && r.IntN(100) < 15:
			o := placed[r.IntN(len(placed))]
			c = matcher.Command{Kind: matcher.KindReplace, Account: o.Account, Owner: o.Owner, Symbol: o.Symbol, Side: o.Side,
				Type: matcher.Limit, Qty: 1 + r.Int64N(10), Price: 95 + r.Int64N(10), OrigClOrdID: o.ClOrdID, STP: uint8(r.IntN(6))}
			c.ClOrdID, _ = matcher.MakeClOrdID(fmt.Sprintf("r%d", i))
		default:
			a := 1 + uint32(r.IntN(4))
			c = matcher.Command{Kind: matcher.KindNew, Account: a, Owner: owners[a][r.IntN(len(owners[a]))], Symbol: 1 + uint32(r.IntN(2)),
				Side: matcher.Side(1 + r.IntN(2)), Type: matcher.Limit, TIF: matcher.GTC, Qty: 1 + r.Int64N(10), Price: 95 + r.Int64N(10),
				STPGroup: uint32(r.IntN(3)), STP: uint8(r.IntN(6))}
			c.ClOrdID, _ = matcher.MakeClOrdID(fmt.Sprintf("n%d", i))
			placed = append(placed, c)
		}
		if err := n.Submit(&c); err != nil {
			t.Fatal(err)
		}
		if c.Kind == matcher.KindCheckpoint {
			waitPublished(t, n)
		}
	}
	rep := stopAndVerify(t, n, cfg)
	if !rep.OK() || rep.Checkpoints < 5 || rep.CheckpointsOK != rep.Checkpoints || rep.SnapshotsOK != rep.Snapshots || rep.Snapshots < 3 {
		t.Fatalf("verify of a firm journal: ok %v, checkpoints %d (%d equal), snapshots %d (%d equal), problems %v, kinds %v",
			rep.OK(), rep.Checkpoints, rep.CheckpointsOK, rep.Snapshots, rep.SnapshotsOK, rep.Problems, rep.Kinds)
	}
	t.Logf("kinds %v", rep.Kinds)
}
