package node

import (
	"slices"
	"strings"
	"time"

	"github.com/ringex/ringex/cluster"
)

// ShardStatus is a node of a shard led through etcd as it sees itself,
// read from what it holds already (its term's guard, its member's lease,
// the leader etcd named, its fence, the members its watch follows): no
// etcd round trip, so a scrape costs etcd nothing. The other members'
// seqs are as fresh as their last status poll; 'ringex status --etcd ...
// --shard ...' polls them.
type ShardStatus struct {
	Shard  string
	Member string // this node's name in the shard
	// Leader is the member etcd named leader: this node while it leads; ""
	// while a standby knows none.
	Leader string
	// Token is the fencing token: that of the term this node leads, or the
	// newest it has seen (its leader's, on a standby). The epoch of
	// replication is the same number.
	Token   uint64
	Leading bool // this node serves as the primary of a term
	// MayAcknowledge: leading, the term's guard is valid now and no
	// handoff holds the acknowledgements; Why says why not.
	MayAcknowledge bool
	Why            string `json:",omitempty"`
	// LeaseRemainingSeconds is the time until the guard runs out (a
	// leader: its term's guard; a standby: its member's lease, less the
	// same margin) unless a keep-alive extends it; 0 once out or ended.
	LeaseRemainingSeconds float64
	Handoff               bool // a handoff ('ringex promote NODE') holds the acknowledgements
	// SyncSet is the sync set this primary last put in etcd (itself
	// first): the members that hold every record it acknowledged. Itself
	// alone: no standby may take the shard without an operator.
	SyncSet []string `json:",omitempty"`
	// Members is each member of the shard, by name: this node's own
	// position live from its journal and epoch history, the others' as
	// they last published them (cluster.Member.Members).
	Members []ShardMember `json:",omitempty"`
}

// ShardMember is one member's line of a ShardStatus.
type ShardMember struct {
	Name       string
	DurableSeq int64
	Epoch      uint64 // the newest epoch of its history
	// HeardSecondsAgo is how long ago this node heard the member publish
	// DurableSeq and Epoch (at the latest, when this node joined); 0 for
	// this node itself, which reads its own live.
	HeardSecondsAgo float64
}

// shardStatus is Status's Shard: nil on a node not led through etcd.
// Atomic loads, and the members under their lock (a status read, not the
// hot path).
func (n *Node) shardStatus() *ShardStatus {
	sh := n.shard
	if sh == nil {
		return nil
	}
	now := time.Now()
	st := &ShardStatus{Shard: n.cfg.Cluster.Shard, Member: sh.member.Name(), Leader: sh.leader.Name,
		Token: uint64(sh.fence.Newest()), Handoff: sh.pause.Load(), SyncSet: n.SyncSet()}
	deadline := sh.member.LeaseDeadline()
	l := sh.lead.Load()
	st.Leading = l != nil && !n.following.Load()
	if st.Leading {
		st.Leader, st.Token = st.Member, uint64(l.Token())
		deadline = l.Guard().Deadline() // zero once the term ended
		st.MayAcknowledge, st.Why = mayAcknowledge(l, st.Handoff, now)
	}
	if !deadline.IsZero() {
		st.LeaseRemainingSeconds = max(deadline.Sub(now).Seconds(), 0)
	}
	st.Members = n.shardMembers(now)
	return st
}

// shardMembers is ShardStatus.Members at now.
func (n *Node) shardMembers(now time.Time) []ShardMember {
	self := ShardMember{Name: n.shard.member.Name(), DurableSeq: n.journal.LastSeq()}
	if n.repl != nil {
		self.Epoch = n.repl.history.Current()
	}
	out := []ShardMember{self}
	for _, k := range n.shard.member.Members() {
		if k.Name != self.Name {
			out = append(out, ShardMember{Name: k.Name, DurableSeq: k.DurableSeq, Epoch: uint64(k.Epoch), HeardSecondsAgo: now.Sub(k.Heard).Seconds()})
		}
	}
	slices.SortFunc(out, func(a, b ShardMember) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// mayAcknowledge says whether the leader of term l may acknowledge at now,
// as the publish stage decides it (holdForLease), and why not.
func mayAcknowledge(l *cluster.Leadership, handoff bool, now time.Time) (bool, string) {
	g := l.Guard()
	switch {
	case g.Ended():
		return false, "the term ended (its leader key is gone, or the lease was lost)"
	case !g.Valid(now):
		return false, "the lease guard ran out: etcd has not answered a keep-alive in time; acknowledgements are held"
	case handoff:
		return false, "a handoff is under way (ringex promote): acknowledgements are held"
	}
	return true, ""
}
