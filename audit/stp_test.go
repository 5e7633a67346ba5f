package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// A journal whose match.stp changed between two runs (none, then
// cancelNewest: each journals its STP records) replays as it ran under
// any config: verify recomputes every checkpoint hash and snapshot equal,
// and the trail (`ringex replay`) shows BROKER01's S1 trading with its own
// B1 (the first run) and its S2 cancelled by self-trade prevention (the
// second), whether the config replaying says none, cancelNewest or
// decrement.
func TestReplayAfterAJournaledSTPChange(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Snapshot = config.Snapshot{EveryCommands: 3}
	snapSeq := int64(0)
	run := func(mode config.STP, tag string, px int64) {
		t.Helper()
		cfg.Match.STP = mode
		n, err := node.Start(cfg, node.Options{Log: logtest.Named(t, tag), Publisher: discardEvents{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			cl   string
			side matcher.Side
		}{{"B" + tag, matcher.Buy}, {"S" + tag, matcher.Sell}} {
			cmd := matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, Side: c.side, Type: matcher.Limit, TIF: matcher.GTC, Price: px, Qty: 10}
			cmd.ClOrdID, _ = matcher.MakeClOrdID(c.cl)
			if err := n.Submit(&cmd); err != nil {
				t.Fatal(err)
			}
		}
		// A checkpoint after the run's orders (the checkpointer looks every
		// 100 ms), so that verify checks a hash and a snapshot in each run.
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			last, _ := journal.LastSeq(cfg.DataDir + "/journal")
			if seq, _, _, ok, err := journal.LatestSnapshot(cfg.DataDir + "/journal"); err == nil && ok && seq > snapSeq && last >= seq+1 {
				snapSeq = seq
				break
			}
			if time.Now().After(end) {
				t.Fatalf("run %s: no checkpoint after seq %d within 20 s", tag, snapSeq)
			}
		}
		if err := n.Stop(); err != nil { // drains the ring
			t.Fatal(err)
		}
	}
	run(config.STPNone, "1", 10000)
	run(config.STPCancelNewest, "2", 9000)

	for _, mode := range []config.STP{config.STPNone, config.STPCancelNewest, config.STPDecrement} {
		c := cfg
		c.Match.STP = mode
		v, err := VenueOf(c)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
		if err != nil || !rep.OK() || rep.Checkpoints == 0 || rep.CheckpointsOK != rep.Checkpoints || rep.SnapshotsOK != rep.Snapshots {
			t.Fatalf("verify with match.stp %v: %v, problems %v, checkpoints %d of %d, snapshots %d of %d",
				mode, err, rep.Problems, rep.CheckpointsOK, rep.Checkpoints, rep.SnapshotsOK, rep.Snapshots)
		}
		var out bytes.Buffer
		if _, err := Trail(&out, TrailOptions{Dir: cfg.DataDir + "/journal", Venue: v}); err != nil {
			t.Fatal(err)
		}
		rows := func(cl, what string) int {
			k := 0
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.Contains(l, ","+cl+",") && strings.Contains(l, ","+what+",") {
					k++
				}
			}
			return k
		}
		if rows("S1", "fill") != 1 || rows("S1", "cancelled") != 0 || rows("S2", "fill") != 0 || rows("S2", "cancelled") != 1 {
			t.Fatalf("trail with match.stp %v: S1 fills %d cancels %d, S2 fills %d cancels %d; want S1 filled (none), S2 cancelled (cancelNewest)\n%s",
				mode, rows("S1", "fill"), rows("S1", "cancelled"), rows("S2", "fill"), rows("S2", "cancelled"), out.String())
		}
	}
}
