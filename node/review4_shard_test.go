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
func TestReview4ConcurrentHandoffsKeepAcknowledgementsHeld(t *testing.T) {
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

	target := lastSeq(prim.cur)
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
	if _, err := prim.cur.Handoff("nobody"); err == nil {
		t.Fatal("a handoff to a name that is no member succeeded")
	}
	trade(t, prim.cur, "X", 5)
	deadline := time.Now().Add(5 * time.Second)
	for !prim.acked()["X4"] && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ackedDuring := prim.acked()["H0"] || prim.acked()["X4"]
	durable.Store(target) // c now holds what the handoff to it waits for
	r := <-toC
	if ackedDuring {
		t.Errorf("while the handoff to c (waiting for seq %d) was under way, the leader acknowledged orders H0/X0..X4 after that seq (its publisher reported them); handoff result: held %d, err %v: c takes the shard without them",
			target, r.held, r.err)
	}
}
