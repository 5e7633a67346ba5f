package cluster_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/internal/etcdtest"
)

// grpcCounts reads the embedded etcd's gRPC server counters (registered
// with the default Prometheus registry), by "service/method".
func grpcCounts(t *testing.T, family string) map[string]float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gather etcd metrics: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			var svc, method string
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "grpc_service":
					svc = lp.GetValue()
				case "grpc_method":
					method = lp.GetValue()
				}
			}
			out[svc[strings.LastIndex(svc, ".")+1:]+"/"+method] += m.GetCounter().GetValue()
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s metric: the embedded etcd registers none", family)
	}
	return out
}

func mustLeader(t *testing.T, ctx context.Context, m *cluster.Member) cluster.LeaderInfo {
	t.Helper()
	info, err := m.Leader(ctx)
	if err != nil {
		t.Fatalf("%s reads the leader: %v", m.Name(), err)
	}
	return info
}

func delta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

// TestSteadyStateTrafficIsKeepAlivesOnly measures the etcd requests a shard
// of three (a leader, two standbys following it and waiting to lead) makes
// while nothing changes: 3 keep-alives per member per TTL and nothing else.
func TestSteadyStateTrafficIsKeepAlivesOnly(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxFor(t, 2*time.Minute)
	a := join(t, s, "shard1", "a", testTTL, nil)
	b := join(t, s, "shard1", "b", testTTL, nil)
	c := join(t, s, "shard1", "c", testTTL, nil)
	contendOnce(t, ctx, a)
	out := make(chan lead, 2)
	leadAsync(ctx, b, out)
	leadAsync(ctx, c, out)
	obsB, obsC := b.Observe(ctx), c.Observe(ctx)
	waitObserved(t, obsB, "a", mustLeader(t, ctx, b).Token)
	waitObserved(t, obsC, "a", mustLeader(t, ctx, c).Token)
	time.Sleep(testTTL) // let the last setup requests land

	window := 5 * testTTL
	startedBefore, recvBefore := grpcCounts(t, "grpc_server_started_total"), grpcCounts(t, "grpc_server_msg_received_total")
	time.Sleep(window)
	started := delta(startedBefore, grpcCounts(t, "grpc_server_started_total"))
	recv := delta(recvBefore, grpcCounts(t, "grpc_server_msg_received_total"))

	var lines []string
	for k, v := range started {
		lines = append(lines, fmt.Sprintf("%s: %.0f calls (%.2f/s), %.0f messages received", k, v, v/window.Seconds(), recv[k]))
	}
	sort.Strings(lines)
	t.Logf("etcd gRPC traffic of a 3-member shard over %v, TTL %v:\n  %s", window, testTTL, strings.Join(lines, "\n  "))
	for _, d := range []map[string]float64{started, recv} {
		for k := range d {
			if k != "Lease/LeaseKeepAlive" {
				t.Errorf("steady state made %s calls or requests: want keep-alives only", k)
			}
		}
	}
	// Each keep-alive is one LeaseKeepAlive call (KeepAliveOnce: a stream
	// carrying one request). 3 members, one per TTL/3 each: 9 per TTL.
	// A slow machine may send fewer; never more.
	if got, most := started["Lease/LeaseKeepAlive"], 9*window.Seconds()/testTTL.Seconds()+3; got > most {
		t.Errorf("%.0f keep-alives in %v, want at most %.0f (3 members, 3 per TTL each)", got, window, most)
	}
	select {
	case l := <-out:
		t.Fatalf("%s left Lead in steady state: %v", l.name, l.err)
	default:
	}
}
