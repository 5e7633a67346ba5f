package node

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/replica"
)

// A replicated node is a primary or a standby (config.Replication.Role).
//
//   - Primary: the replicate handler sits in the first stage beside the
//     journal handler and ships each batch to its standbys (replica.Sender:
//     a pair's one, or a shard's, up to replica.MaxStandbys); in sync mode
//     it returns only when the standby (a shard: every standby of its sync
//     set, syncset.go) has acknowledged the batch, so publish, which runs after both handlers, never sees a batch
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
//   - Promotion turns a standby into a primary in place (Promote,
//     promote.go).
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
	holding       atomic.Int64 // the last seq of the batch awaitAcked holds past syncTimeout; 0: none
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

// ReplicationStats are a replicated node's figures for operators and tests.
type ReplicationStats struct {
	Role         config.Role // primary or standby
	Epoch        uint64
	LastSeq      int64
	Degraded     bool  // a sync primary acknowledging without a standby
	Degradations int64 // how often that began
	// Holding (sync primary): the last seq of a batch held past
	// syncTimeout for the standby's (a shard: the sync set's)
	// acknowledgement; nothing from it on is acknowledged to a broker
	// meanwhile. 0 while no batch waits that long.
	Holding int64
	Standby replica.SenderStats
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
	st := ReplicationStats{Role: config.RolePrimary, Epoch: r.history.Current(), LastSeq: n.journal.LastSeq(),
		Degraded: r.degraded.Load(), Degradations: r.degradations.Load(), Holding: r.holding.Load()}
	if n.following.Load() {
		st.Role = config.RoleStandby
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
		if st.Degraded && n.shard == nil && st.Standby.Connected && st.Standby.Acked >= st.Standby.Shipped {
			st.Degraded = false
		}
		if !n.following.Load() {
			st.InSync = st.Standby.Connected && st.Standby.CaughtUp && !st.Degraded
		}
	}
	return st, true
}

// Done is closed when the node stopped on its own: its journal or a FIX
// session store failed (halt); a standby that diverged from its primary,
// was refused by it, or failed to journal or apply, or whose pipeline
// failed (a checkpoint's state hash differs: STATE DIVERGED; a handler's
// panic), at once, with no further record needed; a primary that stepped
// down for the primary serving at its peer (replica.StepDownError); a
// promotion that failed (Promote). FailErr says which.
func (n *Node) Done() <-chan struct{} {
	if n.repl == nil {
		return n.halted
	}
	return n.repl.failed
}

func (n *Node) setupReplication() error {
	rc := n.cfg.Replication
	if rc.Role == config.RoleNone {
		return nil
	}
	h, err := replica.LoadHistory(n.cfg.DataDir)
	if err != nil {
		return err
	}
	if n.shard != nil {
		n.shard.fence.Advance(cluster.Token(h.Current())) // a restart forgets no term
	}
	n.repl = &replication{history: h, sync: rc.Mode == config.ModeSync, syncTimeout: time.Duration(rc.SyncTimeoutMs) * time.Millisecond,
		lostGoesAsync: rc.OnStandbyLost == config.LostAsync, failed: make(chan struct{}), stopWatch: make(chan struct{}), watchDone: make(chan struct{}),
		timer: time.NewTimer(time.Hour)}
	n.repl.timer.Stop()
	if rc.Role == config.RoleStandby || (rc.Role == config.RolePrimary && rc.Primary != "" && n.peerIsPrimary()) {
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
// (nothing listens, or no answer) leaves this node to start as primary; one
// that answers in another replica protocol version does not.
func (n *Node) peerIsPrimary() bool {
	rc, h := n.cfg.Replication, n.repl.history
	ours := h.Current()
	timeout := time.Duration(max(rc.FailoverMs, 10*rc.HeartbeatMs)) * time.Millisecond
	p, err := replica.Probe(rc.Primary, ours, timeout)
	var ver *replica.VersionError
	switch {
	case errors.As(err, &ver):
		// A primary of another release serves there: not beside it. As its
		// standby this node stops at once, with the same error.
		n.log.Error("the peer is a ringex of another replica protocol: not starting as primary beside it", "peer", rc.Primary, "err", err)
	case err != nil:
		n.log.Info("the peer did not answer as a primary: starting as primary", "peer", rc.Primary, "err", err)
		return false
	case !p.Primary:
		n.log.Info("no primary at the peer (nothing listens there): starting as primary", "peer", rc.Primary)
		return false
	case p.OlderThan(h.Entries()):
		n.log.Error("REJOINING AS STANDBY: the peer is primary at an epoch older than one this node knows: "+
			"that primary is stale and will refuse this node; stop it, then start this one again", "peer", rc.Primary, "epoch", p.Epoch, "our_epoch", ours)
	default:
		n.log.Warn("REJOINING AS STANDBY: the peer is primary: following it, setting aside anything this "+
			"node journaled that it lacks (never acknowledged); FIX opens only on promotion", "peer", rc.Primary, "epoch", p.Epoch, "our_epoch", ours)
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
	opts := replica.ReceiverOptions{Primary: rc.Primary, Journal: n.journal, History: r.history,
		HeartbeatMs: rc.HeartbeatMs, TimeoutMs: max(rc.FailoverMs, 10*rc.HeartbeatMs), Apply: n.follow, Log: n.logBase,
		RefusedRetryMaxMs: rc.RefusedRetryMaxMs, SnapshotDir: n.cfg.DataDir, Committed: n.receiverCommitted}
	if n.shard != nil {
		opts.Admit = n.shard.admit     // the epoch is the fencing token (cluster.go)
		opts.Name = n.cfg.Cluster.Name // the leader counts its sync set by name
	}
	r.receiver = replica.NewReceiver(opts)
	r.recvDone = make(chan struct{})
	go func() {
		defer close(r.recvDone)
		if err := r.receiver.Run(); err != nil {
			n.log.Error("STANDBY STOPPED", "err", err)
			n.fail(err)
			r.stopOnItsOwn(err)
		}
	}()
	go n.watchPrimary()
	return nil
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
	p := n.haltErr.Load()
	if n.repl != nil {
		p = n.repl.failErr.Load()
	}
	if p != nil {
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
	epoch, err := n.beginEpoch(next)
	if err != nil {
		return err
	}
	s, err := replica.Listen(replica.SenderOptions{Listen: rc.Listen, JournalDir: n.journalDir(), History: r.history, NextSeq: next,
		HeartbeatMs: rc.HeartbeatMs, TimeoutMs: max(rc.FailoverMs, 10*rc.HeartbeatMs),
		WindowRecords: max(int(n.cfg.Ring.Capacity)*2, 1<<16), Delivered: n.switcher.Delivered, Published: r.published.Load, Behind: n.standbyBehind, RebuildFrom: n.rebuildFloor, Log: n.logBase})
	if err != nil {
		return err
	}
	if promoted && r.sync {
		r.degraded.Store(true)
		r.degradations.Add(1)
	}
	r.sender.Store(s)
	if n.shard == nil { // etcd decides alone: no peer to watch
		n.startPeerWatch(s)
	}
	n.log.Info("primary", "epoch", epoch, "seq", next, "replication", s.Addr().String(), "mode", rc.Mode, "on_standby_lost", rc.OnStandbyLost)
	return nil
}

// beginEpoch begins the epoch of a new term whose first record is next:
// one above the last, or, in a shard led through etcd, the term's fencing
// token (cluster.go).
func (n *Node) beginEpoch(next int64) (uint64, error) {
	l := n.leading()
	if l == nil {
		return n.repl.history.Begin(next)
	}
	epoch := uint64(l.Token())
	n.shard.fence.Advance(l.Token())
	return epoch, n.repl.history.BeginAt(epoch, next)
}

// follow is the Receiver's Apply: a record the standby has journaled goes
// into the ring as the primary sequenced it, once the guard its start's
// replay left (followGuard) has passed it: a standby whose risk mode or
// cash unit is not its primary's stops at the first record that shows
// it (a risk venue record, or an order of a journal written with mode
// none that it follows from seq 1), with the error the replay of its own
// journal would give, before it applies that record.
func (n *Node) follow(seq int64, rec []byte) error {
	var cmd matcher.Command
	if err := cmd.DecodeAt(rec, seq); err != nil {
		return fmt.Errorf("replicated record: %w", err)
	}
	if err := n.followGuard.check(&cmd, seq); err != nil {
		return err
	}
	rs, err := n.ring.Claim()
	if err != nil {
		if cause := n.ring.Err(); cause != nil {
			return cause // what failed the pipeline, not that the ring is closed
		}
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

// StateHash is the combined state hash of the engines (and the risk
// state, with a risk stage). Only after Stop: the
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
	return stateHash(n.engines().Hash(), n.riskState()), nil
}
