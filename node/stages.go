package node

// The pipeline, in the order a command meets it: the ring entry (slot),
// the wiring (buildPipeline), the first stage's one handler (stamp, or the
// risk stage's: risk.go), the durable stage's handlers side by side
// (journalBatch, replicateBatch, matchHandler ×P), then the publish stage
// (publishBatch), the only one that talks to brokers, and feeds market
// data (marketdata.go).

import (
	"fmt"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/replica"
	"github.com/ringex/ringex/ringbuffer"
	"github.com/ringex/ringex/risk"
)

// inlineEvents is how many events a slot carries itself; a command that causes
// more (an order sweeping several resting orders) spills the rest into its
// partition's spill store.
const inlineEvents = 4

// slot is one ring entry: the command, then the events its partition's
// engine produced for it. Fixed size and pointer-free.
type slot struct {
	cmd     matcher.Command
	hold    risk.Hold // the risk stage's decision (risk.go); zero without one
	nEvents int32
	events  [inlineEvents]matcher.Event
}

// buildPipeline wires the stages. The publish stage, the only one that talks
// to brokers, runs after every handler of the stage before it: the journal
// (the command is durable), the replicator (with sync replication, the
// standby has it) and the match partitions. That is the durability argument.
//
// Matching runs beside the journal, not after it, as LMAX's business logic
// runs beside its journaller: the engines are a pure function of the
// sequence, so applying a command before its fsync returns decides nothing
// that a broker can see before it is durable, and if the journal fails the
// ring stops before publish sees that batch. It takes the match wake-up and
// the matching itself out of the path after the fsync (docs/performance.md
// has the runs).
func (n *Node) buildPipeline() error {
	wait := ringbuffer.WaitHybrid
	if n.cfg.Ring.Wait == config.WaitSpin {
		wait = ringbuffer.WaitBusySpin
	}
	durable := ringbuffer.Stage{Name: "journal+match", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(n.journalBatch)}}
	if n.repl != nil {
		// Side by side with the journal: publish sees a batch only when both
		// have returned (replicate.go).
		durable.Handlers = append(durable.Handlers, ringbuffer.HandlerFunc(n.replicateBatch))
	}
	for _, p := range n.partitions {
		durable.Handlers = append(durable.Handlers, &matchHandler{node: n, part: p})
	}
	publish := ringbuffer.Stage{Name: "publish", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(n.publishBatch)}}
	// The first stage has one handler, which stamps (stamp) before any
	// handler reads TimeNs: the risk stage, or one of its own.
	first := ringbuffer.Stage{Name: "sequence", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(n.stamp)}}
	if n.risk != nil {
		// Before matching, so that a refused order reaches no matcher (risk.go).
		first = ringbuffer.Stage{Name: "risk", Handlers: []ringbuffer.Handler{riskHandler{n}}}
	}
	stages := []ringbuffer.Stage{first, durable, publish}
	n.stamped = -1
	r, err := ringbuffer.New[slot](ringbuffer.Options{Capacity: n.cfg.Ring.Capacity, Writers: 2, Wait: wait, OnFail: n.ringFailed}, stages...)
	if err != nil {
		return fmt.Errorf("ring: %w", err)
	}
	n.ring = r
	return nil
}

// stamp makes TimeNs non-decreasing in sequence order, as a venue's
// sequencer does: each command keeps its ingress time (submitSeq), or the
// one before it when that is later. Writers claim slots concurrently and
// read the clock after their claim, so one may read it before a writer
// that claimed earlier; and the wall clock may step back (NTP). Only the
// first stage's one handler (the risk stage's, or the "sequence" stage's)
// sees the slots in order before anything reads TimeNs: the journal, the
// replicator and the match partitions run side by side after it. A
// standby's records are its primary's, stamped there; it only follows
// them, so that a promotion goes on from its last applied record. A
// PartialHandler may be handed slots again: stamped says where it
// stopped. Hot path: one compare per slot, no clock read.
func (n *Node) stamp(lo, hi int64) {
	lo = max(lo, n.stamped+1)
	if lo > hi {
		return
	}
	last, follow := n.lastNs, n.following.Load()
	for seq := lo; seq <= hi; seq++ {
		c := &n.ring.Slot(seq).cmd
		if c.TimeNs < last && !follow {
			c.TimeNs = last
		}
		last = max(last, c.TimeNs)
	}
	n.lastNs, n.stamped = last, hi
}

// journalBatch is the journal stage: one write and one fsync per batch.
// Hot path.
func (n *Node) journalBatch(lo, hi int64) {
	if n.following.Load() {
		return // a standby's Receiver journaled these records already
	}
	for seq := lo; seq <= hi; seq++ {
		cmd := &n.ring.Slot(seq).cmd
		if err := n.journal.Append(cmd.Seq, cmd.Encode(n.encodeBuf[:])); err != nil {
			n.halt(fmt.Errorf("journal append %d: %w", cmd.Seq, err))
			return
		}
	}
	start := time.Now()
	if err := n.journal.Commit(); err != nil {
		n.halt(fmt.Errorf("journal commit: %w", err))
		return
	}
	n.lat.commit.Record(int64(time.Since(start)))
	n.lat.batch.Record(hi - lo + 1)
}

// receiverCommitted is a standby's journalBatch: the Receiver journals
// what the primary ships, one commit per frame, and tells it here
// (replica.ReceiverOptions.Committed), so that a slow standby disk shows
// in its own figures. The Receiver's goroutine; the journal stage records
// nothing while the node follows.
func (n *Node) receiverCommitted(records int64, took time.Duration) {
	n.lat.commit.Record(int64(took))
	n.lat.batch.Record(records)
}

// replicateBatch is the replicate handler, beside the journal handler in the
// durable stage. Hot path: no allocation once the buffers have grown to the
// largest batch; one lock per batch (replica.Sender.Ship).
func (n *Node) replicateBatch(lo, hi int64) {
	r := n.repl
	s := r.sender.Load()
	if s == nil {
		return // following: the Receiver journals and the primary shipped it
	}
	count := int(hi - lo + 1)
	if cap(r.encoded) < count*matcher.CommandSize {
		r.encoded = make([]byte, count*matcher.CommandSize)
		r.recs = make([][]byte, count)
	}
	recs := r.recs[:count]
	for i := range recs {
		b := r.encoded[i*matcher.CommandSize : (i+1)*matcher.CommandSize]
		recs[i] = n.ring.Slot(lo + int64(i)).cmd.Encode(b)
	}
	first := n.ring.Slot(lo).cmd.Seq
	last := first + int64(count) - 1
	s.Ship(first, recs)
	if n.shard != nil {
		n.replicateShard(s, first, last) // the sync set (syncset.go)
		return
	}
	if !r.sync {
		return
	}
	if r.degraded.Load() {
		// Back in sync only when the standby now connected has
		// acknowledged everything before this batch: "caught up once"
		// would let a standby still behind (or one that timed out and
		// stayed connected) make every batch wait syncTimeout again.
		if acked, connected := s.Acked(); connected && acked >= first-1 {
			r.degraded.Store(false)
			n.log.Warn("REPLICATION back in sync: the standby has everything; acknowledgements wait for it again", "seq", acked)
		} else {
			return
		}
	}
	start := time.Now()
	n.awaitAcked(s, last)
	n.lat.replAck.Record(int64(time.Since(start)))
}

// awaitAcked holds the batch ending at last until the standbys the Sender
// counts hold it: a pair's standby, or every standby of a shard's sync
// set (syncset.go). Each syncTimeout without their acknowledgement,
// standbyLost decides whether to go on without them; while it decides to
// wait, the batch is held, and Status says so (ReplicationStats.Holding).
func (n *Node) awaitAcked(s *replica.Sender, last int64) {
	r := n.repl
	for waited := false; ; waited = true {
		ok, err := s.Await(last, r.syncTimeout, r.timer)
		if !ok && err == nil && !n.stopping.Load() && !n.standbyLost(s, last) {
			r.holding.Store(last)
			continue
		}
		if waited {
			r.holding.Store(0)
		}
		if !ok && (err != nil || n.stopping.Load()) {
			n.fail(fmt.Errorf("replication: stopped before %s acknowledged seq %d; it was never acknowledged to a broker", n.awaited(), last))
		}
		return
	}
}

// awaited names what awaitAcked waits for, in its messages.
func (n *Node) awaited() string {
	if n.shard != nil {
		return "the sync set"
	}
	return "the standby"
}

// standbyLost is awaitAcked's answer to syncTimeout without an
// acknowledgement of last: true when the batch goes on unacknowledged by
// a standby (a pair with onStandbyLost "async" degrades); false when it
// awaits again, after a shard's set narrowed (narrowSync) or after
// saying it waits.
func (n *Node) standbyLost(s *replica.Sender, last int64) bool {
	r := n.repl
	if n.shard != nil {
		if !n.narrowSync(s, last) {
			n.log.Warn("REPLICATION WAITING: the sync set has not acknowledged; acknowledging nothing after the acknowledged seq until it has", "seq", last,
				"waited", r.syncTimeout, "acked", s.Stats().Acked, "on_standby_lost", n.cfg.Replication.OnStandbyLost)
		}
		return false
	}
	if r.lostGoesAsync {
		r.degraded.Store(true)
		r.degradations.Add(1)
		n.log.Warn("REPLICATION DEGRADED: no acknowledgement from the standby; going on ALONE (onStandbyLost \"async\"): a failover now loses what the standby lacks", "waited", r.syncTimeout, "seq", last)
		return true
	}
	n.log.Warn("REPLICATION WAITING: no acknowledgement from the standby; acknowledging nothing after seq until a standby has it (onStandbyLost \"wait\")", "waited", r.syncTimeout, "seq", s.Stats().Acked)
	return false
}

// matchHandler is one match goroutine: it applies the slots of its own
// partition and skips the others. Hot path.
type matchHandler struct {
	node *Node
	part *partition
}

func (h *matchHandler) Handle(lo, hi int64) {
	count, marks := len(h.node.partitions), h.node.obs.marksOf(h.part.index)
	for seq := lo; seq <= hi; seq++ {
		s := h.node.ring.Slot(seq)
		h.part.match(s, seq, count)
		if marks != nil {
			marks.touch(&s.cmd)
		}
	}
	if marks != nil {
		h.node.endMatchBatch(h.part)
	}
}

// match is the match stage for s, the slot at ring sequence seq, in
// partition p of count: it applies the command if p owns its symbol (or
// every partition applies it) and leaves the events in s, or in p's spill
// store beyond what s holds. It touches no other slot. Hot path.
func (p *partition) match(s *slot, seq int64, count int) {
	switch s.cmd.Kind {
	case matcher.KindCheckpoint:
		p.takeCheckpoint(s.cmd.Seq) // every partition
		return
	case matcher.KindCheckpointHash:
		return // proof for replay; the live engines computed it
	}
	r := matcher.Route(&s.cmd, count)
	if r != p.index && r != matcher.RouteAll {
		// Another partition's, or no engine's: decided on the command's
		// kind and symbol alone. The Hold's cache line, which the risk
		// stage wrote on its own core, is read only by the partition
		// that applies the command (docs/performance.md, "the pipeline
		// with match partitions").
		return
	}
	refused := s.hold.Reason != matcher.ReasonNone
	if refused && s.cmd.Kind != matcher.KindReplace {
		return // refused by the risk stage, which left its answer in the slot
	}
	if r == matcher.RouteAll {
		// Every partition applies it (the end of the day: each expires
		// its own Day orders). The slot's inline events belong to one
		// partition, so each puts all of its events in its own spill
		// store (a cold path, once a day).
		p.scratch = p.engine.Apply(&s.cmd, p.scratch[:0])
		if len(p.scratch) > 0 {
			p.putSpill(seq, p.scratch)
		}
		return
	}
	if refused {
		// A replace the risk stage refused: its order's engine answers
		// with the order's state and applies nothing.
		p.scratch = p.engine.RefuseReplace(&s.cmd, s.hold.Reason, p.scratch[:0])
	} else {
		p.scratch = p.engine.Apply(&s.cmd, p.scratch[:0])
	}
	n := copy(s.events[:], p.scratch)
	s.nEvents = int32(len(p.scratch))
	if len(p.scratch) > n {
		p.putSpill(seq, p.scratch[n:])
	}
}

// publishBatch is the publish stage: every event of every slot, in sequence
// order. Hot path.
func (n *Node) publishBatch(lo, hi int64) {
	var nowNs int64 // for the latency log; a standby's ingress times are its primary's
	if !n.following.Load() {
		now := time.Now()
		nowNs = now.UnixNano()
		// A shard led through etcd: acknowledge only under a valid lease
		// (cluster.go). One atomic load per batch.
		if l := n.leading(); l != nil && (!l.Guard().Valid(now) || n.shard.pause.Load()) && !n.holdForLease(l, lo, hi) {
			return
		}
	}
	for seq := lo; seq <= hi; seq++ {
		n.publishSlot(n.ring.Slot(seq), seq, nowNs)
	}
	n.feed.flush()
	if n.obs.counting {
		n.endPublishBatch()
	}
	if n.md != nil {
		// After every report of the batch is queued: market data never
		// goes before an acknowledgement (marketdata.Feed.EndBatch).
		n.md.EndBatch()
	}
	if n.repl != nil {
		// The Sender's heartbeats tell the standby (Promote).
		n.repl.published.Store(n.ring.Slot(hi).cmd.Seq)
	}
	if n.risk != nil {
		n.risk.settled.Store(hi) // what a refusal in the risk stage may wait for
	}
}

// publishSlot is the publish stage for s, the slot at ring sequence seq:
// its events, inline then spilled, go to the publisher; a control record
// goes to its own handler. nowNs, when not 0, is the batch's time for the
// latency log. Hot path.
func (n *Node) publishSlot(s *slot, seq, nowNs int64) {
	if n.obs.counting {
		n.obs.pub.batch.command(s.cmd.Kind)
	}
	n.feed.begin(&s.cmd)
	switch s.cmd.Kind {
	case matcher.KindCheckpoint:
		n.collectCheckpoint(s.cmd.Seq)
		n.storedThrough(s.cmd.Seq)
		return
	case matcher.KindCheckpointHash:
		n.verifyCheckpoint(&s.cmd)
		return
	case matcher.KindRiskVenue:
		n.verifyRiskVenue(&s.cmd)
	case matcher.KindSymbolScale:
		n.verifySymbolScale(&s.cmd) // cold: records journaled at a start
	case matcher.KindBlockFirm, matcher.KindUnblockFirm:
		if n.following.Load() {
			n.followFirmBlock(&s.cmd)
		}
	case matcher.KindEndOfDay:
		n.settleBegin(s)
		n.publishEndOfDay(seq)
		n.settleEnd()
		n.noteDay(&s.cmd)
		return
	case matcher.KindDeposit, matcher.KindWithdraw, matcher.KindBlock, matcher.KindUnblock:
		n.publishOperator(s, seq)
		return
	}
	if n.dayOpenNs == 0 {
		n.noteDay(&s.cmd)
	}
	if nowNs != 0 {
		n.lat.pipeline.Record(nowNs - s.cmd.TimeNs)
	}
	n.settleBegin(s)
	count := int(s.nEvents)
	for i := 0; i < count && i < inlineEvents; i++ {
		n.publishEvent(&s.events[i])
	}
	if n.obs.counting {
		n.obs.pub.batch.count(s.events[:min(count, inlineEvents)])
	}
	if count > inlineEvents {
		p := n.partitionOf(&s.cmd)
		spilled := p.takeSpill(seq)
		for i := range spilled {
			n.publishEvent(&spilled[i])
		}
		if n.obs.counting {
			n.obs.pub.batch.count(spilled)
		}
	}
	n.settleEnd()
}

// publishEvent hands one event to everything after matching, in this
// order: the brokers' reports (the publisher), the risk stage's settle
// step, FIX market data and the binary feed. Hot path: each is a no-op
// when off.
func (n *Node) publishEvent(ev *matcher.Event) {
	n.publisher.Publish(ev)
	n.settleEvent(ev)
	if n.md != nil {
		n.md.Apply(ev)
	}
	n.feed.event(ev)
}
