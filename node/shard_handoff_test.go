package node_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// Two handoffs at once on the leader: one to a member that lags by a
// record (it holds acknowledgements while it waits for it to catch up), one
// to a name that is no member (it fails at once). The failed one must not
// resume acknowledgements while the other is under way: else the leader
// acknowledges records after the seq the first waits for, and then hands
// the shard to a member that lacks them (pause is one flag that either
// handoff could clear).
func TestConcurrentHandoffsKeepAcknowledgementsHeld(t *testing.T) {
	defer node.SetHandoffBounds(1000, 30*time.Second, 30*time.Second)()
	etcd := etcdtest.Start(t)
	prim, stby := runShardPair(t, etcd)
	trade(t, prim.cur, "A", 10)
	waitUntil(t, "the standby has everything", func() bool { return lastSeq(prim.cur) >= 10 && lastSeq(stby.cur) == lastSeq(prim.cur) })

	// A third member of the shard, real in etcd, whose journal lags by one
	// record, in the leader's term: near enough for the handoff to hold.
	var durable atomic.Int64
	st, _ := prim.cur.ReplicationStats()
	durable.Store(st.LastSeq - 1)
	joinFake(t, etcd, "c", durable.Load, cluster.Token(st.Epoch))

	type result struct {
		held int64
		err  error
	}
	toC := make(chan result, 1)
	go func() {
		held, err := prim.cur.Handoff("c")
		toC <- result{held, err}
	}()
	waitUntil(t, "the handoff holds acknowledgements", func() bool { return handoffHolds(prim.cur) })
	target := lastSeq(prim.cur) // the handoff waits for c to reach it
	trade(t, prim.cur, "H", 1)
	waitUntil(t, "the leader holds acknowledgements for the handoff", func() bool { return prim.logs.has("a handoff is under way") })
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

// handoffHolds reports whether a handoff holds n's acknowledgements.
func handoffHolds(n *node.Node) bool {
	st := n.Status().Shard
	return st != nil && st.Handoff
}

// joinFake joins a member named name to shard s1 that stands for a node
// whose journal holds what the test says: durable seq *seq, newest epoch
// epoch. It is real in etcd: it answers status polls and may be handed
// the shard.
func joinFake(t *testing.T, etcd *etcdtest.Server, name string, seq func() int64, epoch cluster.Token) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := cluster.Join(ctx, cluster.Config{Endpoints: []string{etcd.Endpoint()}, Shard: "s1", Name: name,
		ReplAddr: fixtest.FreeAddr(t), TTL: steadyLeaseMs * time.Millisecond, DurableSeq: seq, Epoch: func() cluster.Token { return epoch }})
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
	defer node.SetHandoffBounds(1000, 2*time.Second, 2*time.Second)()
	etcd := etcdtest.Start(t)
	prim, _ := runShardPair(t, etcd)
	trade(t, prim.cur, "A", 10)
	waitUntil(t, "the orders reported", func() bool { return prim.acked()["A9"] })
	st, _ := prim.cur.ReplicationStats()
	var durable atomic.Int64
	durable.Store(st.LastSeq + 1000)
	joinFake(t, etcd, "old", durable.Load, cluster.Token(st.Epoch)-1)

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

// While the target is far behind, the handoff waits without holding: the
// leader acknowledges on. Once the target is near it holds, only for the
// final catch-up, and a target that does not catch up in the hold bound
// ends the handoff with an error, the leader acknowledging again.
func TestHandoffHoldsOnlyForTheFinalCatchUp(t *testing.T) {
	defer node.SetHandoffBounds(5, 30*time.Second, 2*time.Second)()
	etcd := etcdtest.Start(t)
	prim, _ := runShardPair(t, etcd)
	trade(t, prim.cur, "A", 20)
	waitUntil(t, "the orders reported", func() bool { return prim.acked()["A19"] })
	var durable, polled atomic.Int64 // c holds nothing yet: 20 records behind, the lag allowed is 5
	st, _ := prim.cur.ReplicationStats()
	joinFake(t, etcd, "c", func() int64 { polled.Add(1); return durable.Load() }, cluster.Token(st.Epoch))

	errs := make(chan error, 1)
	before := polled.Load()
	go func() {
		_, err := prim.cur.Handoff("c")
		errs <- err
	}()
	waitUntil(t, "the handoff has polled c's position twice", func() bool { return polled.Load() >= before+2 })
	trade(t, prim.cur, "F", 5)
	waitUntil(t, "orders acknowledged while the handoff approaches", func() bool { return prim.acked()["F4"] })
	if prim.logs.has("a handoff is under way") || handoffHolds(prim.cur) {
		t.Fatal("the handoff held acknowledgements while its target was 25 records behind (lag allowed: 5)")
	}
	durable.Store(lastSeq(prim.cur) - 2) // near, never caught up
	err := <-errs
	if err == nil || !strings.Contains(err.Error(), "held") || !strings.Contains(err.Error(), "resumed") {
		t.Fatalf("handoff to a target that never catches up: %v, want an error saying acknowledgements were held and resumed", err)
	}
	t.Logf("gave up as it should: %v", err)
	trade(t, prim.cur, "G", 5)
	waitUntil(t, "acknowledgements resume after the handoff gave up", func() bool { return prim.acked()["G4"] })
	if prim.role() != config.RolePrimary {
		t.Fatal("the leader is no longer primary after a handoff that gave up")
	}
}
