package node_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
)

// snapshotCaughtUp is a pair whose standby was caught up by a snapshot
// while BROKER01's fill waited, undelivered, for BROKER01 to come back.
type snapshotCaughtUp struct {
	cfgP, cfgS config.Config
	p, s       *node.Node
	logS       *logLines
	sellSeq    int64 // the command of BROKER01's undelivered fill
	anchor     int64 // the snapshot the standby was sent
}

// caughtUpBySnapshotPastAMark: a standby follows, then is away while the
// primary journals three 1 MiB segments (orders of account 3, which no
// session has) and checkpoints. BROKER01 then rests a GTC buy and leaves;
// BROKER02's sell fills it, and the fill waits in BROKER01's session
// store. A checkpoint follows, so the primary's newest snapshot is past
// BROKER01's delivery mark. An operator removes the primary's older
// segments, hot and archived, and restarts it. The standby comes back:
// the primary's journal no longer holds its next seq, so it is sent a
// snapshot, installs it (as 'ringex serve' does), and follows. It then
// restarts once more, so that its buffer of recent events begins after
// the fill: promoted, it can resend the fill only by rebuilding it from
// its own journal.
func caughtUpBySnapshotPastAMark(t *testing.T) *snapshotCaughtUp {
	dirP, dirS := t.TempDir(), t.TempDir()
	jp, js := filepath.Join(dirP, "journal"), filepath.Join(dirS, "journal")
	cfgOf := func(dir, role, primary string) config.Config {
		c := replCfg(dir, role, primary)
		c.Replication.Mode = config.ModeAsync
		c.Replication.RefusedRetryMaxMs = 200
		c.Journal.SegmentMiB = 1
		c.Journal.Archive = true
		c.FIX.Listen = fixtest.FreeAddr(t)
		c.FIX.Sessions = c.FIX.Sessions[:2]
		return c
	}
	a := &snapshotCaughtUp{logS: &logLines{}}
	var logP logLines
	a.cfgP = cfgOf(dirP, "primary", "")
	a.p = startFIXNode(t, a.cfgP, &logP, "P")
	a.cfgP.Replication.Listen = a.p.ReplicationAddr().String()
	a.cfgS = cfgOf(dirS, "standby", a.cfgP.Replication.Listen)
	s := startFIXNode(t, a.cfgS, a.logS, "S")
	unowned(t, a.p, "A", 60)
	waitUntil(t, "the standby has A", func() bool { return lastSeq(a.p) >= 60 && lastSeq(s) == lastSeq(a.p) })
	s.Stop()

	unowned(t, a.p, "B", 25000) // over two 1 MiB segments of commands
	var segs []string
	waitUntil(t, "three segments, the older archived, and a snapshot in the newest", func() bool {
		segs = segmentFirsts(t, jp)
		if len(segs) < 3 {
			return false
		}
		for _, name := range segs[:len(segs)-1] {
			if _, err := os.Stat(filepath.Join(jp, journal.ArchiveDirName, name+".seg.zst")); err != nil {
				return false
			}
		}
		seq, _, _, ok, _ := journal.LatestSnapshot(jp)
		return ok && seq >= seqOfName(t, segs[len(segs)-1])
	})
	a.sellSeq = fillWhileAway(t, a.p, a.cfgP.FIX.Listen)
	unowned(t, a.p, "C", 45) // over snapshot.everyCommands: a checkpoint after the fill
	waitUntil(t, "a snapshot after the fill", func() bool {
		seq, _, _, ok, _ := journal.LatestSnapshot(jp)
		return ok && seq > a.sellSeq
	})
	for _, name := range segs[:len(segs)-1] {
		for _, path := range []string{filepath.Join(jp, name+".seg"), filepath.Join(jp, journal.ArchiveDirName, name+".seg.zst")} {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.p.Stop()
	a.p = startFIXNode(t, a.cfgP, &logP, "P")

	s = startFIXNode(t, a.cfgS, a.logS, "S")
	select {
	case <-s.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the standby behind the primary's journal was not sent a snapshot")
	}
	var behind *replica.BehindError
	if !errors.As(s.FailErr(), &behind) {
		t.Fatalf("standby stopped with %v; want a BehindError", s.FailErr())
	}
	s.Stop()
	if _, err := replica.InstallSnapshot(js, behind, logtest.New(t)); err != nil {
		t.Fatal(err)
	}
	a.anchor = behind.Seq
	s = startFIXNode(t, a.cfgS, a.logS, "S")
	unowned(t, a.p, "D", 100) // the standby checkpoints past the snapshot it was sent
	waitUntil(t, "the standby has everything and a snapshot of its own past the one it was sent", func() bool {
		seq, _, _, ok, _ := journal.LatestSnapshot(js)
		return lastSeq(s) == lastSeq(a.p) && ok && seq > a.anchor
	})
	s.Stop()
	a.s = startFIXNode(t, a.cfgS, a.logS, "S")
	waitUntil(t, "the restarted standby hears BROKER01's mark, below the fill", func() bool {
		st, _ := a.s.ReplicationStats()
		return lastSeq(a.s) == lastSeq(a.p) && st.PrimaryPublished >= lastSeq(a.p) && len(st.PrimaryDelivered) > 1 &&
			st.PrimaryDelivered[1] > 0 && st.PrimaryDelivered[1]/matcher.ExecIDStride < a.sellSeq
	})
	return a
}

// startFIXNode starts a node that serves FIX (or will, once promoted),
// stopped at the end of the test.
func startFIXNode(t *testing.T, cfg config.Config, logs *logLines, name string) *node.Node {
	t.Helper()
	n, err := node.Start(cfg, node.Options{Log: logs.Tee(t, name).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	return n
}

// unowned submits count orders of account 3, which no session has, half
// of which cross.
func unowned(t *testing.T, n *node.Node, prefix string, count int) {
	t.Helper()
	for i := range count {
		side := matcher.Buy
		if i%2 == 1 {
			side = matcher.Sell
		}
		if err := n.Submit(order(3, fmt.Sprintf("%s%d", prefix, i), side, int64(100+i%5), int64(1+i%7))); err != nil {
			t.Fatal(err)
		}
	}
}

// fillWhileAway: BROKER01 rests a GTC buy on p and leaves once p's mark
// says its engine processed the New; BROKER02's sell fills it, and p's
// mark says BROKER02's engine processed both its reports. It returns the
// seq of the sell's command.
func fillWhileAway(t *testing.T, p *node.Node, listen string) int64 {
	b1 := fixtest.Dial(t, listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "GTC1", tag.HandlInst, "1", tag.Symbol, "IBM", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "1")
	waitConfirmed(t, p, 1, execSeq(t, expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "GTC1"})), 1)
	b1.Close()
	b2 := fixtest.Dial(t, listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b2.Send("D", tag.ClOrdID, "SELL1", tag.Symbol, "IBM", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "0")
	expect(t, "BROKER02's order", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "SELL1"})
	f := expect(t, "BROKER02's fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "SELL1"})
	sellSeq := execSeq(t, f)
	waitConfirmed(t, p, 2, sellSeq, 2) // its New and its fill
	return sellSeq
}

// TestPromotedStandbyCaughtUpBySnapshotRebuildsReports: a standby caught up
// by a snapshot while BROKER01's fill was undelivered
// (caughtUpBySnapshotPastAMark) is promoted; BROKER01 logs on to it and
// gets its fill, the old primary's message (same ExecID) with
// PossResend=Y, rebuilt from the standby's own journal. The primary sent
// a snapshot at or before BROKER01's delivery mark, not its newest, and
// the standby kept it through its own checkpoints.
func TestPromotedStandbyCaughtUpBySnapshotRebuildsReports(t *testing.T) {
	a := caughtUpBySnapshotPastAMark(t)
	if a.anchor >= a.sellSeq {
		t.Errorf("the standby was sent the snapshot at seq %d, after the fill's command %d: it cannot rebuild the fill", a.anchor, a.sellSeq)
	}
	failOver(t, a.p, a.s)
	b1 := fixtest.Dial(t, a.cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's fill after the failover: PossResend(97) %q, want Y", pr)
	}
	f := expect(t, "BROKER01's fill after the failover", m, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "GTC1", tag.LastQty: "10", tag.LastPx: "100.00",
	})
	if id, err := strconv.ParseInt(f[tag.ExecID], 10, 64); err != nil || id/matcher.ExecIDStride != a.sellSeq {
		t.Errorf("rebuilt fill: ExecID %q, want one of command %d's (the old primary's)", f[tag.ExecID], a.sellSeq)
	}
	b1.Quiet(300 * time.Millisecond)
	waitUntil(t, "the rebuild's log line", func() bool { return a.logS.has("PROMOTION: reports rebuilt from the journal") })
	if !a.logS.has("PROMOTION: reports rebuilt from the journal", fmt.Sprintf(`replayed_from="the snapshot at seq %d"`, a.anchor)) {
		t.Errorf("the rebuild did not start from the snapshot the standby was sent (seq %d)", a.anchor)
	}
	if a.logS.has("REPORTS LOST") {
		t.Error("the promotion says reports were lost")
	}
}

// TestPromotionSaysWhichReportsAreGone: the same, but an operator removed
// the snapshot the standby was sent: nothing this node holds can rebuild
// BROKER01's fill any more. The promotion says so, naming BROKER01 and the
// seqs, instead of leaving BROKER01 to miss it silently.
func TestPromotionSaysWhichReportsAreGone(t *testing.T) {
	a := caughtUpBySnapshotPastAMark(t)
	js := filepath.Join(a.cfgS.DataDir, "journal")
	if err := os.Remove(filepath.Join(js, fmt.Sprintf("snap-%020d.snap", a.anchor))); err != nil {
		t.Fatal(err)
	}
	failOver(t, a.p, a.s)
	b1 := fixtest.Dial(t, a.cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	waitUntil(t, "the promotion says BROKER01's reports are lost", func() bool {
		return a.logS.has("PROMOTION: REPORTS LOST", "BROKER01 (after seq ")
	})
}

// TestRestartedStandbyRebuildsReportsFromBeforeItsStart: a standby that
// restarts after BROKER01's fill was made (and never delivered) holds no
// event of the commands it replayed from its own journal: its buffer of
// recent events begins at its start. Promoted, it rebuilds the fill from
// its journal instead of taking the empty buffer for "nothing lost".
func TestRestartedStandbyRebuildsReportsFromBeforeItsStart(t *testing.T) {
	var logP, logS logLines
	cfgP := replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p := startFIXNode(t, cfgP, &logP, "P")
	cfgS := replCfg(t.TempDir(), "standby", p.ReplicationAddr().String())
	cfgS.FIX.Listen = fixtest.FreeAddr(t)
	s := startFIXNode(t, cfgS, &logS, "S")
	sellSeq := fillWhileAway(t, p, cfgP.FIX.Listen)
	waitUntil(t, "the standby has the fill", func() bool { return lastSeq(s) == lastSeq(p) && lastSeq(s) >= sellSeq })
	s.Stop()
	s = startFIXNode(t, cfgS, &logS, "S")
	waitUntil(t, "the restarted standby hears BROKER01's mark, below the fill", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(s) == lastSeq(p) && len(st.PrimaryDelivered) > 1 && st.PrimaryDelivered[1] > 0 &&
			st.PrimaryDelivered[1]/matcher.ExecIDStride < sellSeq
	})
	failOver(t, p, s)
	b1 := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's fill after the failover: PossResend(97) %q, want Y", pr)
	}
	f := expect(t, "BROKER01's fill after the failover", m, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.ClOrdID: "GTC1", tag.LastQty: "10",
	})
	if id, err := strconv.ParseInt(f[tag.ExecID], 10, 64); err != nil || id/matcher.ExecIDStride != sellSeq {
		t.Errorf("rebuilt fill: ExecID %q, want one of command %d's", f[tag.ExecID], sellSeq)
	}
	b1.Quiet(300 * time.Millisecond)
}
