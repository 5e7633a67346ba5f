package node

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/replica"
)

// A replicated node is a primary or a standby (config.Replication.Role).
//
//   - Primary: the replicate handler sits in the first stage beside the
//     journal handler and ships each batch to the standby (replica.Sender);
//     in sync mode it returns only when the standby has acknowledged the
//     batch, so publish, which runs after both handlers, never sees a batch
//     the standby lacks. The match partitions, beside them, may apply it
//     first; engines that ran ahead of what survives are never kept (a
//     primary that steps down starts again from its journal).
//   - Standby: no FIX acceptor. The Receiver journals what the primary sends
//     (so the journal is a byte-for-byte copy of the primary's records) and
//     hands each record to follow, which puts it in the ring with its seq and
//     ingress time unchanged: the journal handler skips it (already
//     journaled), the match stage applies it with the same code, the publish
//     stage keeps its events in a bounded buffer instead of sending them
//     (no sessions; switchPublisher) and compares the state hash at every
//     KindCheckpointHash record, failing loudly on a difference.
//   - The primary's heartbeats carry the last seq its publish stage handed
//     to the FIX sessions and, by account, the delivery mark up to which
//     the broker's TCP stack has acknowledged every report (gateway's
//     delivery.go); on promotion the reports after each account's mark, as
//     far as the buffer still holds them, are resent to its session after
//     its next Logon with PossResend=Y (unpublished); those it no longer
//     holds are rebuilt from the journal (rebuildReports).
//   - Promotion turns a standby into a primary in place (see promote).
//   - A node configured as primary with a peer (replication.primary) probes
//     the peer first and starts as its standby when a primary serves there
//     (peerIsPrimary). That single probe can miss a standby that promotes
//     itself just after it, so a primary with a peer and no standby goes on
//     probing every heartbeat; when both serve, the one that acknowledged
//     nothing in its epoch steps down (stepdown.go, replica.StepsDown).
//
// Every start as primary, and every promotion, begins a new epoch
// (<dataDir>/epoch, replica.History) at the seq after the last durable
// record; the epoch travels in every frame.
type replication struct {
	history  *replica.History
	sender   atomic.Pointer[replica.Sender]
	receiver *replica.Receiver
	recvDone chan struct{}
	// rebuildDone is closed when rebuildReports ends; nil when none ran.
	rebuildDone chan struct{}

	sync          bool // wait for the standby's ack before a batch moves on
	syncTimeout   time.Duration
	lostGoesAsync bool
	degraded      atomic.Bool  // sync primary acknowledging alone (standby lost with onStandbyLost async, or just promoted)
	degradations  atomic.Int64 // times a sync primary went on alone
	failed        chan struct{}
	failErr       atomic.Pointer[error]
	followed      atomic.Int64 // last seq put in the ring by follow
	published     atomic.Int64 // last seq the publish stage passed
	promoteMu     sync.Mutex
	stopWatch     chan struct{}
	watchDone     chan struct{}
	timer         *time.Timer // replicate handler only
	recs          [][]byte    // replicate handler only
	encoded       []byte      // replicate handler only
	lastWaitLogNs int64       // replicate handler only

	failOnce sync.Once                 // stopOnItsOwn closes failed once
	peer     atomic.Pointer[peerWatch] // a primary with a peer: its watch (stepdown.go)
}

// switchPublisher lets a standby keep the most recent events (recent) until
// it is promoted, then hand them to the gateway. Hot path: one atomic load
// and, while following, one copy per event.
type switchPublisher struct {
	to     atomic.Pointer[Publisher]
	recent *recentEvents // nil on a node that started as primary
}

func (p *switchPublisher) Publish(ev *matcher.Event) {
	if to := p.to.Load(); to != nil {
		(*to).Publish(ev)
	} else if p.recent != nil {
		p.recent.add(ev)
	}
}

// recentEvents is a standby's bounded memory of the events it applied last,
// kept so that a promotion can resend the reports its old primary may not
// have got out (Promote). Only the publish stage writes it; Promote reads it
// once the pipeline is drained and before the publisher switches.
type recentEvents struct {
	evs     []matcher.Event // by count & mask, allocated once
	mask    int64           // len(evs)-1: a power of two long
	count   int64           // events added
	lostSeq int64           // seq of the newest event overwritten; 0: none
	lost    []int64         // the same by account (accounts beyond it: lostSeq)
}

func newRecentEvents(capacity, accounts int) *recentEvents {
	if capacity <= 0 {
		panic("recentEvents: capacity must be positive")
	}
	size := 1 << bits.Len(uint(capacity-1)) // the capacity, rounded up to a power of two
	return &recentEvents{evs: make([]matcher.Event, size), mask: int64(size - 1), lost: make([]int64, accounts)}
}

// add copies ev in, overwriting the oldest. Hot path: no allocation.
func (r *recentEvents) add(ev *matcher.Event) {
	i := r.count & r.mask
	if r.count >= int64(len(r.evs)) {
		old := &r.evs[i]
		r.lostSeq = old.Seq
		if int(old.Account) < len(r.lost) {
			r.lost[old.Account] = old.Seq
		}
	}
	r.evs[i] = *ev
	r.count++
}

// after returns a copy, in order, of the events kept of commands with seq >
// from, and whether the buffer still held all of them (false when events
// of such commands were overwritten). Cold path.
func (r *recentEvents) after(from int64) (evs []matcher.Event, whole bool) {
	for c := max(0, r.count-int64(len(r.evs))); c < r.count; c++ {
		if ev := &r.evs[c&r.mask]; ev.Seq > from {
			evs = append(evs, *ev)
		}
	}
	return evs, r.lostSeq <= from
}

// lostAfter reports whether an event of account of a command after seq
// from was overwritten.
func (r *recentEvents) lostAfter(account uint32, from int64) bool {
	if int(account) < len(r.lost) {
		return r.lost[account] > from
	}
	return r.lostSeq > from
}

// ReplicationStats are a replicated node's figures for operators and tests.
type ReplicationStats struct {
	Role         string // "primary" or "standby"
	Epoch        uint64
	LastSeq      int64
	Degraded     bool  // a sync primary acknowledging without a standby
	Degradations int64 // how often that began
	Standby      replica.SenderStats
	// InSync: a standby reached the primary's last seq on this connection;
	// a primary's connected standby has acknowledged everything shipped
	// once since it connected, and (sync mode) acknowledgements wait for it.
	InSync bool
	// PrimaryPublished (standby): the last seq whose events the primary
	// said it had handed to its FIX sessions; -1 when none heard.
	PrimaryPublished int64
	// PrimaryDelivered (standby): by account, the delivery marks of the
	// primary's last heartbeat (gateway.Gateway.Delivered); nil when none.
	PrimaryDelivered []int64
	// PeerPrimary (primary with no standby): the last probe of the peer
	// found another primary serving there (stepdown.go).
	PeerPrimary bool
	// SplitBrain: ... and both have acknowledged records in their epochs,
	// so neither steps down by itself; an operator must stop one.
	SplitBrain bool
}

// ReplicationStats reports the replication state; ok is false when
// replication is off.
func (n *Node) ReplicationStats() (ReplicationStats, bool) {
	r := n.repl
	if r == nil {
		return ReplicationStats{}, false
	}
	st := ReplicationStats{Role: "primary", Epoch: r.history.Current(), LastSeq: n.journal.LastSeq(),
		Degraded: r.degraded.Load(), Degradations: r.degradations.Load()}
	if n.following.Load() {
		st.Role = "standby"
		st.InSync = r.receiver.InSync()
		st.PrimaryPublished = r.receiver.PrimaryPublished()
		st.PrimaryDelivered = r.receiver.PrimaryDelivered()
	}
	if w := r.peer.Load(); w != nil {
		st.PeerPrimary, st.SplitBrain = w.peerPrimary.Load(), w.splitBrain.Load()
	}
	if s := r.sender.Load(); s != nil {
		st.Standby = s.Stats()
		// The flag clears on the next batch (replicateBatch); until one
		// comes, a standby that has everything shipped means that batch
		// will wait for it.
		if st.Degraded && st.Standby.Connected && st.Standby.Acked >= st.Standby.Shipped {
			st.Degraded = false
		}
		if !n.following.Load() {
			st.InSync = st.Standby.Connected && st.Standby.CaughtUp && !st.Degraded
		}
	}
	return st, true
}

// Done is closed when the node stopped on its own: a standby that diverged
// from its primary, was refused by it, or failed to journal or apply; a
// primary that stepped down for the primary serving at its peer
// (replica.StepDownError). FailErr says which.
func (n *Node) Done() <-chan struct{} {
	if n.repl == nil {
		return nil
	}
	return n.repl.failed
}

func (n *Node) setupReplication() error {
	rc := n.cfg.Replication
	if rc.Role == "" {
		return nil
	}
	h, err := replica.LoadHistory(n.cfg.DataDir)
	if err != nil {
		return err
	}
	n.repl = &replication{history: h, sync: rc.Mode == "sync", syncTimeout: time.Duration(rc.SyncTimeoutMs) * time.Millisecond,
		lostGoesAsync: rc.OnStandbyLost == "async", failed: make(chan struct{}), stopWatch: make(chan struct{}), watchDone: make(chan struct{}),
		timer: time.NewTimer(time.Hour)}
	n.repl.timer.Stop()
	if rc.Role == "standby" || (rc.Role == "primary" && rc.Primary != "" && n.peerIsPrimary()) {
		n.following.Store(true)
		n.switcher.recent = newRecentEvents(recentEventsFor(n.cfg.Ring.Capacity), len(n.cfg.FIX.Sessions)+1)
	}
	return nil
}

// peerIsPrimary probes the peer of a node configured as primary
// (replication.primary names the peer's replication port) before it begins
// a term. An old primary that comes back after a failover finds its
// successor serving there and must not begin an epoch or open FIX beside
// it: it starts as its standby, exactly as with role standby, and the hello
// tells it which of its records the primary lacks (never acknowledged to
// anyone); they are set aside before it follows. A peer that does not
// answer as a primary within the time a standby would take it for dead
// (nothing listens, or no answer) leaves this node to start as primary.
func (n *Node) peerIsPrimary() bool {
	rc, h := n.cfg.Replication, n.repl.history
	ours := h.Current()
	timeout := time.Duration(max(rc.FailoverMs, 10*rc.HeartbeatMs)) * time.Millisecond
	p, err := replica.Probe(rc.Primary, ours, timeout)
	switch {
	case err != nil:
		n.logf("ringex: the peer %s did not answer as a primary (%v): starting as primary", rc.Primary, err)
		return false
	case !p.Primary:
		n.logf("ringex: no primary at %s (nothing listens there): starting as primary", rc.Primary)
		return false
	case p.OlderThan(h.Entries()):
		n.logf("ringex: REJOINING AS STANDBY: %s is primary at epoch %d, but this node knows epoch %d, which it lacks: "+
			"that primary is stale and will refuse this node; stop it, then start this one again", rc.Primary, p.Epoch, ours)
	default:
		n.logf("ringex: REJOINING AS STANDBY: %s is primary at epoch %d (ours %d): following it, setting aside anything this "+
			"node journaled that it lacks (never acknowledged); FIX opens only on promotion", rc.Primary, p.Epoch, ours)
	}
	return true
}

// startReplication runs after the ring has started: a primary opens its
// replication port, a standby starts following.
func (n *Node) startReplication() error {
	r := n.repl
	if r == nil {
		return nil
	}
	// Everything journaled before this process is taken as published: its
	// Sender's heartbeats and probe answers say so until the publish stage
	// passes more.
	r.published.Store(n.baseSeq - 1)
	if !n.following.Load() {
		close(r.watchDone)
		return n.startSender(false)
	}
	r.followed.Store(n.baseSeq - 1)

	rc := n.cfg.Replication
	r.receiver = replica.NewReceiver(replica.ReceiverOptions{Primary: rc.Primary, Journal: n.journal, History: r.history,
		HeartbeatMs: rc.HeartbeatMs, TimeoutMs: max(rc.FailoverMs, 10*rc.HeartbeatMs), Apply: n.follow, Logf: n.logf,
		RefusedRetryMaxMs: rc.RefusedRetryMaxMs, SnapshotDir: n.cfg.DataDir})
	r.recvDone = make(chan struct{})
	go func() {
		defer close(r.recvDone)
		if err := r.receiver.Run(); err != nil {
			n.logf("ringex: STANDBY STOPPED: %v", err)
			n.fail(err)
			r.stopOnItsOwn(err)
		}
	}()
	go n.watchPrimary()
	return nil
}

// recentEventsFor is the bound of a standby's recentEvents: twice the
// ring's capacity, in events, and at least 64 Ki. The primary's publish
// stage trails what it shipped by at most the ring's capacity in commands;
// the rest covers the heartbeat that carries the published seq lagging, and
// commands with more than one event.
var recentEventsFor = func(ringCapacity uint32) int {
	return max(2*int(ringCapacity), 1<<16)
}

// stopOnItsOwn records why the node stopped on its own and closes failed
// (Done), once.
func (r *replication) stopOnItsOwn(err error) {
	r.failOnce.Do(func() {
		r.failErr.Store(&err)
		close(r.failed)
	})
}

// FailErr is the error that stopped the node on its own (see Done).
func (n *Node) FailErr() error {
	if n.repl == nil {
		return nil
	}
	if p := n.repl.failErr.Load(); p != nil {
		return *p
	}
	return nil
}

// startSender begins a new epoch and opens the replication port. A promoted
// node starts alone (degraded): its old primary is gone, and waiting for a
// standby would make the failover useless; it is back in sync when a
// connected standby has acknowledged everything shipped before a batch.
func (n *Node) startSender(promoted bool) error {
	r, rc := n.repl, n.cfg.Replication
	next := n.journal.LastSeq() + 1
	epoch, err := r.history.Begin(next)
	if err != nil {
		return err
	}
	s, err := replica.Listen(replica.SenderOptions{Listen: rc.Listen, JournalDir: n.journalDir(), History: r.history, NextSeq: next,
		HeartbeatMs: rc.HeartbeatMs, TimeoutMs: max(rc.FailoverMs, 10*rc.HeartbeatMs),
		WindowRecords: max(int(n.cfg.Ring.Capacity)*2, 1<<16), Delivered: n.switcher.Delivered, Published: r.published.Load, Logf: n.logf})
	if err != nil {
		return err
	}
	if promoted && r.sync {
		r.degraded.Store(true)
		r.degradations.Add(1)
	}
	r.sender.Store(s)
	n.startPeerWatch(s)
	n.logf("ringex: primary, epoch %d from seq %d, replication on %s, mode %s (onStandbyLost %s)", epoch, next, s.Addr(), rc.Mode, rc.OnStandbyLost)
	return nil
}

// replicateBatch is the replicate handler, beside the journal handler in the
// first stage. Hot path: no allocation once the buffers have grown to the
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
	if !r.sync {
		return
	}
	if r.degraded.Load() {
		// Back in sync only when the standby now connected has
		// acknowledged everything before this batch: "caught up once"
		// would let a standby still behind (or one that timed out and
		// stayed connected) make every batch wait syncTimeout again.
		if st := s.Stats(); st.Connected && st.Acked >= first-1 {
			r.degraded.Store(false)
			n.logf("ringex: REPLICATION back in sync: the standby has everything to seq %d; acknowledgements wait for it again", st.Acked)
		} else {
			return
		}
	}
	n.awaitStandby(s, last)
}

// awaitStandby holds the batch ending at last until the standby has it.
func (n *Node) awaitStandby(s *replica.Sender, last int64) {
	r := n.repl
	for {
		ok, err := s.Await(last, r.syncTimeout, r.timer)
		if ok {
			return
		}
		if err != nil || n.stopping.Load() {
			n.fail(fmt.Errorf("replication: stopped before the standby acknowledged seq %d; it was never acknowledged to a broker", last))
			return
		}
		if r.lostGoesAsync {
			r.degraded.Store(true)
			r.degradations.Add(1)
			n.logf("ringex: REPLICATION DEGRADED: no acknowledgement from the standby for %v (seq %d); going on ALONE (onStandbyLost \"async\"): a failover now loses what the standby lacks", r.syncTimeout, last)
			return
		}
		n.logf("ringex: REPLICATION WAITING: no acknowledgement from the standby for %v; acknowledging nothing after seq %d until a standby has it (onStandbyLost \"wait\")", r.syncTimeout, s.Stats().Acked)
	}
}

// follow is the Receiver's Apply: a record the standby has journaled goes
// into the ring as the primary sequenced it.
func (n *Node) follow(seq int64, rec []byte) error {
	var cmd matcher.Command
	if err := cmd.Decode(rec); err != nil {
		return fmt.Errorf("record %d: %w", seq, err)
	}
	if cmd.Seq != seq {
		return fmt.Errorf("record %d holds command sequence %d", seq, cmd.Seq)
	}
	rs, err := n.ring.Claim()
	if err != nil {
		return err
	}
	if n.baseSeq+rs != seq {
		n.ring.Publish(rs)
		return fmt.Errorf("record %d would take ring slot of seq %d", seq, n.baseSeq+rs)
	}
	s := n.ring.Slot(rs)
	s.cmd = cmd
	s.nEvents = 0
	n.ring.Publish(rs)
	n.repl.followed.Store(seq)
	return nil
}

// watchPrimary promotes a standby whose primary has been silent for
// failoverMs, when that is allowed (config checks it: sync mode, wait on a
// lost standby) and it has once been in sync with it.
func (n *Node) watchPrimary() {
	r, rc := n.repl, n.cfg.Replication
	defer close(r.watchDone)
	if rc.FailoverMs <= 0 {
		<-r.stopWatch
		return
	}
	tick := time.NewTicker(time.Duration(max(rc.HeartbeatMs/4, 5)) * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.stopWatch:
			return
		case <-r.failed:
			return
		case <-tick.C:
		}
		silent := r.receiver.SilentFor()
		if !r.receiver.EverInSync() || silent < time.Duration(rc.FailoverMs)*time.Millisecond {
			continue
		}
		n.logf("ringex: FAILOVER: no frame from the primary %s for %v (failoverMs %d): promoting", rc.Primary, silent.Round(time.Millisecond), rc.FailoverMs)
		go n.Promote() // Promote stops this watcher
		return
	}
}

// Promote turns a standby into the primary: it stops following, lets the
// pipeline finish what was received, begins a new epoch, opens its
// replication port and then the FIX acceptor. It returns the new epoch.
func (n *Node) Promote() (uint64, error) {
	r := n.repl
	if r == nil {
		return 0, errors.New("replication is off")
	}
	r.promoteMu.Lock()
	defer r.promoteMu.Unlock()
	if !n.following.Load() {
		return r.history.Current(), errors.New("this node is already the primary")
	}
	if n.ring.Err() != nil {
		return 0, fmt.Errorf("this standby has stopped: %w", n.ring.Err())
	}
	start := time.Now()
	select {
	case <-r.stopWatch:
	default:
		close(r.stopWatch)
	}
	r.receiver.Stop()
	<-r.recvDone
	last := r.followed.Load()
	for r.published.Load() < last {
		if err := n.ring.Err(); err != nil {
			return 0, fmt.Errorf("promotion: the pipeline failed: %w", err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	if got := n.journal.LastSeq(); got != last {
		return 0, fmt.Errorf("promotion: journal ends at %d, applied to %d", got, last)
	}
	// The sender opens while the node still counts as following: the ring
	// is drained, and nothing else submits until following is false (the
	// checkpointer waits for it, FIX is not open). A checkpoint submitted
	// between the two would be journaled but not shipped, and the next
	// batch would be handed to a sender that expects the checkpoint's seq:
	// the replicate handler would panic and the new primary stop.
	if err := n.startSender(true); err != nil {
		n.fail(err)
		return 0, err
	}
	n.following.Store(false)
	plan := n.unpublished()
	if n.opts.Publisher == nil {
		if err := n.openGateway(plan, last); err != nil {
			n.fail(err)
			return 0, err
		}
	} else {
		p := n.opts.Publisher
		n.switcher.to.Store(&p)
		if evs, _ := n.switcher.recent.after(plan.published); len(evs) > 0 {
			n.logf("ringex: %d events after seq %d may not have reached brokers; no FIX gateway here to resend them", len(evs), plan.published)
		}
	}
	epoch := r.history.Current()
	n.logf("ringex: PROMOTED to primary: epoch %d, last seq %d, serving FIX on %s; promotion took %v",
		epoch, last, n.cfg.FIX.Listen, time.Since(start).Round(time.Microsecond))
	return epoch, nil
}

// resendPlan is what a promoted standby resends of the reports its old
// primary may not have got to its brokers (unpublished).
type resendPlan struct {
	kept      []matcher.Event // every event the buffer kept, oldest first
	delivered []int64         // the delivery marks of the primary's last heartbeat, by account; nil when none came
	published int64           // the last seq the primary said it published
	// rebuild marks, by account, those whose reports after their mark the
	// buffer no longer holds: they are rebuilt from the journal
	// (rebuildReports), from the commands after rebuildFrom, the lowest
	// such mark's seq.
	rebuild     []bool
	rebuildFrom int64
}

// unpublished plans, on a drained standby about to serve, the resending of
// the reports its old primary may not have got to its brokers: the events
// the buffer kept, and the accounts whose reports after their mark it no
// longer holds.
func (n *Node) unpublished() resendPlan {
	recent := n.switcher.recent
	if recent == nil {
		return resendPlan{}
	}
	plan := resendPlan{published: n.repl.receiver.PrimaryPublished(), delivered: n.repl.receiver.PrimaryDelivered(),
		rebuild: make([]bool, len(n.cfg.FIX.Sessions)+1)}
	plan.kept, _ = recent.after(0)
	for a := 1; a <= len(n.cfg.FIX.Sessions); a++ {
		from := plan.published
		if a < len(plan.delivered) && plan.delivered[a] > 0 {
			from = gateway.WhollyDelivered(plan.delivered[a])
		}
		if !recent.lostAfter(uint32(a), from) {
			continue
		}
		if !plan.rebuilding() || from < plan.rebuildFrom {
			plan.rebuildFrom = from
		}
		plan.rebuild[a] = true
		n.logf("ringex: PROMOTION: reports for %s of commands after seq %d are no longer in the buffer of %d events: "+
			"they are rebuilt from the journal, and its reports wait for them", n.cfg.FIX.Sessions[a-1].TargetCompID, from, len(recent.evs))
	}
	return plan
}

func (p *resendPlan) rebuilding() bool { return slices.Contains(p.rebuild, true) }

// openGateway opens the FIX acceptor of a promoted standby whose last
// command is seq last. Session stores are not replicated: a store this
// node kept from an earlier term as primary is stale, so it is moved aside
// and every session starts at sequence 1 (brokers log on with
// ResetSeqNumFlag=Y; see the README). The reports of plan (see
// gateway.ResendOnLogon) are resent to each session after its next Logon,
// those rebuilt from the journal as soon as they are (rebuildReports).
func (n *Node) openGateway(plan resendPlan, last int64) error {
	store := filepath.Join(n.cfg.DataDir, "fix")
	if _, err := os.Stat(store); err == nil {
		aside := fmt.Sprintf("%s.epoch-%d-stale", store, n.repl.history.Current()-1)
		if err := os.Rename(store, aside); err != nil {
			return fmt.Errorf("promotion: move stale FIX session stores aside: %w", err)
		}
		n.logf("ringex: FIX session stores of an earlier term moved to %s", aside)
		pruneStaleStores(n.cfg.DataDir, n.logf)
	}
	gwOpts, err := gatewayOptions(n.cfg, n.logf)
	if err != nil {
		return err
	}
	g, err := gateway.New(gwOpts, n)
	if err != nil {
		return err
	}
	if err := n.rememberClOrdIDs(g); err != nil {
		return err
	}
	g.SetDeliveredBefore(last + 1)
	reports, sessions := g.ResendOnLogon(plan.kept, plan.delivered, plan.published, plan.rebuild)
	g.InitStoredMarks() // a crash before the Logons rebuilds these again
	var p Publisher = g
	n.switcher.to.Store(&p)
	n.endDayLeftOpen()
	how := "by the delivery marks of its last heartbeat"
	if plan.delivered == nil {
		how = fmt.Sprintf("after seq %d (the last the old primary said it published)", plan.published)
	}
	n.logf("ringex: PROMOTION: %d reports the old primary's brokers may lack, %s, pending for %d sessions: "+
		"each is resent with PossResend=Y after the session's next Logon", reports, how, sessions)
	if err := g.Start(); err != nil {
		return err
	}
	n.gateway = g
	if plan.rebuilding() {
		n.repl.rebuildDone = make(chan struct{})
		go n.rebuildReports(g, plan, last)
	}
	return nil
}

// rebuildReports regenerates, beside the serving pipeline, the reports of
// plan's rebuild accounts from the journal and hands them to the gateway
// (gateway.Regenerated). The promotion does not wait for it: how long it
// takes grows with how far back the oldest such account's mark is.
func (n *Node) rebuildReports(g *gateway.Gateway, plan resendPlan, last int64) {
	defer close(n.repl.rebuildDone)
	start := time.Now()
	evs, replayed, snap, err := n.regenerate(plan.rebuildFrom, last, plan.rebuild)
	reports, sessions := g.Regenerated(evs, plan.delivered, plan.published, err)
	if err != nil {
		n.logf("ringex: PROMOTION: reports of commands %d..%d could not be rebuilt from the journal: %v; "+
			"those brokers get their new reports without them (OrderStatusRequest answers each order's state)", plan.rebuildFrom+1, last, err)
		return
	}
	n.logf("ringex: PROMOTION: %d reports for %d sessions rebuilt from the journal in %v (%d commands replayed from %s)",
		reports, sessions, time.Since(start).Round(time.Millisecond), replayed, startName(snap))
}

func startName(snap int64) string {
	if snap == 0 {
		return "the first record"
	}
	return fmt.Sprintf("the snapshot at seq %d", snap)
}

// regenerate rebuilds from the journal the events of the commands after
// seq from, up to last, that go to the accounts want marks: fresh engines
// start from the newest snapshot at or before from (or from the first
// record) and apply the journal as the match stage did, so that the events
// are the ones the old primary published, with the same ExecIDs (the
// matcher is a pure function of the journaled input). It returns them in
// publish order, with the commands replayed and the snapshot's seq (0:
// none).
func (n *Node) regenerate(from, last int64, want []bool) (evs []matcher.Event, replayed int, snap int64, err error) {
	engines, err := matcher.NewPartitions(EngineConfig(n.cfg), len(n.partitions))
	if err != nil {
		return nil, 0, 0, err
	}
	if snap, err = n.restoreInto(engines, from); err != nil {
		return nil, 0, 0, err
	}
	first, err := journal.FirstSeq(n.journalDir())
	if err != nil {
		return nil, 0, snap, err
	}
	if first > snap+1 {
		return nil, 0, snap, fmt.Errorf("journal %s begins at sequence %d, and no usable snapshot is at or before sequence %d", n.journalDir(), first, from)
	}
	replayed, _, err = applyJournal(n.journalDir(), engines, snap+1, last, func(cmdEvs []matcher.Event) error {
		if n.stopping.Load() {
			return errors.New("the node is stopping")
		}
		for i := range cmdEvs {
			// A mass cancel's counts are kept from before from too: its
			// report, if resent, adds them all (gateway.ResendOnLogon).
			if ev := &cmdEvs[i]; (ev.Seq > from || ev.Type == matcher.EvMassCancelReport) && int(ev.Account) < len(want) && want[ev.Account] {
				evs = append(evs, *ev)
			}
		}
		return nil
	})
	if err == nil && snap+int64(replayed) < last {
		err = fmt.Errorf("journal %s ends at sequence %d, before %d", n.journalDir(), snap+int64(replayed), last)
	}
	return evs, replayed, snap, err
}

// deliveryReporter is a publisher that knows how far each account's
// reports reached its broker: the gateway (gateway.Gateway.Delivered).
type deliveryReporter interface {
	Delivered(dst []int64) []int64
}

// Delivered is the Sender's Delivered: the delivery marks of the publisher
// the node serves with, none while it follows or has no gateway. The
// heartbeat goroutine calls it; to is atomic.
func (p *switchPublisher) Delivered(dst []int64) []int64 {
	if to := p.to.Load(); to != nil {
		if d, ok := (*to).(deliveryReporter); ok {
			return d.Delivered(dst)
		}
	}
	return dst
}

// stopReplication runs first in Stop.
func (n *Node) stopReplication() {
	r := n.repl
	if r == nil {
		return
	}
	select {
	case <-r.stopWatch:
	default:
		close(r.stopWatch)
	}
	<-r.watchDone
	r.promoteMu.Lock()
	defer r.promoteMu.Unlock()
	if r.rebuildDone != nil {
		<-r.rebuildDone // it sees stopping and ends
	}
	if w := r.peer.Load(); w != nil {
		w.halt()
	}
	if n.following.Load() && r.receiver != nil {
		r.receiver.Stop()
		<-r.recvDone
	}
}

// ReplicationAddr is the replication port of a primary, nil otherwise.
func (n *Node) ReplicationAddr() net.Addr {
	if n.repl == nil {
		return nil
	}
	if s := n.repl.sender.Load(); s != nil {
		return s.Addr()
	}
	return nil
}

// StateHash is the combined state hash of the engines. Only after Stop: the
// engines belong to the match goroutines while the node runs. After a
// failure (a journal error, a standby that did not acknowledge) the engines
// may have applied commands beside the journal that it never made durable,
// so then it is refused: a restart replays what is.
func (n *Node) StateHash() (uint64, error) {
	if !n.stopping.Load() {
		return 0, errors.New("StateHash needs a stopped node")
	}
	if err := n.ring.Err(); err != nil {
		return 0, fmt.Errorf("StateHash of a node that failed (%w): its engines may hold what was never journaled", err)
	}
	return n.engines().Hash(), nil
}
