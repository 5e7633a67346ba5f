package node_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
)

// stopRun ends r's Run as a clean stop does, and waits for it.
func stopRun(t *testing.T, r *shardRunner) {
	t.Helper()
	r.cancel()
	if err := <-r.ran; err != nil {
		t.Fatalf("Run of %s after cancel: %v", r.name, err)
	}
	r.ran <- nil // for the cleanup
}

// etcdSyncSet is the shard's sync set as etcd holds it.
func etcdSyncSet(t *testing.T, etcd *etcdtest.Server) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cluster.ReadStatus(ctx, []string{etcd.Endpoint()}, "s1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sync == nil {
		return nil
	}
	return st.Sync.Members
}

// TestShardSyncSetOfThree: three node.Run of one shard against a real
// etcd, sync mode, onStandbyLost "wait". Both standbys join the leader's
// sync set, in etcd and in what the node reports. One standby stops: once
// it has not acknowledged for syncTimeoutMs, the leader takes it out of
// the set in etcd and goes on acknowledging with the other. The other
// stops too: the last standby of the set stays in it, and the leader
// acknowledges nothing more (REPLICATION WAITING).
func TestShardSyncSetOfThree(t *testing.T) {
	etcd := etcdtest.Start(t)
	rs := []*shardRunner{runShardNode(t, etcd, "a"), runShardNode(t, etcd, "b"), runShardNode(t, etcd, "c")}
	for _, r := range rs {
		r.next(t)
	}
	var prim *shardRunner
	waitUntil(t, "one node leads", func() bool {
		for _, r := range rs {
			if r.role() == config.RolePrimary {
				prim = r
				return true
			}
		}
		return false
	})
	var stby []*shardRunner
	for _, r := range rs {
		if r != prim {
			stby = append(stby, r)
		}
	}
	trade(t, prim.cur, "A", 50)
	waitUntil(t, "both standbys in the sync set", func() bool { return len(prim.cur.SyncSet()) == 3 })
	if set := etcdSyncSet(t, etcd); len(set) != 3 || set[0] != prim.name {
		t.Fatalf("etcd's sync set %v, the leader's %v: want all three, %s first", set, prim.cur.SyncSet(), prim.name)
	}

	stopRun(t, stby[0])
	trade(t, prim.cur, "B", 20)
	waitUntil(t, "B acknowledged without the stopped standby", func() bool { return prim.acked()["B19"] })
	want := []string{prim.name, stby[1].name}
	if set := etcdSyncSet(t, etcd); !slices.Equal(set, want) || !slices.Equal(prim.cur.SyncSet(), want) {
		t.Fatalf("after %s stopped, etcd's sync set is %v, the leader's %v: want %v", stby[0].name, set, prim.cur.SyncSet(), want)
	}

	stopRun(t, stby[1])
	trade(t, prim.cur, "W", 5)
	waitUntil(t, "the leader waits", func() bool { return prim.logs.has("REPLICATION WAITING") })
	if prim.acked()["W0"] {
		t.Fatal("the leader acknowledged an order with no standby of its sync set holding it (onStandbyLost wait)")
	}
	if set := etcdSyncSet(t, etcd); !slices.Equal(set, want) {
		t.Fatalf("after the last standby stopped, etcd's sync set is %v: want %v still", set, want)
	}
}
