package node

import (
	"context"
	"fmt"
	"time"

	"github.com/ringex/ringex/cluster"
)

// A handoff ('ringex promote NODE') moves the shard to a named member
// without losing an acknowledged record, holding the leader's
// acknowledgements as briefly as it safely can:
//
//  1. Approach, nothing held: the leader acknowledges on while it waits
//     until etcd says the target's history reaches this term and its
//     durable seq is within handoffLag records of the leader's journal
//     (at most handoffApproach). Both phases learn the target's position
//     by cluster.Member.AwaitPosition: one watch on its record, and a
//     status poll for each answer that falls short.
//  2. Hold: the publish stage holds its batches (pause); the target must
//     reach the last seq journaled when the hold began, in this term (at
//     most handoffHold); then cluster.Leadership.Handoff fences the term
//     and names the target in etcd.
//
// A target that does not come near, or does not catch up in the hold,
// ends the handoff with an error that says which and how far it got; a
// hold that gives up resumes acknowledging. Everything journaled after
// the hold began was never acknowledged by this node.
var (
	handoffLag      int64 = 1000
	handoffApproach       = 10 * time.Second
	handoffHold           = 2 * time.Second
)

// Handoff hands the shard to the member named to (see above). This node's
// term ends (runShard starts it again as to's standby). It returns the seq
// to held.
func (n *Node) Handoff(to string) (int64, error) {
	l := n.leading()
	if l == nil || n.following.Load() {
		return 0, fmt.Errorf("this node does not lead its shard: ask the leader's admin endpoint ('ringex status --etcd ... --shard ...' names it)")
	}
	sh := n.shard
	if !sh.handoffMu.TryLock() {
		// A second handoff would clear pause when it ends while the first
		// still waits for its target: acknowledgements would resume past
		// the seq the first hands off at.
		return 0, fmt.Errorf("handoff to %s: another handoff is under way on this node", to)
	}
	defer sh.handoffMu.Unlock()
	near := func() cluster.Position {
		return cluster.Position{Token: l.Token(), Seq: max(n.journal.LastSeq()-handoffLag, 0)}
	}
	actx, cancel := context.WithTimeout(context.Background(), handoffApproach)
	_, err := sh.member.AwaitPosition(actx, to, near, 50*time.Millisecond)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("handoff to %s: not within %d records of this leader after %v: %w; nothing was held", to, handoffLag, handoffApproach, err)
	}
	began := time.Now()
	sh.pause.Store(true)
	// The publish stage holds from here: nothing after target is acknowledged.
	target := cluster.Position{Token: l.Token(), Seq: n.journal.LastSeq()}
	held, err := n.holdForHandoff(l, to, target)
	if err != nil {
		sh.pause.Store(false)
		return 0, fmt.Errorf("handoff to %s: acknowledgements held %v and resumed: %w", to, time.Since(began).Round(time.Millisecond), err)
	}
	n.log.Warn("HANDED OFF the shard after holding acknowledgements: the term ends here", "shard", n.cfg.Cluster.Shard, "to", to,
		"seq", target.Seq, "held_seq", held, "waited", time.Since(began).Round(time.Millisecond), "term", uint64(l.Token()))
	return held, nil
}

// holdForHandoff, with acknowledgements held, waits at most handoffHold
// for to to hold target, and then hands term l to it in etcd (within a
// lease TTL more: an etcd round trip cut short would leave the outcome
// unknown).
func (n *Node) holdForHandoff(l *cluster.Leadership, to string, target cluster.Position) (int64, error) {
	hctx, cancel := context.WithTimeout(context.Background(), handoffHold)
	held, err := n.shard.member.AwaitPosition(hctx, to, func() cluster.Position { return target }, time.Millisecond)
	cancel()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n.cfg.Cluster.LeaseTTLMs)*time.Millisecond)
	defer cancel()
	return held, l.Handoff(ctx, to, held)
}
