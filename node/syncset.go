package node

// The sync set of a shard led through etcd (cluster/syncset.go): the
// members that hold every record this term acknowledged. The primary puts
// it in etcd, and counts it in replica.Sender.SetSync, in this order:
//
//   - Before the term's first acknowledgement: {this node}
//     (beginSyncSet). A node that just won the shard knows no standby of
//     its own term yet; the set of the term before (which names standbys
//     of another primary) must not stand for records this one
//     acknowledges.
//   - A standby joins once it has caught up (widenSync): the Sender
//     counts it first; if it holds every record that may have been
//     acknowledged before the count began, the wider set is put in etcd,
//     otherwise it is counted no more and tried again later. Nothing
//     waits for it to catch up, and while it is counted before the put
//     acknowledgements wait for it too: stricter, never looser.
//   - A standby that has not acknowledged for syncTimeout leaves
//     (narrowSync): the smaller set is put in etcd BEFORE the Sender stops
//     counting it, so that nothing is acknowledged without it while etcd
//     still says it holds everything. With onStandbyLost "wait", the last
//     standby of the set never leaves: nothing more is acknowledged until
//     it is back. With "async" it may: the set is then {this node}.
//   - An async primary's set stays {this node}: it acknowledges what no
//     standby may hold, so none takes the shard without an operator.
//
// Every change is an etcd round trip under syncMu: a cold path, once per
// standby that joins or leaves, never per batch. The replicate handler
// reads two atomics per batch (the term the set was put for, and
// replica.Sender.Outside).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/replica"
)

// syncState is the sync set of the term a primary leads.
type syncState struct {
	mu      sync.Mutex    // orders the set's writes to etcd and to the Sender
	token   atomic.Uint64 // the term whose set is put; 0: none yet
	members atomic.Pointer[[]string]
	// counted is what the Sender counts (SetSync), under mu: nil while
	// no standby has joined in a sync term that did not start alone (the
	// most advanced standby counts; etcd's set is {this node}, stricter);
	// otherwise the standbys of etcd's set, empty when alone.
	counted []string
	failing bool      // under mu: the last put failed (logged once)
	triedAt time.Time // replicate handler only: its last widenSync
}

// SyncSet is the sync set this primary last put in etcd, itself first;
// nil on a standby and before the term's first put.
func (n *Node) SyncSet() []string {
	if n.shard == nil || n.leading() == nil {
		return nil
	}
	if p := n.shard.syncSet.members.Load(); p != nil {
		return *p
	}
	return nil
}

// replicateShard is the replicate handler's part for a shard led through
// etcd, after Ship: it puts the term's first set, widens it when a
// standby has caught up, and in sync mode waits until every standby of
// the set holds the batch. Hot path: two atomic loads when the set stands.
func (n *Node) replicateShard(s *replica.Sender, first, last int64) {
	r, sh := n.repl, n.shard
	l := sh.lead.Load()
	if l == nil {
		return
	}
	if sh.syncSet.token.Load() != uint64(l.Token()) && !n.beginSyncSet(s, first-1) {
		return // the pipeline is failed: this batch is never acknowledged
	}
	if !r.sync {
		return
	}
	if s.Outside() > 0 {
		if now := time.Now(); now.Sub(sh.syncSet.triedAt) >= widenEvery {
			sh.syncSet.triedAt = now
			n.widenSync(s, first-1) // nothing from first on is acknowledged yet
		}
	}
	if r.degraded.Load() {
		return // alone: the set is {this node}
	}
	start := time.Now()
	n.awaitSyncSet(s, last)
	n.lat.replAck.Record(int64(time.Since(start)))
}

// beginSyncSet puts {this node} as the term's set before its first
// acknowledgement (seq: the last record before it), trying again every
// 100 ms while etcd does not answer; false when the term ended or the
// node stopped meanwhile (the pipeline is failed). Replicate handler only.
func (n *Node) beginSyncSet(s *replica.Sender, seq int64) bool {
	sh, r := n.shard, n.repl
	sh.syncSet.mu.Lock()
	defer sh.syncSet.mu.Unlock()
	for {
		l := sh.lead.Load()
		if l == nil || l.Guard().Ended() || n.stopping.Load() {
			n.fail(fmt.Errorf("replication: the sync set of this term could not be put before seq %d: never acknowledged", seq+1))
			return false
		}
		if n.putSyncSet(nil, seq) {
			break
		}
		sh.syncSet.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		sh.syncSet.mu.Lock()
	}
	sh.syncSet.counted = nil
	if r.degraded.Load() { // a promoted sync primary starts alone
		sh.syncSet.counted = []string{}
	}
	s.SetSync(sh.syncSet.counted)
	sh.syncSet.token.Store(uint64(sh.lead.Load().Token()))
	return true
}

// putSyncSet puts the set {this node} ∪ standbys of term token in etcd.
// false: it could not (said once until a put succeeds). Under mu.
func (n *Node) putSyncSet(standbys []string, seq int64) bool {
	sh := n.shard
	l := sh.lead.Load()
	if l == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.etcdTimeout())
	defer cancel()
	if err := l.SetSync(ctx, standbys, seq); err != nil {
		if !sh.syncSet.failing {
			n.log.Warn("SYNC SET NOT CHANGED: acknowledging nothing the new set would allow until etcd takes it", "err", err)
		}
		sh.syncSet.failing = true
		return false
	}
	sh.syncSet.failing = false
	members := append([]string{n.cfg.Cluster.Name}, standbys...)
	sh.syncSet.members.Store(&members)
	n.log.Warn("SYNC SET changed in etcd: only these members may take the shard by election", "term", uint64(l.Token()), "members", strings.Join(members, ", "), "seq", seq)
	return true
}

func (n *Node) etcdTimeout() time.Duration {
	return time.Duration(n.cfg.Cluster.LeaseTTLMs) * time.Millisecond
}

// awaitSyncSet holds the batch ending at last until the set holds it; a
// standby of the set silent for syncTimeout leaves it (narrowSync) when
// the mode allows.
func (n *Node) awaitSyncSet(s *replica.Sender, last int64) {
	r := n.repl
	for {
		ok, err := s.Await(last, r.syncTimeout, r.timer)
		if ok {
			return
		}
		if err != nil || n.stopping.Load() {
			n.fail(fmt.Errorf("replication: stopped before the sync set acknowledged seq %d; it was never acknowledged to a broker", last))
			return
		}
		if n.narrowSync(s, last) {
			continue
		}
		n.log.Warn("REPLICATION WAITING: the sync set has not acknowledged; acknowledging nothing after the acknowledged seq until it has", "seq", last,
			"waited", r.syncTimeout, "acked", s.Stats().Acked, "on_standby_lost", n.cfg.Replication.OnStandbyLost)
	}
}

// narrowSync takes the standbys of the set that do not hold last out of
// it, in etcd first, then in what the Sender counts. With onStandbyLost
// "wait" it never takes out the last one. It reports whether the set
// changed (the caller awaits again). Replicate handler only.
func (n *Node) narrowSync(s *replica.Sender, last int64) bool {
	sh, r := n.shard, n.repl
	sh.syncSet.mu.Lock()
	defer sh.syncSet.mu.Unlock()
	counted := sh.syncSet.counted
	if counted == nil { // no standby joined yet; etcd's set is {this node}
		if !r.lostGoesAsync {
			return false
		}
		n.goAlone(s, last, "no standby has acknowledged")
		return true
	}
	acked := ackedByName(s.Stats())
	var keep, lost []string
	for _, name := range counted {
		if acked[name] >= last {
			keep = append(keep, name)
		} else {
			lost = append(lost, name)
		}
	}
	if len(lost) == 0 || (len(keep) == 0 && !r.lostGoesAsync) {
		return false
	}
	if !n.putSyncSet(keep, s.Stats().Shipped) {
		return false
	}
	if len(keep) == 0 {
		n.goAlone(s, last, fmt.Sprintf("standby %s has not acknowledged", strings.Join(lost, ", ")))
		return true
	}
	sh.syncSet.counted = keep
	s.SetSync(keep)
	n.log.Warn("SYNC SET: members left it (no acknowledgement); acknowledgements wait for the others", "left", strings.Join(lost, ", "), "seq", last, "waited", r.syncTimeout, "members", strings.Join(keep, ", "))
	return true
}

// goAlone makes the Sender count no standby, once etcd's set is {this
// node}. Under mu.
func (n *Node) goAlone(s *replica.Sender, last int64, why string) {
	r := n.repl
	n.shard.syncSet.counted = []string{}
	s.SetSync([]string{})
	r.degraded.Store(true)
	r.degradations.Add(1)
	n.log.Warn("REPLICATION DEGRADED: going on ALONE (onStandbyLost \"async\"): the sync set is this node alone, so no standby takes the shard without an operator", "why", why, "seq", last, "waited", r.syncTimeout)
}

// ackedByName is each connected standby's acknowledged seq, by name.
func ackedByName(st replica.SenderStats) map[string]int64 {
	out := make(map[string]int64, len(st.Standbys))
	for _, sb := range st.Standbys {
		if sb.Ready && sb.Name != "" {
			out[sb.Name] = sb.Acked
		}
	}
	return out
}

// widenSync adds to the set the standbys that have caught up, without
// waiting for any: the Sender counts them first, then those that hold
// every record that may have been acknowledged before the count (through
// held: the last record before the batch the replicate handler is about
// to await; -1 from elsewhere: everything shipped when the count began)
// are put in etcd's set, and the others are counted no more. A failed put
// counts none of them. On a node that has stopped (a clean stop, the
// Sender closed), the standbys that hold everything published join
// without a count. Called by the replicate handler (at most once per
// widenEvery), and by runShard on an idle primary and after a clean stop.
func (n *Node) widenSync(s *replica.Sender, held int64) {
	sh, r := n.shard, n.repl
	sh.syncSet.mu.Lock()
	defer sh.syncSet.mu.Unlock()
	l := sh.lead.Load()
	if !r.sync || l == nil || sh.syncSet.token.Load() != uint64(l.Token()) {
		return
	}
	prior := sh.syncSet.counted
	var joining []string
	for _, sb := range s.Stats().Standbys {
		if sb.Ready && sb.CaughtUp && sb.Name != "" && sb.Name != n.cfg.Cluster.Name && !slices.Contains(prior, sb.Name) {
			joining = append(joining, sb.Name)
		}
	}
	if len(joining) == 0 {
		return
	}
	switch {
	case n.stopping.Load():
		held = r.published.Load() // drained: what was acknowledged is final
	default:
		s.SetSync(append(slices.Clone(prior), joining...)) // counted from here on
		if held < 0 {
			held = s.Stats().Shipped // read after the count began
		}
	}
	acked := ackedByName(s.Stats())
	next := slices.Clone(prior)
	for _, name := range joining {
		if acked[name] >= held {
			next = append(next, name)
		}
	}
	if len(next) == len(prior) || !n.putSyncSet(next, held) {
		s.SetSync(prior)
		return
	}
	sh.syncSet.counted = next
	s.SetSync(next)
	if r.degraded.Load() {
		r.degraded.Store(false)
		n.log.Warn("REPLICATION back in sync: the sync set holds everything; acknowledgements wait for it again", "seq", held)
	}
}

// widenEvery bounds how often the replicate handler tries to widen the
// set while a caught-up standby stays outside it (one that lags again
// after catching up): each try reads the Sender's list of standbys.
const widenEvery = 10 * time.Millisecond

// widenIdle is widenSync for runShard: on a primary whose replicate
// handler may be idle, and after a clean stop.
func (n *Node) widenIdle() {
	if n.repl == nil || n.shard == nil || n.following.Load() {
		return
	}
	if s := n.repl.sender.Load(); s != nil && s.Outside() > 0 {
		n.widenSync(s, -1)
	}
}
