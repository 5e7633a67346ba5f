package node_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// shardRunner is one node.Run of a shard led through etcd, in this process.
type shardRunner struct {
	name    string
	dir     string
	repl    string // its replication listen address
	out     *sink
	logs    logLines
	started chan *node.Node
	ran     chan error
	cancel  context.CancelFunc
	cur     *node.Node // the node Run started last
}

func runShardNode(t *testing.T, etcd *etcdtest.Server, name string) *shardRunner {
	t.Helper()
	return runShardNodeIn(t, etcd, name, t.TempDir(), nil)
}

// runShardNodeIn is runShardNode on a data dir the test chooses (a node
// started again on its own journal), with mod, if not nil, applied to its
// config.
func runShardNodeIn(t *testing.T, etcd *etcdtest.Server, name, dir string, mod func(*config.Config)) *shardRunner {
	t.Helper()
	r := &shardRunner{name: name, dir: dir, out: &sink{}, started: make(chan *node.Node, 8), ran: make(chan error, 1)}
	cfg := replCfg(r.dir, "", "")
	cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
	cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: "s1", Name: name, LeaseTTLMs: 1000}
	if mod != nil {
		mod(&cfg)
	}
	r.repl = cfg.Replication.Listen
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	logger := r.logs.Tee(t, name).Logger()
	go func() {
		r.ran <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Publisher: r.out, Log: logger},
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

// steadyLeaseMs is the lease of shard members in tests that count on the
// leader keeping the shard (handoffs, elections after a clean stop, which
// resigns): none waits for a lease to run out. Under -race on a loaded
// 2-core CI machine etcd has answered no keep-alive of a 1 s lease in time,
// the other member took the shard, and such a test waited on the deposed
// leader for good. Tests of lease expiry keep the 1 s lease.
const steadyLeaseMs = 5000

// steadyCfg is the config change of a member in a test that counts on the
// leader keeping the shard: the steady lease, and a replication link that
// takes 2 s of silence (heartbeats of 200 ms, not replCfg's 20) before it
// drops the peer, where 200 ms of a goroutine unscheduled under load cut a
// standby off again and again.
func steadyCfg(cfg *config.Config) {
	cfg.Cluster.LeaseTTLMs, cfg.Replication.HeartbeatMs = steadyLeaseMs, 200
}

// runShardPair runs members a and b of shard s1 and returns them once one
// leads: the primary, then the standby. Both take steadyCfg: callers test
// what a leader does, not a lease running out.
func runShardPair(t *testing.T, etcd *etcdtest.Server) (prim, stby *shardRunner) {
	t.Helper()
	a, b := runShardNodeIn(t, etcd, "a", t.TempDir(), steadyCfg), runShardNodeIn(t, etcd, "b", t.TempDir(), steadyCfg)
	a.next(t)
	b.next(t)
	waitUntil(t, "one node leads", func() bool { return a.role() == config.RolePrimary || b.role() == config.RolePrimary })
	if b.role() == config.RolePrimary {
		return b, a
	}
	return a, b
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

// next waits for the next node Run starts.
func (r *shardRunner) next(t *testing.T) *node.Node {
	t.Helper()
	r.cur = nextStart(t, r.started, r.ran)
	return r.cur
}

func (r *shardRunner) role() config.Role {
	st, _ := r.cur.ReplicationStats()
	return st.Role
}

// acked is the ClOrdIDs of the orders whose first event the node's
// publisher got: what its brokers were told.
func (r *shardRunner) acked() map[string]bool {
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	out := map[string]bool{}
	for _, ev := range r.out.evs {
		out[ev.ClOrdID.String()] = true
	}
	return out
}

// journaledIDs is the ClOrdIDs of the new orders in dir's journal.
func journaledIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	var cmd matcher.Command
	if err := journal.Read(filepath.Join(dir, "journal"), 1, func(seq int64, rec []byte) error {
		if err := cmd.Decode(rec); err != nil {
			return err
		}
		if cmd.Kind == matcher.KindNew {
			out[cmd.ClOrdID.String()] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShardLedThroughEtcdInProcess: two node.Run of one shard against a
// real etcd. One wins and serves, the other follows it (no --primary, no
// probe); a handoff ('ringex promote node') moves the shard to the
// standby, which is promoted in place under a higher token while the old
// primary starts again as its standby; a stop of that primary (its Run
// ends, resigning) lets etcd elect the other again, under a higher token
// still. Every order a publisher reported, and every order of the stopped
// node's journal, is in the last primary's journal.
func TestShardLedThroughEtcdInProcess(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := runShardNode(t, etcd, "a"), runShardNode(t, etcd, "b")
	a.next(t)
	b.next(t)
	prim, stby := a, b
	waitUntil(t, "one node leads", func() bool { return a.role() == config.RolePrimary || b.role() == config.RolePrimary })
	if b.role() == config.RolePrimary {
		prim, stby = b, a
	}
	trade(t, prim.cur, "A", 100)
	waitUntil(t, "the standby has everything", func() bool { return lastSeq(prim.cur) >= 100 && lastSeq(stby.cur) == lastSeq(prim.cur) })
	st1, _ := prim.cur.ReplicationStats()

	if _, err := prim.cur.Handoff(stby.name); err != nil {
		t.Fatalf("handoff to %s: %v", stby.name, err)
	}
	waitUntil(t, "the standby promoted in place", func() bool { return stby.role() == config.RolePrimary })
	prim.next(t) // the old primary starts again, as a standby
	st2, _ := stby.cur.ReplicationStats()
	if st2.Epoch <= st1.Epoch {
		t.Fatalf("after the handoff the epoch (token) is %d, before it %d: want higher", st2.Epoch, st1.Epoch)
	}
	if _, err := prim.cur.Handoff(stby.name); err == nil {
		t.Fatal("a standby accepted a handoff")
	}
	if _, err := prim.cur.OperatorPromote(); err == nil {
		t.Fatal("a standby of a shard led through etcd promoted itself by hand")
	}
	trade(t, stby.cur, "B", 50)
	waitUntil(t, "the old primary follows", func() bool { return lastSeq(prim.cur) == lastSeq(stby.cur) && lastSeq(stby.cur) >= 150 })

	stby.cancel() // stops and resigns
	if err := <-stby.ran; err != nil {
		t.Fatalf("Run of %s after cancel: %v", stby.name, err)
	}
	stby.ran <- nil // for the cleanup
	waitUntil(t, "the remaining node leads", func() bool { return prim.role() == config.RolePrimary })
	st3, _ := prim.cur.ReplicationStats()
	if st3.Epoch <= st2.Epoch {
		t.Fatalf("after the stop the epoch (token) is %d, before it %d: want higher", st3.Epoch, st2.Epoch)
	}
	trade(t, prim.cur, "C", 20)
	waitUntil(t, "the last orders reported", func() bool { return prim.acked()["C19"] })
	prim.cancel()
	<-prim.ran
	prim.ran <- nil

	onLast := journaledIDs(t, prim.dir)
	for _, r := range []*shardRunner{a, b} {
		for id := range r.acked() {
			if id != "" && !onLast[id] {
				t.Errorf("order %s was reported by %s but is not in the last primary's journal", id, r.name)
			}
		}
	}
	for id := range journaledIDs(t, stby.dir) {
		if !onLast[id] {
			t.Errorf("order %s is in the journal of %s (stopped) but not in the last primary's", id, stby.name)
		}
	}
	t.Logf("tokens %d → %d → %d; %d orders in the last primary's journal", st1.Epoch, st2.Epoch, st3.Epoch, len(onLast))
}
