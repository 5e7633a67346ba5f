package node_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
)

// segmentFirsts lists the first seqs of the hot segments in a journal
// folder (journal's documented names, <first seq, 20 digits>.seg).
func segmentFirsts(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			names = append(names, strings.TrimSuffix(e.Name(), ".seg"))
		}
	}
	return names // ReadDir sorts by name: by first seq
}

func seqOfName(t *testing.T, name string) int64 {
	t.Helper()
	var seq int64
	if _, err := fmt.Sscan(strings.TrimLeft(name, "0"), &seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

// statusOf asks a node for the state of an order trade submitted.
func statusOf(t *testing.T, n *node.Node, out *sink, prefix string, i int) matcher.Event {
	t.Helper()
	id := fmt.Sprintf("%s%d", prefix, i)
	o := order(uint32(1+i%3), id, matcher.Buy, 0, 0)
	cmd := &matcher.Command{Kind: matcher.KindStatus, Symbol: o.Symbol, Account: o.Account, OrigClOrdID: o.ClOrdID}
	if err := n.Submit(cmd); err != nil {
		t.Fatal(err)
	}
	var ev matcher.Event
	waitUntil(t, "the status of "+id, func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		for _, e := range out.evs {
			if e.Type == matcher.EvStatus && (e.ClOrdID == o.ClOrdID || e.OrigClOrdID == o.ClOrdID) {
				ev = e
				return true
			}
		}
		return false
	})
	return ev
}

// standbyAway is a primary whose journal no longer reaches back to where its
// standby stopped (behindAt): the journal begins at first.
type standbyAway struct {
	dirP, dirS, jp, js, addr string
	p                        *node.Node
	logP                     logLines
	behindAt, first          int64
	cfgOf                    func(dir, role, primary string) config.Config
}

// awayWhileTheJournalMovesOn: a standby follows, then is away while the
// primary journals three segments' worth and checkpoints; an operator
// removes the primary's older segments, hot and archived, and the primary
// is restarted, so that its window of recent records is empty: what the
// standby lacks can come only from the journal or a snapshot.
func awayWhileTheJournalMovesOn(t *testing.T) *standbyAway {
	a := &standbyAway{dirP: t.TempDir(), dirS: t.TempDir()}
	a.jp, a.js = filepath.Join(a.dirP, "journal"), filepath.Join(a.dirS, "journal")
	a.cfgOf = func(dir, role, primary string) config.Config {
		c := replCfg(dir, role, primary)
		c.Replication.Mode = config.ModeAsync
		c.Replication.RefusedRetryMaxMs = 200
		c.Journal.SegmentMiB = 1
		c.Journal.Archive = true
		return c
	}
	var logS logLines
	p, _ := startRepl(t, a.cfgOf(a.dirP, "primary", ""), &a.logP)
	a.addr = p.ReplicationAddr().String()
	s, _ := startRepl(t, a.cfgOf(a.dirS, "standby", a.addr), &logS)
	trade(t, p, "A", 60)
	waitUntil(t, "standby has A", func() bool { return lastSeq(p) >= 60 && lastSeq(s) == lastSeq(p) })
	s.Stop()
	// Where the standby's own journal ends: the primary's checkpointer may
	// have journaled more since the wait saw the two agree.
	var err error
	if a.behindAt, err = journalLast(a.js); err != nil {
		t.Fatal(err)
	}

	const countB = 25000 // over two 1 MiB segments of commands
	trade(t, p, "B", countB)
	var segs []string
	waitUntil(t, "three segments, the older archived, and a snapshot in the newest", func() bool {
		segs = segmentFirsts(t, a.jp)
		if len(segs) < 3 {
			return false
		}
		for _, name := range segs[:len(segs)-1] {
			if _, err := os.Stat(filepath.Join(a.jp, journal.ArchiveDirName, name+".seg.zst")); err != nil {
				return false
			}
		}
		seq, _, _, ok, _ := journal.LatestSnapshot(a.jp)
		return ok && seq >= seqOfName(t, segs[len(segs)-1])
	})
	for _, name := range segs[:len(segs)-1] {
		for _, path := range []string{filepath.Join(a.jp, name+".seg"), filepath.Join(a.jp, journal.ArchiveDirName, name+".seg.zst")} {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.first = seqOfName(t, segs[len(segs)-1])
	if a.first <= a.behindAt+1 {
		t.Fatalf("the primary's journal begins at %d, not after the standby's %d", a.first, a.behindAt)
	}
	p.Stop()
	return a
}

// restartPrimary starts the primary again on the replication port its
// standby knows.
func (a *standbyAway) restartPrimary(t *testing.T) {
	cfg := a.cfgOf(a.dirP, "primary", "")
	cfg.Replication.Listen = a.addr
	a.p, _ = startRepl(t, cfg, &a.logP)
}

// snapshotSent waits for the standby s to stop with the primary's snapshot
// and installs it, as 'ringex serve' does.
func (a *standbyAway) snapshotSent(t *testing.T, s *node.Node) *replica.BehindError {
	select {
	case <-s.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the standby behind the primary's journal was not sent a snapshot")
	}
	var behind *replica.BehindError
	if !errors.As(s.FailErr(), &behind) || behind.Last != a.behindAt || behind.Seq < a.first-1 {
		t.Fatalf("standby stopped with %v; want BehindError from %d with a snapshot at or after %d", s.FailErr(), a.behindAt, a.first-1)
	}
	s.Stop()
	aside, err := replica.InstallSnapshot(a.js, behind, logtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if last, err := journalLast(aside); err != nil || last != a.behindAt {
		t.Fatalf("the old journal set aside in %s ends at %d (%v), want %d", aside, last, err, a.behindAt)
	}
	return behind
}

// TestStandbyBehindThePrimarysJournalCatchesUpFromASnapshot: a standby
// comes back behind what the primary's journal holds (awayWhileTheJournal-
// MovesOn): it is sent the primary's snapshot, installs it (its old journal
// set aside, as 'ringex serve' does), starts again from it, gets the
// records after it, and proves at the primary's next checkpoint that it
// reached the same state. Promoted, it knows an order acknowledged while
// it was away and one acknowledged after it came back.
func TestStandbyBehindThePrimarysJournalCatchesUpFromASnapshot(t *testing.T) {
	a := awayWhileTheJournalMovesOn(t)
	a.restartPrimary(t)
	var logS logLines
	s, _ := startRepl(t, a.cfgOf(a.dirS, "standby", a.addr), &logS)
	behind := a.snapshotSent(t, s)

	var logS2 logLines
	s, outS := startRepl(t, a.cfgOf(a.dirS, "standby", a.addr), &logS2)
	if !logS2.has("restored snapshot", fmt.Sprintf(" seq=%d ", behind.Seq)) {
		t.Fatal("the restarted standby did not restore the installed snapshot")
	}
	trade(t, a.p, "C", 100)
	if !a.logP.has("sending the snapshot", fmt.Sprintf(" snapshot_seq=%d ", behind.Seq)) {
		t.Fatal("the primary did not say it sent the snapshot")
	}
	waitUntil(t, "the standby verifies a checkpoint of the primary's after the snapshot", func() bool {
		return logS2.has("standby verified the state hash") && lastSeq(s) == lastSeq(a.p)
	})
	if a.logP.has("REFUSING") {
		t.Fatal("the primary refused the standby")
	}
	a.p.Stop()
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		prefix string
		i      int
	}{{"B", 25000 - 3}, {"C", 97}} {
		ev := statusOf(t, s, outS, o.prefix, o.i)
		if ev.Reason == matcher.ReasonUnknownOrder {
			t.Fatalf("the promoted standby does not know order %s%d", o.prefix, o.i)
		}
	}
	s.Stop()
}

// TestRefusedStandbyCatchesUpAfterThePrimarysNextCheckpoint: the same
// standby comes back, but the primary has no snapshot to send it (removed
// once the primary had restored from it). It is refused, and does not
// stop: it asks again and again, logging each refusal and its reason,
// until the primary's next checkpoint gives it a snapshot; installed, it
// follows and proves it reached the primary's state.
func TestRefusedStandbyCatchesUpAfterThePrimarysNextCheckpoint(t *testing.T) {
	a := awayWhileTheJournalMovesOn(t)
	a.restartPrimary(t)
	snaps, err := filepath.Glob(filepath.Join(a.jp, "snap-*.snap"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no snapshots to remove (%v)", err)
	}
	for _, path := range snaps {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	var logS logLines
	s, _ := startRepl(t, a.cfgOf(a.dirS, "standby", a.addr), &logS)
	waitUntil(t, "the standby refused three times, told there is no snapshot", func() bool {
		return logS.count("REFUSED by the primary") >= 3 && logS.count("no valid snapshot") >= 3
	})
	select {
	case <-s.Done():
		t.Fatalf("the refused standby stopped: %v", s.FailErr())
	default:
	}

	trade(t, a.p, "D", 100) // over snapshot.everyCommands: the primary checkpoints
	behind := a.snapshotSent(t, s)
	var logS2 logLines
	s, _ = startRepl(t, a.cfgOf(a.dirS, "standby", a.addr), &logS2)
	trade(t, a.p, "E", 100)
	waitUntil(t, "the standby verifies a checkpoint of the primary's after the snapshot", func() bool {
		return logS2.has("standby verified the state hash") && lastSeq(s) == lastSeq(a.p)
	})
	if !logS2.has("restored snapshot", fmt.Sprintf(" seq=%d ", behind.Seq)) {
		t.Fatal("the restarted standby did not restore the installed snapshot")
	}
	s.Stop()
	a.p.Stop()
}

func journalLast(dir string) (int64, error) {
	last := int64(0)
	err := journal.Read(dir, 1, func(seq int64, _ []byte) error { last = seq; return nil })
	return last, err
}
