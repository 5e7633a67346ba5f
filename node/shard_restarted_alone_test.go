package node_test

import (
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
)

// Claim (issue 17 item 3, cluster/doc.go): a standby that holds every
// acknowledged record takes the shard when the leader is gone; a sync set
// of the leader alone only keeps out a standby that lacks records
// acknowledged alone.
//
// A sync primary (onStandbyLost async) goes on alone while its standby is
// away: its sync set is {a}. It is stopped and started again on its own
// journal; it wins (the set names it), its standby comes back and catches
// up to everything it ever acknowledged. The set {a} of the earlier term
// must not outlive that: when the restarted primary stops, the standby,
// complete, takes the shard without an operator.
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
