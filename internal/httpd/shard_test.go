package httpd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/httpd"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// shardMember runs node.Run of member name of shard s1 against etcd, its
// endpoint attached to every node Run starts, until the test ends.
func shardMember(t *testing.T, etcd *etcdtest.Server, name string) *httpd.Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication = config.Replication{Listen: fixtest.FreeAddr(t), Mode: config.ModeSync,
		OnStandbyLost: config.LostWait, SyncTimeoutMs: 2000, HeartbeatMs: 20}
	cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: "s1", Name: name, LeaseTTLMs: 1000}
	srv, err := httpd.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		ran <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Log: logtest.Discard()},
			Serving: func(n *node.Node) func() { srv.Attach(n); return srv.Detach }})
	}()
	t.Cleanup(func() { cancel(); <-ran; srv.Close() })
	return srv
}

// waitReadyz polls /readyz, at most 60 s, until its code is code and its
// body holds want.
func waitReadyz(t *testing.T, srv *httpd.Server, code int, want string) {
	t.Helper()
	got, body := 0, ""
	for range 600 {
		if got, body = get(t, srv, "/readyz"); got == code && strings.Contains(body, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/readyz: HTTP %d %q; want %d with %q", got, body, code, want)
}

// shardPair starts members a and b of shard s1 and waits until one leads
// and is ready, and the other has caught up with it.
func shardPair(t *testing.T, etcd *etcdtest.Server) (srvs map[string]*httpd.Server, prim, stby string) {
	t.Helper()
	srvs = map[string]*httpd.Server{"a": shardMember(t, etcd, "a"), "b": shardMember(t, etcd, "b")}
	for i := 0; i < 600 && prim == ""; i++ {
		for _, name := range []string{"a", "b"} {
			if code, _ := get(t, srvs[name], "/readyz"); code == http.StatusOK && shardOf(t, srvs[name]).Leading {
				prim, stby = name, map[string]string{"a": "b", "b": "a"}[name]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if prim == "" {
		t.Fatal("no member became a ready leader in 60 s")
	}
	waitReadyz(t, srvs[stby], http.StatusOK, "standby, caught up")
	return srvs, prim, stby
}

func shardOf(t *testing.T, srv *httpd.Server) *node.ShardStatus {
	t.Helper()
	_, body := get(t, srv, "/status.json")
	var v struct{ Node *node.Status }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/status.json: %v", err)
	}
	if v.Node == nil || v.Node.Shard == nil {
		t.Fatalf("/status.json has no shard: %s", body)
	}
	return v.Node.Shard
}

// TestShardStatusMetricsAndReadyz: two members of a shard led by a real
// etcd. The leader's metrics and status page name the shard, itself as
// member and leader, its fencing token (the replication epoch) and its
// guard's lease left, and say it may acknowledge; its standby's name the
// leader and the same token. When etcd stops, the leader's guard runs out:
// /readyz answers 503 saying so, and the metrics show it may not
// acknowledge, with no lease left; when etcd is back it is ready again.
func TestShardStatusMetricsAndReadyz(t *testing.T) {
	etcd := etcdtest.Start(t)
	srvs, prim, stby := shardPair(t, etcd)
	p := scrape(t, srvs[prim])
	info := fmt.Sprintf(`ringex_shard_info{leader=%q,member=%q,shard="s1"}`, prim, prim)
	token := p["ringex_shard_fencing_token"]
	switch {
	case p[info] != 1:
		t.Errorf("leader /metrics: %s = %v, want 1", info, p[info])
	case p["ringex_shard_leading"] != 1 || p["ringex_shard_may_acknowledge"] != 1:
		t.Errorf("leader /metrics: leading %v, may acknowledge %v; want 1 and 1", p["ringex_shard_leading"], p["ringex_shard_may_acknowledge"])
	case token == 0 || token != p["ringex_epoch"]:
		t.Errorf("leader /metrics: fencing token %v, epoch %v; want equal and not 0", token, p["ringex_epoch"])
	case p["ringex_shard_lease_remaining_seconds"] <= 0 || p["ringex_shard_lease_remaining_seconds"] > 1:
		t.Errorf("leader /metrics: lease remaining %v s; want within (0, 1] (TTL 1 s)", p["ringex_shard_lease_remaining_seconds"])
	}
	s := scrape(t, srvs[stby])
	sinfo := fmt.Sprintf(`ringex_shard_info{leader=%q,member=%q,shard="s1"}`, prim, stby)
	if s[sinfo] != 1 || s["ringex_shard_leading"] != 0 || s["ringex_shard_may_acknowledge"] != 0 || s["ringex_shard_fencing_token"] != token {
		t.Errorf("standby /metrics: %s %v, leading %v, may acknowledge %v, token %v; want 1, 0, 0, %v",
			sinfo, s[sinfo], s["ringex_shard_leading"], s["ringex_shard_may_acknowledge"], s["ringex_shard_fencing_token"], token)
	}
	if sh := shardOf(t, srvs[prim]); sh.Shard != "s1" || sh.Member != prim || sh.Leader != prim || sh.Token != uint64(token) || !sh.MayAcknowledge {
		t.Errorf("leader /status.json shard: %+v", sh)
	}
	members := membersPublished(t, etcd, srvs[prim], stby, uint64(token))
	if len(members) != 2 || members[0].Name != "a" || members[1].Name != "b" {
		t.Errorf("leader /status.json members %+v: want a and b, by name", members)
	}
	for _, m := range members {
		if m.Name == prim && (m.HeardSecondsAgo != 0 || m.Epoch != uint64(token)) {
			t.Errorf("leader /status.json: its own line %+v: want it live (heard 0 s ago) at epoch %v", m, token)
		}
	}

	etcd.Stop()
	// The guard runs out first (503 naming it); about a lease later the
	// node knows the lease expired, logs its brokers out and restarts in
	// place (503: no node running). On a slow machine the first window can
	// pass between two polls, so either answer is the right one, and the
	// metrics are checked only while the node still runs.
	if waitReadyzAny(t, srvs[prim], http.StatusServiceUnavailable, "lease guard ran out", "no node running") == "lease guard ran out" {
		p = scrape(t, srvs[prim])
		if p["ringex_node_running"] == 1 && (p["ringex_shard_may_acknowledge"] != 0 || p["ringex_shard_lease_remaining_seconds"] != 0 || p["ringex_ready"] != 0) {
			t.Errorf("leader /metrics with etcd stopped: may acknowledge %v, lease remaining %v, ready %v; want 0, 0, 0",
				p["ringex_shard_may_acknowledge"], p["ringex_shard_lease_remaining_seconds"], p["ringex_ready"])
		}
	}
	etcd.Start()
	// Back: one of the two leads again and is ready.
	for i := 0; ; i++ {
		code, body := get(t, srvs["a"], "/readyz")
		code2, body2 := get(t, srvs["b"], "/readyz")
		if (code == http.StatusOK && strings.Contains(body, "primary, serving FIX")) || (code2 == http.StatusOK && strings.Contains(body2, "primary, serving FIX")) {
			break
		}
		if i == 600 {
			t.Fatalf("no member ready as primary after etcd came back: a %d %q, b %d %q", code, body, code2, body2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// membersPublished polls the members of shard s1 through etcd ('ringex
// status --etcd' does the same), and waits until srv's /status.json shows
// member other as it published itself at that poll: at epoch token (its
// record of its Join predates the history it took from its leader, or may)
// and with a durable seq. It returns the members srv shows. No etcd
// request is made per scrape: the node follows members/ with one watch.
func membersPublished(t *testing.T, etcd *etcdtest.Server, srv *httpd.Server, other string, token uint64) []node.ShardMember {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cluster.ReadStatus(ctx, []string{etcd.Endpoint()}, "s1", 5*time.Second); err != nil {
		t.Fatalf("poll the members of s1: %v", err)
	}
	for range 600 {
		ms := shardOf(t, srv).Members
		for _, m := range ms {
			if m.Name == other && m.Epoch == token && m.HeardSecondsAgo > 0 {
				return ms
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/status.json members %+v: %s never shown at epoch %d", shardOf(t, srv).Members, other, token)
	return nil
}

// waitReadyzAny waits until /readyz answers code with one of wants in its
// body, and returns that one.
func waitReadyzAny(t *testing.T, srv *httpd.Server, code int, wants ...string) string {
	t.Helper()
	got, body := 0, ""
	for range 600 {
		if got, body = get(t, srv, "/readyz"); got == code {
			for _, w := range wants {
				if strings.Contains(body, w) {
					return w
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/readyz: HTTP %d %q; want %d with one of %q", got, body, code, wants)
	return ""
}
