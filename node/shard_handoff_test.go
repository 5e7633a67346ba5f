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
	// holds what the test says.
	var durable atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cluster.Join(ctx, cluster.Config{Endpoints: []string{etcd.Endpoint()}, Shard: "s1", Name: "c",
		ReplAddr: fixtest.FreeAddr(t), TTL: time.Second, DurableSeq: durable.Load})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())

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
