package cluster_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/ringex/ringex/cluster"
)

// etcdServer is a real one-member etcd, started in-process on 127.0.0.1
// with free ports and a temporary data folder. Stop and Start keep its
// ports and data, as a restarted etcd would.
type etcdServer struct {
	t         testing.TB
	dir       string
	client    url.URL
	peer      url.URL
	mu        sync.Mutex
	e         *embed.Etcd
	started   int
	endpoints []string
}

func freeURL(t testing.TB) url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}
}

func startEtcd(t testing.TB) *etcdServer {
	t.Helper()
	s := &etcdServer{t: t, dir: t.TempDir(), client: freeURL(t), peer: freeURL(t)}
	s.endpoints = []string{s.client.String()}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts (or restarts) the server and waits until it serves.
func (s *etcdServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e != nil {
		return
	}
	cfg := embed.NewConfig()
	cfg.Name = "etcd0"
	cfg.Dir = s.dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{s.client}, []url.URL{s.client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{s.peer}, []url.URL{s.peer}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, s.peer.String())
	// 50 ms ticks, 500 ms elections: etcd's smallest lease TTL is then 1 s.
	cfg.TickMs, cfg.ElectionMs = 50, 500
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.Metrics = "basic"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		s.t.Fatalf("start embedded etcd in %s: %v", s.dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		s.t.Fatalf("embedded etcd in %s not ready after 60s", s.dir)
	}
	s.e = e
	s.started++
}

// Stop stops the server at once, as a crashed etcd: raft and the lessor
// stop first (no lease expires while the listeners close, which may take
// the request timeout), then the rest.
func (s *etcdServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e == nil {
		return
	}
	s.e.Server.Stop()
	s.e.Close()
	s.e = nil
}

var logMu sync.Mutex

// join joins a member to shard with the test's defaults and closes it at
// the end of the test.
func join(t *testing.T, s *etcdServer, shard, name string, ttl time.Duration, seq *atomic.Int64) *cluster.Member {
	t.Helper()
	return joinSettling(t, s, shard, name, ttl, seq, 0)
}

// joinSettling is join with a candidate settle time: tests that assert
// which candidate wins give the others time to post even on a loaded
// machine.
func joinSettling(t *testing.T, s *etcdServer, shard, name string, ttl time.Duration, seq *atomic.Int64, settle time.Duration) *cluster.Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := cluster.Config{
		Endpoints: s.endpoints, Shard: shard, Name: name, TTL: ttl,
		ReplAddr: name + ".test:7001", Settle: settle,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			t.Logf(format, args...)
		},
	}
	if seq != nil {
		cfg.DurableSeq = seq.Load
	}
	m, err := cluster.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join %s to shard %s: %v", name, shard, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

// within fails the test unless cond holds within d, polling every 10 ms.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
