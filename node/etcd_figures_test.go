package node_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringex/ringex/bench"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestEtcdFigures measures, in one run (RINGEX_REPL_FIGURES=1):
//   - the cost of the lease check on the acknowledgement path: ack p50 of
//     a primary alone without etcd and of the primary of a one-node shard
//     led through etcd (its guard checked once per batch), async mode, run
//     alternately twice each at 5,000 orders/s;
//   - etcd's requests in steady state of a two-node shard in sync mode,
//     idle and under 5,000 orders/s, from the embedded etcd's gRPC
//     counters.
func TestEtcdFigures(t *testing.T) {
	figuresWanted(t)
	etcd := etcdtest.Start(t)
	const rate, seconds = 5000, 4
	var rows []string
	var p50 [2][]int64
	for round := range 4 {
		withEtcd := round%2 == 1
		sk := &ackSink{planned: make([]int64, rate*seconds), seen: make([]bool, rate*seconds), hist: bench.NewHist(), warmNs: int64(time.Second)}
		cfg := figureCfg(t.TempDir(), "primary", "", "async")
		if !withEtcd {
			n, err := node.Start(cfg, node.Options{Publisher: sk, Log: logtest.Discard()})
			if err != nil {
				t.Fatal(err)
			}
			openLoop(t, n, sk, rate, rate*seconds)
			n.Stop()
		} else {
			cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
			cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: fmt.Sprintf("f%d", round), Name: "a", LeaseTTLMs: 2000}
			n, stop := runFigureShard(t, cfg, sk)
			openLoop(t, n, sk, rate, rate*seconds)
			stop()
		}
		h := sk.hist
		i := 0
		if withEtcd {
			i = 1
		}
		p50[i] = append(p50[i], h.ValueAtQuantile(50))
		rows = append(rows, fmt.Sprintf("round %d %-13s p50 %-8s p99 %-8s p99.9 %s", round, map[bool]string{false: "no etcd", true: "etcd + guard"}[withEtcd],
			bench.FormatNs(h.ValueAtQuantile(50)), bench.FormatNs(h.ValueAtQuantile(99)), bench.FormatNs(h.ValueAtQuantile(99.9))))
	}
	ratio := float64(p50[1][0]+p50[1][1]) / float64(p50[0][0]+p50[0][1])
	t.Logf("FIGURE ack latency with and without the lease check, %d orders/s, %d s per run (1 s warm-up), async, journal sync=batch:\n%s\nratio of p50 (etcd / no etcd, mean of two each): %.3f",
		rate, seconds, strings.Join(rows, "\n"), ratio)
	etcdTraffic(t, etcd, rate)
}

// runFigureShard runs a node of a shard through node.Run and returns it
// once it leads, with a function that stops it.
func runFigureShard(t *testing.T, cfg config.Config, pub node.Publisher) (*node.Node, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started, ran := make(chan *node.Node, 4), make(chan error, 1)
	go func() {
		ran <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Publisher: pub, Log: logtest.Discard()},
			Serving: func(n *node.Node) func() { started <- n; return func() {} }})
	}()
	n := nextStart(t, started, ran)
	return n, func() { cancel(); <-ran }
}

// etcdTraffic counts etcd's gRPC calls of a two-node shard in sync mode,
// idle and under load.
func etcdTraffic(t *testing.T, etcd *etcdtest.Server, rate int) {
	var nodes [2]*node.Node
	var stops [2]func()
	for i := range nodes {
		cfg := figureCfg(t.TempDir(), "primary", "", "sync")
		cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
		cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: "traffic", Name: fmt.Sprintf("n%d", i), LeaseTTLMs: 2000}
		nodes[i], stops[i] = runFigureShard(t, cfg, &nullSink{})
		defer stops[i]()
	}
	prim := nodes[0]
	waitUntil(t, "one node leads with its standby connected", func() bool {
		for i, n := range nodes {
			if st, _ := n.ReplicationStats(); st.Role == config.RolePrimary && st.Standby.Connected {
				prim = nodes[i]
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second) // the last setup requests land
	const window = 10 * time.Second
	idle := countCalls(t, window, func() { time.Sleep(window) })
	sk := &ackSink{planned: make([]int64, rate*10), seen: make([]bool, rate*10), hist: bench.NewHist()}
	loaded := countCalls(t, window, func() { openLoop(t, prim, sk, float64(rate), rate*10) })
	t.Logf("FIGURE etcd gRPC calls of a 2-node shard (TTL 2 s, sync) over %v:\n  idle:             %s\n  under %d orders/s: %s", window, idle, rate, loaded)
}

func countCalls(t *testing.T, window time.Duration, during func()) string {
	before := grpcStarted(t)
	start := time.Now()
	during()
	took := time.Since(start)
	after := grpcStarted(t)
	var parts []string
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f (%.2f/s)", k, d, d/took.Seconds()))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// grpcStarted reads the embedded etcd's grpc_server_started_total, by
// "service/method".
func grpcStarted(t *testing.T) map[string]float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_started_total" {
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
	return out
}
