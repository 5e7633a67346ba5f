// Package cluster owns everything ringex keeps in etcd: which node of a
// shard leads it, the fencing token of each term, the lease that bounds how
// long a leader may acknowledge, the choice of the most complete standby
// when the leader is gone, handoff to a named node, and the shard's status.
// etcd decides alone: the nodes of a shard never settle leadership between
// themselves.
//
// A shard is a named group of ringex nodes, one leader (the primary) and
// standbys, serving the same symbols from the same journal history. Each
// node Joins it as a Member: an etcd client and a lease of Config.TTL. The
// package knows nothing of journals, frames or FIX; a node tells it its
// Position (the newest epoch of its history, Config.Epoch, and its durable
// seq, Config.DurableSeq) and carries the token itself.
//
// # Keys
//
//	/ringex/<shard>/
//	├── leader/<lease id, hex>   the election (concurrency.Election), one key per contender,
//	│                            under its member's lease; the oldest (lowest create revision)
//	│                            leads. value {"name","repl"}: who leads, where standbys connect.
//	│                            Its create revision is the term's fencing token.
//	├── members/<name>           under the member's lease: {"name","repl","durableSeq","epoch"},
//	│                            put at Join and again when a status poll asks; every
//	│                            member follows the prefix with one watch (Members)
//	├── candidates/<name>        under the member's lease: its Position {"epoch","seq"}, posted
//	│                            while no leader holds the shard; cleared by the winner
//	├── sync                     NO lease: {"leader","token","members","seq"}: the sync set
//	│                            (syncset.go): members (the leader first) hold every record
//	│                            that term acknowledged; {leader} alone: no standby may.
//	│                            It outlives the leader; an override clears it, a handoff
//	│                            makes it {the new leader}.
//	├── handoff                  under a lease of its own (Config.HandoffTTL):
//	│                            {"to","from","token"}: the leader handed the shard to "to"
//	└── poll                     a status request: members answer by re-putting members/<name>
//
// # Invariants
//
//   - Tokens only grow: each term's token is the create revision of a new
//     key, and etcd's revision only grows. A Fence on the receiving side
//     refuses frames of a lower token than it has seen.
//   - At most one Guard of a shard is valid at any instant (given clock
//     rates that differ by under 1%). A leader's guard runs out Margin
//     before the earliest instant its lease can expire, counted from when
//     the last answered keep-alive was sent (see Guard); a new leader can
//     only win after that lease has expired or its key was deleted, and a
//     leader fences its guard before it resigns or hands off.
//   - A term ends for good (Leadership.Lost) when its key is deleted or its
//     lease is gone; etcd being out of reach only lets the guard run out,
//     and it comes back with the first answered keep-alive once the key is
//     confirmed.
//   - A member takes the shard only as the most complete candidate (the
//     highest Position: newest epoch, then highest durable seq, as Raft
//     compares last term and index; then lowest name), or as the target of
//     a live handoff, or by Override. While a sync set stands, only a
//     member it names may take the shard by election; a leader puts its
//     term's set before its first acknowledgement and before each change
//     to it, so the set in etcd never names a member that lacks an
//     acknowledged record; nor is a member it names chosen whose durable
//     seq is below the set's Seq, which each member holds (one restarted
//     on an empty disk or an older backup). The leader puts the same set
//     again at a higher Seq as its members' journals grow (every TTL/3
//     at most), so the Seq trails what they hold, crash or not.
//   - Steady state costs etcd keep-alives only: one LeaseKeepAlive call per
//     member every TTL/3 (3 per TTL; a 3-member shard with a 2 s TTL makes
//     4.5 calls/s, measured), and while records are journaled one sync
//     set Txn by the leader every TTL/3 at most. Followers and waiting
//     candidates hold watches, which cost nothing while nothing changes.
//
// # Refused
//
// Names outside [A-Za-z0-9._-]{1,64}; TTLs not in whole seconds; a second
// member of a name another lease holds (Join waits until it is free); a
// campaign that would queue behind another contender (the next leader is
// chosen afresh, not in queue order); a handoff to a node that is not a
// member. Deleting a leader key by hand is seen and ends the term, but it
// is not fenced while that leader cannot reach etcd: revoke its lease
// instead (etcdctl lease revoke), which the keep-alive sees.
//
// # Use by a node
//
//	m, _ := cluster.Join(ctx, cfg)                 // one per process
//	for info := range m.Observe(ctx) { ... }       // a standby follows info.ReplAddr
//	l, _ := m.Lead(ctx)                            // returns once this node should lead
//	epoch := l.Token()                             // epoch history and every frame
//	if l.Guard().Valid(time.Now()) { ack batch }   // once per batch, one atomic load
//	<-l.Lost()                                     // stop serving, rejoin as a standby
//	l.SetSync(ctx, []string{"node2"}, seq)         // before the term's first ack, each change, and to advance seq
//	held, _ := m.AwaitPosition(ctx, "node2", want, every) // a handoff waits for its target
//	l.Handoff(ctx, "node2", held)                  // ringex promote node2
//	st, _ := cluster.ReadStatus(ctx, eps, shard, time.Second) // ringex status
package cluster
