package node_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// sink collects published events.
type sink struct {
	mu  sync.Mutex
	evs []matcher.Event
}

func (s *sink) Publish(ev *matcher.Event) {
	s.mu.Lock()
	s.evs = append(s.evs, *ev)
	s.mu.Unlock()
}

func (s *sink) fills() []matcher.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []matcher.Event
	for _, ev := range s.evs {
		if ev.Type == matcher.EvFill {
			out = append(out, ev)
		}
	}
	return out
}

// logLines keeps a node's log records, one line each, for a test to read.
type logLines struct{ logtest.Lines }

// has says whether one line holds every one of words.
func (l *logLines) has(words ...string) bool  { return len(l.With(words...)) > 0 }
func (l *logLines) count(words ...string) int { return len(l.With(words...)) }

func order(account uint32, id string, side matcher.Side, px, qty int64) *matcher.Command {
	cl, _ := matcher.MakeClOrdID(id)
	return &matcher.Command{Kind: matcher.KindNew, Symbol: 1 + uint32(len(id))%3, Account: account,
		Side: side, Type: matcher.Limit, TIF: matcher.GTC, Price: px, Qty: qty, ClOrdID: cl}
}

// TestCheckpointRestoresAndVerifies: the node checkpoints on its own; a
// restart restores the snapshot, replays only what follows it, verifies the
// journaled state hash, and the books are as they were.
func TestCheckpointRestoresAndVerifies(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Snapshot = config.Snapshot{EveryCommands: 10}
	var out sink
	var log1 logLines
	n, err := node.Start(cfg, node.Options{Publisher: &out, Log: log1.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		// sells rest at 100+i ticks, never crossing one another
		if err := n.Submit(order(1, fmt.Sprintf("S%02d", i), matcher.Sell, int64(100+i), 10)); err != nil {
			t.Fatal(err)
		}
	}
	jdir := filepath.Join(dir, "journal")
	deadline := time.Now().Add(20 * time.Second)
	for !log1.has("checkpoint written") {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint within 20 s; log: %v", log1.All())
		}
		time.Sleep(20 * time.Millisecond)
	}
	seq, _, _, ok, err := journal.LatestSnapshot(jdir)
	if err != nil || !ok || seq < 10 {
		t.Fatalf("latest snapshot: seq %d ok %v err %v", seq, ok, err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	var out2 sink
	var log2 logLines
	n, err = node.Start(cfg, node.Options{Publisher: &out2, Log: log2.Logger()})
	if err != nil {
		t.Fatalf("restart: %v (log %v)", err, log2.All())
	}
	defer n.Stop()
	if !log2.has("restored snapshot") || !log2.has("checkpoint hashes verified") {
		t.Fatalf("restart did not restore and verify: %v", log2.All())
	}
	// A buyer sweeps every symbol's book: each of the 30 resting sells fills.
	for sym := uint32(1); sym <= 3; sym++ {
		cl, _ := matcher.MakeClOrdID(fmt.Sprintf("B%d", sym))
		if err := n.Submit(&matcher.Command{Kind: matcher.KindNew, Symbol: sym, Account: 2, Side: matcher.Buy,
			Type: matcher.Limit, TIF: matcher.IOC, Price: 1000, Qty: 1000, ClOrdID: cl}); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(out2.fills()) < 60 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sells := 0
	for _, f := range out2.fills() {
		if f.Account == 1 {
			sells++
		}
	}
	if sells != 30 {
		t.Fatalf("after restart %d resting sells filled, want 30", sells)
	}
}

// TestReplayRefusesWrongStateHash: a journal whose checkpoint hash does not
// match what replay computes is not started on.
func TestReplayRefusesWrongStateHash(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.Options{Dir: filepath.Join(dir, "journal"), Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	var buf [matcher.CommandSize]byte
	wrong := matcher.CheckpointHash{Checkpoint: 2, Hash: 12345, Partitions: config.Default().Match.Partitions}.Command()
	cmds := []*matcher.Command{
		order(1, "S1", matcher.Sell, 100, 10),
		{Kind: matcher.KindCheckpoint},
		&wrong,
	}
	for i, c := range cmds {
		c.Seq = int64(i + 1)
		if err := j.Append(c.Seq, c.Encode(buf[:])); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	cfg := config.Default()
	cfg.DataDir = dir
	n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Log: logtest.New(t)})
	if err == nil {
		n.Stop()
		t.Fatal("started on a journal whose checkpoint hash is wrong")
	}
	if !strings.Contains(err.Error(), "state hash at checkpoint 2") {
		t.Fatalf("error does not name the checkpoint: %v", err)
	}
}

// TestStandbyDivergedStopsAtOnce: a standby whose state differs from its
// primary's stops on its own at the primary's next checkpoint hash
// record: Done closes and FailErr names the difference (STATE DIVERGED),
// though the primary sends no record after it, and the status says the
// same. The two start from snapshots at the same seq of two journals whose
// last order differs (each installed as replica.InstallSnapshot leaves a
// standby), so nothing in the config or the stream tells them apart before
// the hash.
func TestStandbyDivergedStopsAtOnce(t *testing.T) {
	seed := func(px int64) string { // 10 commands, the last resting at px: a snapshot after them
		dir := t.TempDir()
		cfg := config.Default()
		cfg.DataDir, cfg.Snapshot = dir, config.Snapshot{EveryCommands: 10}
		n, _ := startRepl(t, cfg, &logLines{})
		trade(t, n, "A", 9)
		if err := n.Submit(order(1, "A9", matcher.Sell, px, 3)); err != nil {
			t.Fatal(err)
		}
		awaitSnapshotAt(t, dir, 10)
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dirP, dirS := t.TempDir(), t.TempDir()
	installSnapshotOf(t, seed(104), dirP)
	installSnapshotOf(t, seed(200), dirS)
	var logP, logS logLines
	p, _ := startRepl(t, replCfg(dirP, "primary", ""), &logP)
	defer p.Stop()
	s, _ := startRepl(t, replCfg(dirS, "standby", p.ReplicationAddr().String()), &logS)
	defer s.Stop()
	trade(t, p, "B", 40) // snapshot.everyCommands 40: a checkpoint, then its hash record, the last record
	select {
	case <-s.Done():
	case <-time.After(wait):
		t.Fatalf("the standby did not stop on its own within %v of its primary's last record (seq %d); its pipeline: %q, FailErr %v",
			wait, lastSeq(p), s.Status().Stopped, s.FailErr())
	}
	// The primary ships a batch beside its own fsync: its durable mark
	// may trail what the standby journaled, never pass it, as it sends
	// nothing more.
	err, last := s.FailErr(), lastSeq(s)
	waitUntil(t, "the primary's journal holds what it shipped", func() bool { return lastSeq(p) >= last })
	if err == nil || !strings.Contains(err.Error(), "STATE DIVERGED") || !strings.Contains(err.Error(), fmt.Sprintf("record %d says", last)) || lastSeq(p) != last {
		t.Fatalf("the standby stopped with %v; want STATE DIVERGED at record %d, its last and the primary's (%d)", err, last, lastSeq(p))
	}
	if got := s.Status().Stopped; got != err.Error() {
		t.Errorf("status says the pipeline stopped for %q; FailErr says %v", got, err)
	}
	// A record after it ends the standby's follow, which says the same
	// cause, not that its ring is closed.
	trade(t, p, "C", 1)
	waitUntil(t, "the standby's follow ends at the next record", func() bool { return logS.has("STANDBY STOPPED") })
	if !logS.has("STANDBY STOPPED", "STATE DIVERGED") || s.FailErr() != err {
		t.Errorf("after one more record the standby says %q, FailErr %v; want STATE DIVERGED both", logS.With("STANDBY STOPPED"), s.FailErr())
	}
}
