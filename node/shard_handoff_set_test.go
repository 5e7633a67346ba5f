package node_test

import (
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
)

// Claim (issue 17 item 3; the sync set outlives its leader): after a
// handoff, as before it, a member that lacks acknowledged records does not
// take the shard by election.
//
// An async shard: a leads and acknowledges 10 orders (its set is {a}), b
// follows and holds them all. a hands the shard to b, which clears the
// set and acknowledges nothing in its own term. a's node, now a standby,
// stops; b stops cleanly with no standby connected. c, a member with an
// empty journal, then starts while a and b are down.
func TestEtcdHandoffLeavesNoMemberLackingRecordsTheShard(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := asyncPairHoldingTen(t, etcd)
	before := etcdSyncSet(t, etcd)
	if _, err := a.cur.Handoff("b"); err != nil {
		t.Fatalf("handoff to b: %v", err)
	}
	waitUntil(t, "b promoted in place", func() bool { return b.role() == config.RolePrimary })
	a.next(t) // a starts again, as b's standby
	a.stop(t)
	b.stop(t)
	after := etcdSyncSet(t, etcd)

	c := runShardNodeIn(t, etcd, "c", t.TempDir(), asyncMode) // empty journal
	if leadsWithin(c, 10*time.Second) {                       // 10 lease TTLs
		t.Fatalf("c, whose journal is empty, took the shard while a and b (holding %d acknowledged orders) were down: the sync set was %v before the handoff, %v after b's term",
			len(a.acked()), before, after)
	}
}
