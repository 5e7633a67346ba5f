// Package etcdtest is test support: a real one-member etcd, started
// in-process (go.etcd.io/etcd/server/v3/embed) on 127.0.0.1 with free
// ports and a temporary data folder, for the tests of nodes whose shard
// etcd leads.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is the etcd member. Stop and Start keep its ports and data, as a
// restarted etcd would. Its gRPC counters are in Prometheus's default
// registry (grpc_server_started_total).
type Server struct {
	t            testing.TB
	dir          string
	client, peer url.URL
	mu           sync.Mutex
	e            *embed.Etcd
}

// Start starts a member on 127.0.0.1 for the test and stops it when the
// test ends.
func Start(t testing.TB) *Server { return StartOn(t, "127.0.0.1") }

// StartOn is Start with the client and peer ports on host.
func StartOn(t testing.TB, host string) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), client: freeURL(t, host), peer: freeURL(t, host)}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func freeURL(t testing.TB, host string) url.URL {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}
}

// Endpoint is the client URL.
func (s *Server) Endpoint() string { return s.client.String() }

// Start (re)starts the member and waits until it serves.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e != nil {
		return
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = "etcd0", s.dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{s.client}, []url.URL{s.client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{s.peer}, []url.URL{s.peer}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, s.peer.String())
	cfg.TickMs, cfg.ElectionMs = 50, 500 // the smallest lease TTL is then 1 s
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
}

// Stop stops the member at once, as a crashed etcd: raft and the lessor
// stop first (no lease expires while the listeners close), then the rest.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e != nil {
		s.e.Server.Stop()
		s.e.Close()
		s.e = nil
	}
}
