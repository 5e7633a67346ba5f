package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// runShardNodeIn is runShardNode on a data dir the test chooses (a node
// started again on its own journal), with mod applied to its config.
func runShardNodeIn(t *testing.T, etcd *etcdtest.Server, name, dir string, mod func(*config.Config)) *shardRunner {
	t.Helper()
	r := &shardRunner{name: name, dir: dir, out: &sink{}, started: make(chan *node.Node, 8), ran: make(chan error, 1)}
	cfg := replCfg(r.dir, "", "")
	cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
	cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: "s1", Name: name, LeaseTTLMs: 1000}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	logf := func(f string, a ...any) { r.logs.logf(f, a...); t.Logf(name+": "+f, a...) }
	go func() {
		r.ran <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Publisher: r.out, Logf: logf},
			Serving: func(n *node.Node) func() { r.started <- n; return func() {} }})
	}()
	t.Cleanup(func() { cancel(); <-r.ran })
	return r
}

// stop ends r's Run and checks it ended cleanly (resigning).
func (r *shardRunner) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.ran; err != nil {
		t.Errorf("Run of %s after cancel: %v", r.name, err)
	}
	r.ran <- nil // for the cleanup
}

func shardStatus(t *testing.T, etcd *etcdtest.Server) cluster.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cluster.ReadStatus(ctx, []string{etcd.Endpoint()}, "s1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

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
	t.Logf("a acknowledged alone; the alone marker names %q", shardStatus(t, etcd).Alone)
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
		t.Fatalf("b holds seq %d, everything a ever journaled, and a stopped, yet b did not take the shard within 20 s: leader %q, alone marker names %q (after seq %d)",
			held, st.Leader, st.Alone, st.AloneSeq)
	}
}
