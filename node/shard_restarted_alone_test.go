package node_test

import (
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
)

// Claim (issue 17 item 3, cluster/doc.go): a standby that holds every
// acknowledged record takes the shard when the leader is gone; the alone
// marker only keeps out a standby that lacks records acknowledged alone.
//
// A sync primary (onStandbyLost async) goes on alone while its standby is
// away: it sets the alone marker naming itself. It is stopped and started
// again on its own journal; it wins (the marker names it), its standby
// comes back and catches up to everything it ever acknowledged. The
// marker of the earlier run is never cleared: the new run's shardNode
// starts with alone false, and clearAlone only clears a marker its own run
// set. When that primary then stops, the standby, complete, is refused the
// shard by the stale marker: no leader until an operator forces one.
func TestEtcdCompleteStandbyTakesShardAfterLeaderRestartedAlone(t *testing.T) {
	etcd := etcdtest.Start(t)
	alone := func(c *config.Config) {
		c.Replication.OnStandbyLost, c.Replication.SyncTimeoutMs = config.LostAsync, 200
	}
	dirA := t.TempDir()
	a := runShardNodeIn(t, etcd, "a", dirA, alone)
	a.next(t)
	waitUntil(t, "a leads", func() bool { return a.role() == config.RolePrimary })
	trade(t, a.cur, "A", 10)
	waitUntil(t, "a acknowledged alone", func() bool { return a.acked()["A9"] })
	t.Logf("a acknowledged alone; the sync set is %+v", shardStatus(t, etcd).Sync)
	a.stop(t)

	a2 := runShardNodeIn(t, etcd, "a", dirA, alone)
	b := runShardNodeIn(t, etcd, "b", t.TempDir(), alone)
	a2.next(t)
	b.next(t)
	waitUntil(t, "a leads again", func() bool { return a2.role() == config.RolePrimary })
	waitUntil(t, "b follows a and holds everything a journaled", func() bool {
		return b.role() == config.RoleStandby && lastSeq(b.cur) >= 10 && lastSeq(b.cur) == lastSeq(a2.cur)
	})
	held := lastSeq(b.cur)
	a2.stop(t)

	deadline := time.Now().Add(20 * time.Second) // 20 lease TTLs
	for b.role() != config.RolePrimary && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if b.role() != config.RolePrimary {
		st := shardStatus(t, etcd)
		t.Fatalf("b holds seq %d, everything a ever journaled, and a stopped, yet b did not take the shard within 20 s: leader %q, sync set %+v",
			held, st.Leader, st.Sync)
	}
}
