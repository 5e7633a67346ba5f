package node

// A node of a shard led through etcd (config.Cluster, package cluster):
// etcd decides alone which node is the primary, and the two-node probe,
// failover timer and step-down are not used. What one start of such a
// node holds is a shardNode; runShard (shard_run.go) is its supervisor.
//
//   - The epoch of a term is its fencing token (the leader key's create
//     revision): replica.History.BeginAt records it, and it travels in the
//     epoch field of every replication frame. A standby's Receiver admits
//     each frame through the process's cluster.Fence, seeded from its
//     history and raised by every leader etcd names: a frame of an older
//     term ends the connection before anything of it lands.
//   - The publish stage acknowledges a batch only while the term's guard is
//     valid (one atomic load per batch, no etcd round trip): otherwise it
//     holds the batch, re-checking, and acknowledges nothing after it
//     until etcd has answered again; a term that has ended fails the
//     pipeline, so that batch and everything after it is never
//     acknowledged by this node (holdForLease). The FIX session writers
//     check the guard again right before each socket write (mayDeliver),
//     so a batch that passed the check before a long pause waits there;
//     the term's end cuts a write under way at once (cutWritesOnFence).
//   - A primary whose guard has been out for the margin and a TTL more
//     takes its term as over (its lease has expired, or etcd has been
//     gone that long): it logs its brokers out saying why and restarts as
//     a lost term does (shardRun.leaseExpired).
//   - The primary keeps its term's sync set in etcd (syncset.go): the
//     members that hold every record it acknowledged. It puts the set
//     before its first acknowledgement and before every change, so that
//     no member lacking an acknowledged record takes the shard by
//     election; an async primary's set is itself alone while it runs,
//     and a clean stop names the standbys that hold all it published.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
)

// shardNode is what etcd decided for one start of a node: the term it
// leads (primary) or the leader it follows (standby).
type shardNode struct {
	member *cluster.Member
	fence  *cluster.Fence                     // the process's: it outlives a restart in place
	leader cluster.LeaderInfo                 // a standby's primary, as etcd named it
	lead   atomic.Pointer[cluster.Leadership] // the term this node serves; nil while standby
	force  chan chan forceResult              // ForcePromote → runShard

	pause     atomic.Bool // a handoff under way: the publish stage holds its batches
	handoffMu sync.Mutex  // one handoff at a time: only it sets and clears pause
	syncSet   syncState   // the term's sync set (syncset.go)
	holding   bool        // publish stage only: acknowledgements are held
	heldAt    time.Time   // publish stage only: when the hold began
}

// configFor is cfg with the role etcd decided: a standby follows the
// leader's replication address; neither probes a peer nor promotes itself
// on a timer (etcd's election replaces both).
func (sh *shardNode) configFor(cfg config.Config) config.Config {
	cfg.Replication.Role, cfg.Replication.Primary = config.RolePrimary, ""
	if sh.lead.Load() == nil {
		cfg.Replication.Role, cfg.Replication.Primary = config.RoleStandby, sh.leader.ReplAddr
	}
	cfg.Replication.FailoverMs = 0
	return cfg
}

// admit is the Receiver's Admit: the frame's epoch is its fencing token.
func (sh *shardNode) admit(epoch uint64) error { return sh.fence.Admit(cluster.Token(epoch)) }

// leading is the term whose guard the publish stage checks: nil on a
// standby, and on a node not led through etcd.
func (n *Node) leading() *cluster.Leadership {
	if n.shard == nil {
		return nil
	}
	return n.shard.lead.Load()
}

// mayDeliver is the FIX sessions' fix.Config.MayDeliver on a node of a
// shard led through etcd: while this node leads, bytes of a report reach a
// broker's socket only before the term's guard deadline, so one queued
// under a valid guard and reaching the session writer after a freeze
// longer than the margin stays queued (stored) instead, and a write
// blocked on a broker that stopped reading ends at the deadline. The zero
// Time once the term has ended (nothing goes out); no bound on a standby.
// One atomic load per socket write.
func (n *Node) mayDeliver() time.Time {
	l := n.leading()
	if l == nil {
		return noDeliveryBound
	}
	return l.Guard().Deadline()
}

// cutWritesOnFence has g's socket writes cut when the term this node leads
// ends (its guard fenced, before Resign or a handoff deletes the leader
// key): a write blocked on a broker that does not read would otherwise go
// on under the deadline it started with, while the next leader may
// already acknowledge.
func (n *Node) cutWritesOnFence(g *gateway.Gateway) {
	if l := n.leading(); l != nil {
		l.Guard().OnFence(g.CutWrites)
	}
}

// noDeliveryBound is mayDeliver's answer when no lease bounds delivery.
var noDeliveryBound = time.Unix(1<<62, 0)

// stopFIX logs every FIX session out with text and closes the FIX port,
// once this node's term is over: brokers hear why at once. Runs on
// runShard's goroutine, which also sets n.gateway on a promotion.
func (n *Node) stopFIX(text string) {
	if g := n.gateway; g != nil {
		g.StopWith(text)
	}
}

// leaseGoneAfter is how long after the guard's deadline this node's lease
// has certainly expired unless etcd renewed it unheard: the member's
// margin (the deadline is the earliest expiry less it) and a whole TTL
// more, during which no keep-alive was answered.
func (n *Node) leaseGoneAfter() time.Duration {
	return n.shard.member.Margin() + time.Duration(n.cfg.Cluster.LeaseTTLMs)*time.Millisecond
}

// holdForLease holds the publish stage's batch lo..hi (ring seqs) while
// the guard of term l is not valid: every batch is durable already, so
// nothing is lost by waiting, and nothing is acknowledged meanwhile. It
// returns true when the guard is valid again (the batch goes out), and
// false when the term has ended or the node is stopping: then the pipeline
// is failed, and neither this batch nor any after it is acknowledged by
// this node. Said once when the hold begins and once when it ends.
func (n *Node) holdForLease(l *cluster.Leadership, lo, hi int64) bool {
	sh, g := n.shard, l.Guard()
	first := n.ring.Slot(lo).cmd.Seq
	if !sh.holding {
		sh.holding, sh.heldAt = true, time.Now()
		why := "the lease may run out (guard deadline passed; etcd has not answered a keep-alive in time); resumes when etcd answers"
		if sh.pause.Load() {
			why = "a handoff is under way (ringex promote)"
		}
		n.log.Warn("ACKNOWLEDGEMENTS HELD: "+why+": records from seq on are durable and wait", "term", uint64(l.Token()), "seq", first)
	}
	for {
		if g.Ended() || n.stopping.Load() {
			err := fmt.Errorf("term %d ended or the node stopped while seqs %d..%d were held: never acknowledged by this node",
				l.Token(), first, n.ring.Slot(hi).cmd.Seq)
			n.fail(err)
			return false
		}
		if g.Valid(time.Now()) && !sh.pause.Load() {
			sh.holding = false
			n.log.Warn("ACKNOWLEDGEMENTS RESUMED: the term still leads under a valid lease", "waited", time.Since(sh.heldAt).Round(time.Millisecond), "term", uint64(l.Token()))
			return true
		}
		time.Sleep(time.Millisecond)
	}
}

// OperatorPromote is 'ringex promote' without a node name: Promote, except
// in a shard led through etcd, where only etcd's election or a handoff by
// the leader may make a primary.
func (n *Node) OperatorPromote() (uint64, error) {
	if n.shard != nil {
		return 0, fmt.Errorf("etcd leads this shard: promote by name on the leader's admin endpoint ('ringex promote NODE'), which hands the shard off")
	}
	return n.Promote()
}

// forceResult is runShard's answer to ForcePromote.
type forceResult struct {
	token uint64
	err   error
}

// ForcePromote is 'ringex promote --force' on a standby of a shard led
// through etcd: when no leader holds the shard, this node takes it whatever
// the sync set and the other candidates say (cluster.Member.Override),
// and is promoted in place. The operator accepts losing what only the lost
// primary acknowledged. It returns the new term's token.
func (n *Node) ForcePromote() (uint64, error) {
	if n.shard == nil {
		return 0, fmt.Errorf("promote --force is for a shard led through etcd; without etcd, ringex promote promotes this standby")
	}
	if n.leading() != nil {
		return 0, fmt.Errorf("this node leads its shard already")
	}
	reply := make(chan forceResult, 1)
	select {
	case n.shard.force <- reply:
	case <-time.After(10 * time.Second):
		return 0, fmt.Errorf("the node's supervisor did not take the request within 10 s")
	}
	r := <-reply
	return r.token, r.err
}
