package node

// The sync set of a shard led through etcd (cluster/syncset.go): the
// members that hold every record this term acknowledged. The primary puts
// it in etcd, and counts it in replica.Sender.SetSync, in this order:
//
//   - Before the term's first acknowledgement: {this node}
//     (beginSyncSet). A node that just won the shard knows no standby of
//     its own term yet; the set of the term before (which names standbys
//     of another primary) must not stand for records this one
//     acknowledges. Until the term puts its own, that set stands: it is
//     still true, as this term has acknowledged nothing.
//   - A standby joins once it has caught up (widenSync, on a goroutine of
//     its own, kicked by the replicate handler and, on a primary with no
//     batch flowing, by runShard every TTL/3): the Sender counts it
//     first; if it holds every record that may have been acknowledged
//     before the count began (everything shipped then; it has widenWait
//     to acknowledge it), the wider set is put in etcd, otherwise it is
//     counted no more and tried again later. Nothing waits for it to
//     catch up, and while it is counted before the put acknowledgements
//     wait for it too: stricter, never looser. On an idle primary this
//     may be the term's first put: {this node, the standby}, taking over
//     from the term before.
//   - While the set stands, its seq follows what its members hold
//     (advanceSyncSeq, from runShard every TTL/3): the same set is put
//     again at the highest seq each member holds durably, once that has
//     moved, so that a member restarted on an older backup is refused by
//     the election even after a crash (no clean stop put it last).
//   - A clean stop (widenAtStop, after the ring drained and the Sender
//     closed; settleStandbys first gives the standbys' last
//     acknowledgements up to syncTimeout to arrive): the standbys that
//     hold everything this node shipped and published join, in sync and async
//     mode, so that one of them may take the shard once this node
//     resigns.
//   - A standby that has not acknowledged for syncTimeout leaves
//     (narrowSync): the smaller set is put in etcd BEFORE the Sender stops
//     counting it, so that nothing is acknowledged without it while etcd
//     still says it holds everything. With onStandbyLost "wait", the last
//     standby of the set never leaves: nothing more is acknowledged until
//     it is back. With "async" it may: the set is then {this node}.
//   - A standby of the set that comes back saying it holds less than it
//     had acknowledged (a new or restored disk; replica.SenderOptions.Behind)
//     leaves at once (dropBehind), in etcd first, in either onStandbyLost
//     mode: the Sender already counts it at what it holds, so nothing
//     more is acknowledged until it has it again, and etcd must not go
//     on naming it as holding everything. When it was the set's last
//     standby, the Sender counts the most advanced standby (as before a
//     term's first standby joins) and etcd's set is {this node}; it
//     joins again once caught up, as any standby does.
//   - An async primary's set stays {this node} while it runs: it
//     acknowledges what no standby may hold, so none takes the shard
//     without an operator.
//
// Every change is an etcd round trip under syncState.mu: a cold path,
// once per standby that joins or leaves and at most once per TTL/3 to
// advance the seq, never per batch. The replicate handler reads two
// atomics per batch (the term the set was put for, and
// replica.Sender.Outside) and makes no etcd round trip after its term's
// first set (beginSyncSet).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/replica"
)

// syncState is the sync set of the term a primary leads.
type syncState struct {
	mu      sync.Mutex    // orders the set's writes to etcd and to the Sender
	token   atomic.Uint64 // the term whose set is put; 0: none yet
	members atomic.Pointer[[]string]
	// counted is what the Sender counts (SetSync), under mu: nil while
	// no standby has joined in a sync term that did not start alone, or
	// once the last one left by dropBehind (the most advanced standby
	// counts; etcd's set is {this node}, stricter); otherwise the
	// standbys of etcd's set, empty when alone.
	counted []string
	seq     int64       // under mu: the seq of this term's set last put in etcd
	failing bool        // under mu: the last put of a change failed (logged once)
	behind  bool        // under mu: the last advance of seq failed (logged once)
	busy    atomic.Bool // a goSyncSet goroutine runs
	triedAt time.Time   // replicate handler only: its last widenSync kick
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
			// On a goroutine of its own, as its etcd put may wait for
			// etcd: at most once per widenEvery while a standby stays
			// outside, so the closure and goroutine it allocates are
			// off the per-batch path.
			n.goSyncSet(func() { n.widenSync(s) })
		}
	}
	if r.degraded.Load() {
		return // alone: the set is {this node}
	}
	start := time.Now()
	n.awaitAcked(s, last) // stages.go
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
		if sh.syncSet.token.Load() == uint64(l.Token()) {
			return true // widenSync put the term's first set meanwhile
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

// putSyncSet puts the set {this node} ∪ standbys of term token in etcd,
// at seq or, if lower, the highest seq every member of it is known to
// hold durably (heldByAll): the election refuses a member of the set
// whose journal ends before it (cluster.SyncSet.Seq). false: it could
// not (said once until a put succeeds). Under mu.
func (n *Node) putSyncSet(standbys []string, seq int64) bool {
	sh := n.shard
	l := sh.lead.Load()
	if l == nil {
		return false
	}
	seq = n.heldByAll(standbys, seq)
	if err := n.setSyncSet(l, standbys, seq); err != nil {
		if !sh.syncSet.failing {
			n.log.Warn("SYNC SET NOT CHANGED: acknowledging nothing the new set would allow until etcd takes it", "err", err)
		}
		sh.syncSet.failing = true
		return false
	}
	sh.syncSet.failing = false
	members := *sh.syncSet.members.Load()
	n.log.Warn("SYNC SET changed in etcd: only these members may take the shard by election", "term", uint64(l.Token()), "members", strings.Join(members, ", "), "seq", seq)
	return true
}

// setSyncSet puts the set {this node} ∪ standbys of term l in etcd at
// exactly seq, and records what it put. Under mu.
func (n *Node) setSyncSet(l *cluster.Leadership, standbys []string, seq int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.etcdTimeout())
	defer cancel()
	if err := l.SetSync(ctx, standbys, seq); err != nil {
		return err
	}
	n.shard.syncSet.seq = seq
	members := append([]string{n.cfg.Cluster.Name}, standbys...)
	n.shard.syncSet.members.Store(&members)
	return nil
}

// advanceSyncSeq puts the term's set again, naming the same members, at
// the highest seq every one of them holds durably (this node's journal,
// replica.Sender.Held of each standby), when that has passed the seq put
// last: the election refuses a member of the set whose journal ends
// before the set's seq (one restarted on an older backup), so the seq
// must follow what the set holds, not only the set's changes. runShard
// calls it every TTL/3 (syncSetTick): an etcd transaction at most that
// often, and none while nothing new is journaled; never per batch. The
// put is conditional on the term's leader key (cluster.Leadership.SetSync),
// so a deposed leader cannot write it. It skips its turn while another
// change of the set is under way (that change carries a fresh seq).
func (n *Node) advanceSyncSeq() {
	sh := n.shard
	if !sh.syncSet.mu.TryLock() {
		return
	}
	defer sh.syncSet.mu.Unlock()
	l, p := sh.lead.Load(), sh.syncSet.members.Load()
	if l == nil || p == nil || l.Guard().Ended() || n.stopping.Load() || sh.syncSet.token.Load() != uint64(l.Token()) {
		return
	}
	standbys := (*p)[1:]
	seq := n.heldByAll(standbys, n.journal.LastSeq())
	if seq <= sh.syncSet.seq {
		return
	}
	if err := n.setSyncSet(l, standbys, seq); err != nil {
		if !sh.syncSet.behind {
			n.log.Warn("SYNC SET seq not advanced in etcd: a member restarted on an older backup may pass the election's check until etcd takes it",
				"term", uint64(l.Token()), "seq", sh.syncSet.seq, "held", seq, "err", err)
		}
		sh.syncSet.behind = true
		return
	}
	if sh.syncSet.behind {
		n.log.Info("SYNC SET seq advanced in etcd again", "term", uint64(l.Token()), "seq", seq)
	}
	sh.syncSet.behind = false
}

// heldByAll is seq, or less: what this node's journal holds durably and
// what the Sender knows each of standbys to hold (replica.Sender.Held; 0
// for one it never heard from). Every record acknowledged is in all of
// them, so the result is at least the last acknowledged seq whenever
// each named standby has been heard from.
func (n *Node) heldByAll(standbys []string, seq int64) int64 {
	seq = min(seq, n.journal.LastSeq())
	if len(standbys) == 0 {
		return seq
	}
	s := n.repl.sender.Load()
	if s == nil {
		return 0
	}
	for _, name := range standbys {
		seq = min(seq, s.Held(name))
	}
	return seq
}

func (n *Node) etcdTimeout() time.Duration {
	return time.Duration(n.cfg.Cluster.LeaseTTLMs) * time.Millisecond
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

// standbyBehind is replica.SenderOptions.Behind: a standby of the set
// came back holding less than it had acknowledged. The set is narrowed
// on a goroutine of its own, as the etcd put may wait for etcd.
func (n *Node) standbyBehind(name string, holds, acked int64) {
	if n.shard == nil {
		return
	}
	if s := n.repl.sender.Load(); s != nil {
		go n.dropBehind(s, name, holds, acked)
	}
}

// dropBehind takes name out of the term's sync set, in etcd first, then
// in what the Sender counts, trying again every 100 ms while etcd does
// not answer; it gives up once the term has ended, the node stops or
// name is no longer counted. With no standby left, the Sender counts the
// most advanced one (nil): acknowledgements still wait for a standby in
// onStandbyLost "wait", and narrowSync goes on alone in "async".
func (n *Node) dropBehind(s *replica.Sender, name string, holds, acked int64) {
	sh := n.shard
	sh.syncSet.mu.Lock()
	defer sh.syncSet.mu.Unlock()
	var keep []string
	for {
		l := sh.lead.Load()
		if l == nil || l.Guard().Ended() || n.stopping.Load() || n.repl.sender.Load() != s ||
			sh.syncSet.token.Load() != uint64(l.Token()) || !slices.Contains(sh.syncSet.counted, name) {
			return
		}
		keep = slices.DeleteFunc(slices.Clone(sh.syncSet.counted), func(m string) bool { return m == name })
		if n.putSyncSet(keep, s.Stats().Shipped) {
			break
		}
		sh.syncSet.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		sh.syncSet.mu.Lock()
	}
	if len(keep) == 0 {
		keep = nil
	}
	sh.syncSet.counted = keep
	s.SetSync(keep)
	n.log.Warn("SYNC SET: a member left it: it came back holding less than it had acknowledged (a new or restored disk?); it joins again once caught up", "left", name, "seq", holds, "acked", acked)
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
// waiting long for any: the Sender counts them first; then those that
// hold every record that may have been acknowledged before the count
// began (everything shipped when it began: held), once they acknowledge
// it within widenWait, are put in etcd's set, and the others are counted
// no more. A failed put counts none of them. When the term has put no set
// yet (no batch has come to the replicate handler), this put is the
// term's first: it replaces the set of the term before, which this term
// takes over, and nothing of this term has been acknowledged before it.
// It runs on a goroutine of its own (goSyncSet), kicked by the replicate
// handler (at most once per widenEvery) and by runShard on an idle
// primary, whose standby catches up with no batch flowing: its etcd
// round trip stalls no stream. While it waits, acknowledgements wait for
// the standbys it counts too: stricter, never looser.
func (n *Node) widenSync(s *replica.Sender) {
	sh, r := n.shard, n.repl
	sh.syncSet.mu.Lock()
	defer sh.syncSet.mu.Unlock()
	l := sh.lead.Load()
	if !r.sync || l == nil || l.Guard().Ended() || n.stopping.Load() || r.sender.Load() != s {
		return
	}
	begun := sh.syncSet.token.Load() == uint64(l.Token())
	prior, was := sh.syncSet.counted, sh.syncSet.counted
	if !begun {
		prior, was = n.firstCount(), nil // the Sender counts no set yet
	}
	joining := n.caughtUpOutside(s.Stats(), prior)
	if len(joining) == 0 {
		return
	}
	s.SetSync(append(slices.Clone(prior), joining...)) // counted from here on
	// Every record acknowledged without them passed Ship before the
	// count began (the handler ships a batch before it awaits it).
	held := s.Stats().Shipped
	next := n.awaitJoining(s, prior, joining, held)
	if len(next) == len(prior) || !n.putSyncSet(next, held) {
		s.SetSync(was)
		return
	}
	n.countSync(s, l, next, held)
}

// awaitJoining is prior and those of joining that have acknowledged held,
// waiting up to widenWait for all of them to. Under mu.
func (n *Node) awaitJoining(s *replica.Sender, prior, joining []string, held int64) []string {
	deadline := time.Now().Add(widenWait)
	for {
		next := holding(s.Stats(), prior, joining, held)
		if len(next) == len(prior)+len(joining) || !time.Now().Before(deadline) || n.stopping.Load() {
			return next
		}
		time.Sleep(time.Millisecond)
	}
}

// firstCount is what the Sender counts at the start of a term's set:
// nil (the most advanced standby; etcd's set is {this node}, stricter),
// or none for a promoted sync primary, which starts alone. Under mu.
func (n *Node) firstCount() []string {
	if n.repl.degraded.Load() {
		return []string{}
	}
	return nil
}

// caughtUpOutside is the named standbys that have caught up (acknowledged
// everything shipped once) and are not in prior.
func (n *Node) caughtUpOutside(st replica.SenderStats, prior []string) []string {
	var out []string
	for _, sb := range st.Standbys {
		if sb.Ready && sb.CaughtUp && sb.Name != "" && sb.Name != n.cfg.Cluster.Name && !slices.Contains(prior, sb.Name) {
			out = append(out, sb.Name)
		}
	}
	return out
}

// holding is prior and those of joining that have acknowledged held.
func holding(st replica.SenderStats, prior, joining []string, held int64) []string {
	acked := ackedByName(st)
	next := slices.Clone(prior)
	for _, name := range joining {
		if acked[name] >= held {
			next = append(next, name)
		}
	}
	return next
}

// countSync makes next, just put in etcd as term l's set, what the Sender
// counts. Under mu.
func (n *Node) countSync(s *replica.Sender, l *cluster.Leadership, next []string, held int64) {
	sh, r := n.shard, n.repl
	sh.syncSet.counted = next
	s.SetSync(next)
	sh.syncSet.token.Store(uint64(l.Token()))
	if r.degraded.Load() {
		r.degraded.Store(false)
		n.log.Warn("REPLICATION back in sync: the sync set holds everything; acknowledgements wait for it again", "seq", held)
	}
}

// widenAtStop, after a clean Stop (the ring drained, the Sender closed,
// nothing more acknowledged by this term), puts in etcd a set that also
// names the standbys holding everything the publish stage passed (and
// everything shipped: all this node holds), in sync and async mode alike:
// they hold every record this term, or one before it, acknowledged, so
// that one of them may take the shard by election. A set this term put
// is put again even with no standby to add, at the seq its members now
// hold: a member later started on an older backup of its disk is then
// refused by the election. It counts nothing. Called by runShard before
// it resigns.
func (n *Node) widenAtStop() {
	if n.repl == nil || n.shard == nil || n.following.Load() || n.Err() != nil {
		return
	}
	s := n.repl.sender.Load()
	if s == nil {
		return
	}
	sh := n.shard
	sh.syncSet.mu.Lock()
	defer sh.syncSet.mu.Unlock()
	l := sh.lead.Load()
	if l == nil || l.Guard().Ended() {
		return
	}
	var prior []string // no set put yet: nothing of this term was acknowledged
	begun := sh.syncSet.token.Load() == uint64(l.Token())
	if begun {
		prior = sh.syncSet.counted
	}
	st := s.Stats() // as the standbys stood at Close
	held := max(n.repl.published.Load(), st.Shipped)
	var joining []string
	for _, sb := range st.Standbys {
		if sb.Ready && sb.Name != "" && sb.Name != n.cfg.Cluster.Name && !slices.Contains(prior, sb.Name) {
			joining = append(joining, sb.Name)
		}
	}
	if next := holding(st, prior, joining, held); (begun || len(next) > len(prior)) && n.putSyncSet(next, held) {
		sh.syncSet.counted = next
		sh.syncSet.token.Store(uint64(l.Token()))
	}
}

// settleStandbys, in a clean Stop of a shard's primary once the ring has
// drained and before the Sender closes, gives the connected standbys up
// to syncTimeout to acknowledge everything published and shipped: their last
// acknowledgements may still be on the way, and widenAtStop names only
// those it has heard from. Polls every 5 ms; cold path, once per stop.
func (n *Node) settleStandbys(s *replica.Sender) {
	if n.shard == nil || n.following.Load() || n.Err() != nil {
		return
	}
	if l := n.leading(); l == nil || l.Guard().Ended() {
		return
	}
	want := max(n.repl.published.Load(), s.Stats().Shipped)
	for deadline := time.Now().Add(n.repl.syncTimeout); time.Now().Before(deadline); {
		behind := false
		for _, sb := range s.Stats().Standbys {
			behind = behind || (sb.Ready && sb.Name != "" && sb.Acked < want)
		}
		if !behind {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// widenEvery bounds how often the replicate handler kicks widenSync
// while a caught-up standby stays outside the set (one that lags again
// after catching up): each try reads the Sender's list of standbys.
const widenEvery = 10 * time.Millisecond

// widenWait bounds how long widenSync waits, with the joining standbys
// counted, for them to acknowledge everything shipped when the count
// began: a caught-up standby does within a round trip; one that does not
// is counted no more, and tried again later.
const widenWait = 100 * time.Millisecond

// goSyncSet runs f on a goroutine of its own unless one runs already
// (then f is dropped: its caller tries again later). The etcd round trips
// of widening the set and of advancing its seq so stall neither the
// replicate handler nor runShard's loop; mu orders them with every other
// change of the set.
func (n *Node) goSyncSet(f func()) {
	busy := &n.shard.syncSet.busy
	if !busy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer busy.Store(false)
		f()
	}()
}

// syncSetTick is runShard's, every TTL/3 on a primary: it adds a standby
// that has caught up to the set (the replicate handler does only with a
// batch flowing), and advances the set's seq (advanceSyncSeq).
func (n *Node) syncSetTick() {
	if n.repl == nil || n.shard == nil || n.following.Load() {
		return
	}
	n.goSyncSet(func() {
		if s := n.repl.sender.Load(); s != nil && s.Outside() > 0 {
			n.widenSync(s)
		}
		n.advanceSyncSeq()
	})
}
