package node

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/risk"
)

// A checkpoint proves and shortens recovery. It is two journal records:
//
//   - KindCheckpoint at seq S, submitted by the checkpointer like any other
//     command. Every match partition sees it (it is not partitioned by
//     symbol), takes its engine's Hash and Snapshot right after S, and the
//     publish stage hands them to the checkpointer.
//   - KindCheckpointHash at a later seq T (matcher.CheckpointHash: S, the
//     combined hash and the partition count). Replay (at start-up, by
//     the standby, by `ringex replay verify`) recomputes the hash at S and
//     refuses to go on if it differs.
//
// The snapshot file (journal.WriteSnapshot) holds the partitions' engine
// snapshots at S, framed as [u32 P] then per partition [u32 len][bytes],
// little-endian, and, with a risk stage, the risk state's after them
// ([u32 P+1]; it is no engine snapshot, so a restore tells whether the
// snapshot was taken with a risk stage: checkSnapshotVenue); start-up
// restores it and replays only what follows S.

// partitionCheckpoint is what one match partition took at a checkpoint.
type partitionCheckpoint struct {
	seq  int64
	hash uint64
	data []byte
}

// checkpointQueue holds the checkpoints a partition's match goroutine has
// taken and the publish stage has not yet collected, oldest first. A
// primary has one in flight at a time, but a standby applies its primary's
// stream, where the match stage can pass several checkpoints before the
// publish stage reaches the first. Not the hot path: once per checkpoint.
type checkpointQueue struct {
	mu    sync.Mutex
	taken []partitionCheckpoint
	spare [][]byte // buffers of collected checkpoints, for reuse
}

func (q *checkpointQueue) push(seq int64, hash uint64, snapshot func([]byte) []byte) {
	q.mu.Lock()
	var buf []byte
	if n := len(q.spare); n > 0 {
		buf, q.spare = q.spare[n-1][:0], q.spare[:n-1]
	}
	q.mu.Unlock()
	cp := partitionCheckpoint{seq: seq, hash: hash, data: snapshot(buf)}
	q.mu.Lock()
	q.taken = append(q.taken, cp)
	q.mu.Unlock()
}

// pop removes and returns the oldest checkpoint; ok is false when none.
func (q *checkpointQueue) pop() (cp partitionCheckpoint, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.taken) == 0 {
		return cp, false
	}
	cp = q.taken[0]
	q.taken = append(q.taken[:0], q.taken[1:]...)
	return cp, true
}

// recycle gives a collected checkpoint's buffer back.
func (q *checkpointQueue) recycle(b []byte) {
	q.mu.Lock()
	if len(q.spare) < 2 {
		q.spare = append(q.spare, b)
	}
	q.mu.Unlock()
}

// checkpoint is one complete checkpoint on its way to disk.
type checkpoint struct {
	seq  int64
	hash uint64
	data []byte
}

// startCheckpointer runs the goroutine that asks for checkpoints at the
// configured interval and writes them, one in flight at a time.
func (n *Node) startCheckpointer() {
	everyCmds := n.cfg.Snapshot.EveryCommands
	every := time.Duration(n.cfg.Snapshot.EverySec) * time.Second
	if everyCmds <= 0 && every <= 0 {
		close(n.cpDone)
		return
	}
	go func() {
		defer close(n.cpDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		lastSeq, lastTime := n.baseSeq-1, time.Now()
		inFlight := false
		for {
			select {
			case <-n.cpStop:
				return
			case cp := <-n.cpTaken:
				n.writeCheckpoint(cp)
				lastSeq, lastTime = cp.seq, time.Now()
				inFlight = false
			case <-tick.C:
				if inFlight || n.following.Load() {
					continue // a standby checkpoints where its primary did
				}
				since := n.journal.LastSeq() - lastSeq
				due := (everyCmds > 0 && since >= everyCmds) || (every > 0 && since > 0 && time.Since(lastTime) >= every)
				if !due {
					continue
				}
				cmd := matcher.Command{Kind: matcher.KindCheckpoint}
				if err := n.submit(&cmd); err != nil {
					return // the ring is closed: the exchange is stopping
				}
				inFlight = true
			}
		}
	}()
}

// writeCheckpoint writes the snapshot file, then journals the hash record
// that lets every replay prove it reached the same state.
func (n *Node) writeCheckpoint(cp checkpoint) {
	start := time.Now()
	if err := journal.WriteSnapshot(n.journalDir(), cp.seq, cp.hash, cp.data); err != nil {
		n.log.Warn("snapshot not written", "seq", cp.seq, "err", err)
	} else {
		n.obs.noteSnapshot(time.Since(start))
	}
	if n.following.Load() {
		return // the primary's hash record follows in the stream
	}
	rec := matcher.CheckpointHash{Checkpoint: cp.seq, Hash: cp.hash, Partitions: len(n.partitions)}.Command()
	if err := n.submit(&rec); err != nil {
		return
	}
	n.log.Info("checkpoint written", "seq", cp.seq, "state_hash", fmt.Sprintf("%016x", cp.hash), "bytes", len(cp.data), "took", time.Since(start).Round(time.Millisecond))
}

// takeCheckpoint runs on a match goroutine when its partition passes a
// KindCheckpoint slot. Not the hot path: it copies the whole engine.
func (p *partition) takeCheckpoint(seq int64) {
	p.cps.push(seq, p.engine.Hash(), p.engine.Snapshot)
}

// collectCheckpoint runs on the publish stage at a KindCheckpoint slot: every
// partition has passed it, so their checkpoints are complete, and the
// oldest each holds is this one (publish sees slots in order).
func (n *Node) collectCheckpoint(seq int64) {
	hashes := make([]uint64, len(n.partitions))
	parts := make([][]byte, len(n.partitions))
	for i, p := range n.partitions {
		cp, ok := p.cps.pop()
		if !ok || cp.seq != seq {
			panic(fmt.Sprintf("node: partition %d has no checkpoint at %d (oldest taken: %d, present %v)", i, seq, cp.seq, ok))
		}
		parts[i], hashes[i] = cp.data, cp.hash
	}
	if n.risk != nil {
		// The settle step has passed every slot before this one: its state
		// is the state at seq. One more frame, after the partitions'.
		parts = append(parts, n.risk.state.Snapshot(nil))
	}
	data := matcher.FrameSnapshot(parts)
	for i, p := range n.partitions {
		p.cps.recycle(parts[i])
	}
	n.cpSeq, n.cpHash = seq, stateHash(matcher.CombineHashes(hashes), n.riskState())
	n.cpTaken <- checkpoint{seq: seq, hash: n.cpHash, data: data}
}

// verifyCheckpoint runs on the publish stage at a KindCheckpointHash slot.
// On a primary it checks its own arithmetic; on a standby it is the proof
// that it reached the primary's state, and a difference stops it loudly.
func (n *Node) verifyCheckpoint(cmd *matcher.Command) {
	h, _ := matcher.CheckpointHashOf(cmd)
	if h.Checkpoint != n.cpSeq || h.Partitions != len(n.partitions) {
		return // a checkpoint taken before this process started, or with another partition count
	}
	if h.Hash != n.cpHash {
		err := fmt.Errorf("STATE DIVERGED: record %d says the state hash at checkpoint %d is %016x; this node computed %016x",
			cmd.Seq, n.cpSeq, h.Hash, n.cpHash)
		n.fail(err)
		return
	}
	if n.following.Load() {
		n.log.Info("standby verified the state hash", "state_hash", fmt.Sprintf("%016x", n.cpHash), "seq", n.cpSeq)
	}
}

// restoreSnapshot loads the newest valid snapshot into the partitions'
// engines and returns its sequence, or 0 when there is none it can use.
func (n *Node) restoreSnapshot() (int64, error) {
	return n.restoreInto(n.engines(), n.riskState(), math.MaxInt64)
}

// restoreInto loads the newest valid snapshot of a record at or before seq
// atMost into engines, one per partition, and rs (nil: no risk), and
// returns its sequence, or 0 when there is none it can use.
func (n *Node) restoreInto(engines matcher.Partitions, rs *risk.State, atMost int64) (int64, error) {
	seq, hash, data, ok, err := journal.SnapshotAtMost(n.journalDir(), atMost)
	if err != nil || !ok {
		return 0, err
	}
	if ok, err := restoreData(seq, hash, data, engines, rs, n.log); err != nil || !ok {
		return 0, err
	}
	n.log.Info("restored snapshot", "seq", seq, "state_hash", fmt.Sprintf("%016x", hash))
	return seq, nil
}

// restoreData restores data, the snapshot of record seq with state hash
// hash, into engines and rs (nil: no risk); ok is false, and log says why,
// when its frames do not fit them (another partition count). A snapshot
// taken with another risk mode is an error naming risk.mode
// (checkSnapshotVenue).
func restoreData(seq int64, hash uint64, data []byte, engines matcher.Partitions, rs *risk.State, log *slog.Logger) (ok bool, err error) {
	parts, err := matcher.SplitSnapshot(data)
	if err != nil {
		return false, fmt.Errorf("snapshot at %d: %w", seq, err)
	}
	if err := checkSnapshotVenue(seq, parts, rs); err != nil {
		return false, err
	}
	if rs != nil {
		if len(parts) != len(engines)+1 {
			log.Warn("snapshot's frames do not fit this node's risk and partitions: replaying the whole journal", "seq", seq, "frames", len(parts), "partitions", len(engines), "want_frames", len(engines)+1)
			return false, nil
		}
		if err := rs.Restore(parts[len(engines)]); err != nil {
			return false, fmt.Errorf("snapshot at %d: %w", seq, err)
		}
		data = matcher.FrameSnapshot(parts[:len(engines)])
	} else if len(parts) != len(engines) {
		log.Warn("snapshot's partitions differ from the config's: replaying the whole journal", "seq", seq, "frames", len(parts), "partitions", len(engines))
		return false, nil
	}
	if err := engines.Restore(data); err != nil {
		return false, fmt.Errorf("snapshot at %d: %w", seq, err)
	}
	ph := engines.Hash()
	if got := stateHash(ph, rs); got != hash && !checkpointHashMatches(hash, got, LegacyStateHashes(ph, engines, rs)) {
		return false, fmt.Errorf("snapshot at %d: restored state hash %016x, file says %016x", seq, got, hash)
	}
	return true, nil
}
