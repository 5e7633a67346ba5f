package node_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
)

// Two handoffs at once on the leader: one to a member that lags (it waits
// for it to catch up, holding acknowledgements), one to a name that is no
// member (it fails at once). The failed one must not resume
// acknowledgements while the other is under way: else the leader
// acknowledges records after the seq the first waits for, and then hands
// the shard to a member that lacks them (Node.Handoff: pause is one flag
// that either handoff clears).
func TestConcurrentHandoffsKeepAcknowledgementsHeld(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := runShardNode(t, etcd, "a"), runShardNode(t, etcd, "b")
	a.next(t)
	b.next(t)
	waitUntil(t, "one node leads", func() bool { return a.role() == config.RolePrimary || b.role() == config.RolePrimary })
	prim, stby := a, b
	if b.role() == config.RolePrimary {
		prim, stby = b, a
	}
	trade(t, prim.cur, "A", 10)
	waitUntil(t, "the standby has everything", func() bool { return lastSeq(prim.cur) >= 10 && lastSeq(stby.cur) == lastSeq(prim.cur) })

	// A third member of the shard, real in etcd, whose journal lags: it
	// holds what the test says, in the leader's term.
	var durable atomic.Int64
	st, _ := prim.cur.ReplicationStats()
	joinFake(t, etcd, "c", &durable, cluster.Token(st.Epoch))

	type result struct {
		held int64
		err  error
	}
	toC := make(chan result, 1)
	go func() {
		held, err := prim.cur.Handoff("c")
		toC <- result{held, err}
	}()
	trade(t, prim.cur, "H", 1)
	waitUntil(t, "the leader holds acknowledgements for the handoff", func() bool { return prim.logs.has("a handoff is under way") })
	// The handoff waits for c to reach the last seq journaled when it began:
	// the seq before H0's, or H0's.
	target := lastSeq(prim.cur)
	if _, err := prim.cur.Handoff("nobody"); err == nil {
		t.Fatal("a handoff to a name that is no member succeeded")
	}
	trade(t, prim.cur, "X", 5)
	deadline := time.Now().Add(5 * time.Second)
	for !prim.acked()["X4"] && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ackedDuring := prim.acked()["X4"] // journaled after target
	durable.Store(target)             // c now holds what the handoff to it waits for
	r := <-toC
	if r.err != nil {
		t.Fatalf("handoff to c holding seq %d: %v", target, r.err)
	}
	if ackedDuring {
		t.Errorf("while the handoff to c was under way, the leader acknowledged orders X0..X4 (journaled after seq %d; its publisher reported them); the handoff then gave the shard to c holding seq %d: it lacks acknowledged orders",
			target, r.held)
	}
}

// joinFake joins a member named name to shard s1 that stands for a node
// whose journal holds what the test says: durable seq *seq, newest epoch
// epoch. It is real in etcd: it answers status polls and may be handed
// the shard.
func joinFake(t *testing.T, etcd *etcdtest.Server, name string, seq *atomic.Int64, epoch cluster.Token) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := cluster.Join(ctx, cluster.Config{Endpoints: []string{etcd.Endpoint()}, Shard: "s1", Name: name,
		ReplAddr: fixtest.FreeAddr(t), TTL: time.Second, DurableSeq: seq.Load, Epoch: func() cluster.Token { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
}

// A member whose journal reaches further than the leader's but whose
// history ends in an older term (a deposed leader that journaled records
// after its lease ran out, never acknowledged) does not hold this term's
// records: a handoff to it must not happen, however high its seq, and the
// leader acknowledges again when the handoff gives up.
func TestHandoffRefusesAMemberOfAnOlderEpochWhateverItsSeq(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := runShardNode(t, etcd, "a"), runShardNode(t, etcd, "b")
	a.next(t)
	b.next(t)
	waitUntil(t, "one node leads", func() bool { return a.role() == config.RolePrimary || b.role() == config.RolePrimary })
	prim := a
	if b.role() == config.RolePrimary {
		prim = b
	}
	trade(t, prim.cur, "A", 10)
	waitUntil(t, "the orders reported", func() bool { return prim.acked()["A9"] })
	st, _ := prim.cur.ReplicationStats()
	var durable atomic.Int64
	durable.Store(st.LastSeq + 1000)
	joinFake(t, etcd, "old", &durable, cluster.Token(st.Epoch)-1)

	held, err := prim.cur.Handoff("old")
	if err == nil {
		t.Fatalf("handoff to a member at epoch %d seq %d (the leader: epoch %d seq %d) succeeded, saying it holds %d: it lacks this term's records",
			st.Epoch-1, durable.Load(), st.Epoch, st.LastSeq, held)
	}
	t.Logf("refused as it should be: %v", err)
	if prim.role() != config.RolePrimary {
		t.Fatal("the leader is no longer primary after a refused handoff")
	}
	trade(t, prim.cur, "B", 5)
	waitUntil(t, "acknowledgements resume after the refused handoff", func() bool { return prim.acked()["B4"] })
}
