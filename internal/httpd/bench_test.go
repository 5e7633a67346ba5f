package httpd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/httpd"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// countSink is the benchmark's publisher: it counts the events of the
// publish stage and remembers the last command's seq it saw.
type countSink struct{ events, lastSeq atomic.Int64 }

func (s *countSink) Publish(ev *matcher.Event) {
	s.events.Add(1)
	s.lastSeq.Store(ev.Seq)
}

// BenchmarkPipelineMetrics compares the ring pipeline's throughput with
// metrics off (http.listen empty: the node counts nothing for them and
// nothing scrapes) and on (the node's hot-path counters, and /metrics
// scraped every scrapeBenchEvery, far more often than Prometheus's 15 s
// default). Each op is one new order straight into the ring (no FIX),
// brokers 1 and 2 crossing each other on 8 symbols, so every second order
// trades. The journal does not fsync (sync none): an fsync per batch would
// hide the CPU the counters cost. The two alternate (and which goes first
// in a round alternates), benchRounds times each, b.N orders per turn on a
// fresh node (-benchtime 500000x: about a third of a second a turn), so that a noisy machine
// weighs on both alike. It reports each one's orders/s over all rounds,
// its process CPU time per order (start and stop of the node included:
// on a shared machine what the work costs, apart from what neighbours
// take), and the median over the rounds of the throughput metrics cost,
// in percent of the throughput without them (the median: one round that
// a neighbour's burst hit does not decide it).
func BenchmarkPipelineMetrics(b *testing.B) {
	var off, on turns
	for r := range benchRounds {
		if r%2 == 0 { // which goes first alternates too
			off.run(b, false)
			on.run(b, true)
		} else {
			on.run(b, true)
			off.run(b, false)
		}
	}
	orders := float64(b.N * benchRounds)
	b.ReportMetric(orders/off.wall.Seconds(), "off_orders/s")
	b.ReportMetric(orders/on.wall.Seconds(), "on_orders/s")
	b.ReportMetric(float64(off.cpuNs)/orders, "off_cpu_ns/order")
	b.ReportMetric(float64(on.cpuNs)/orders, "on_cpu_ns/order")
	costs := make([]float64, benchRounds)
	for r := range costs {
		costs[r] = 100 * (1 - off.each[r].Seconds()/on.each[r].Seconds()) // throughput lost, in % of off's
	}
	slices.Sort(costs)
	b.ReportMetric(costs[len(costs)/2], "median_cost_%")
}

// turns add up the turns of one mode.
type turns struct {
	wall  time.Duration
	each  []time.Duration
	cpuNs int64
}

func (t *turns) run(b *testing.B, metrics bool) {
	cpu := processCPUNs()
	d := runPipeline(b, metrics, b.N)
	t.cpuNs += processCPUNs() - cpu
	t.wall += d
	t.each = append(t.each, d)
}

const (
	benchRounds      = 11
	scrapeBenchEvery = 100 * time.Millisecond
)

// runPipeline starts a node, with metrics or without, sends it count new
// orders and returns the time until the publish stage passed the last.
func runPipeline(b *testing.B, metrics bool, count int) time.Duration {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	if err := json.Unmarshal([]byte(`"none"`), &cfg.Journal.Sync); err != nil { // as the config file says it
		b.Fatal(err)
	}
	cfg.Journal.Archive = false
	cfg.Snapshot.EveryCommands, cfg.Snapshot.EverySec = 0, 0
	cfg.Replication.Admin = ""
	cfg.HTTP.Listen = ""
	if metrics {
		cfg.HTTP.Listen = "127.0.0.1:0"
	}
	sink := &countSink{}
	n, err := node.Start(cfg, node.Options{Publisher: sink, Log: logtest.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	if metrics {
		defer scrapeEvery(b, n, scrapeBenchEvery)()
	}
	var cmd matcher.Command
	last := n.Status().Journal.LastSeq + int64(count) // nothing else is submitted meanwhile
	start := time.Now()
	for i := range count {
		newOrder(&cmd, i)
		if err := n.Submit(&cmd); err != nil {
			b.Fatal(err)
		}
	}
	for sink.lastSeq.Load() < last {
		time.Sleep(50 * time.Microsecond)
	}
	return time.Since(start)
}

// newOrder makes order i: a buy of broker 1 or a sell of broker 2 at the
// same price, on symbol i/2 % 8, so each pair trades.
func newOrder(cmd *matcher.Command, i int) {
	*cmd = matcher.Command{Kind: matcher.KindNew, Account: uint32(1 + i%2), Symbol: uint32(1 + i/2%8),
		Side: matcher.Side(1 + i%2), Type: matcher.Limit, TIF: matcher.GTC, Price: 10000, Qty: 1}
	var digits [20]byte
	copy(cmd.ClOrdID[:], strconv.AppendInt(digits[:0], int64(i), 10))
}

// scrapeEvery opens the endpoint on n and scrapes /metrics every d until
// the returned function is called.
func scrapeEvery(b *testing.B, n *node.Node, d time.Duration) (stop func()) {
	srv, err := httpd.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv.Attach(n)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		url := "http://" + srv.Addr().String() + "/metrics"
		for {
			select {
			case <-done:
				return
			case <-time.After(d):
			}
			if res, err := http.Get(url); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK { // else "on" would time no scrape
					b.Errorf("scrape %s: %s", url, res.Status)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		srv.Close()
	}
}

// BenchmarkScrape is one scrape of /metrics from a node with default
// settings, over loopback HTTP: the CPU a Prometheus scrape takes from the
// exchange (every 15 s by default).
func BenchmarkScrape(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Replication.Admin = ""
	n, err := node.Start(cfg, node.Options{Publisher: &countSink{}, Log: logtest.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	srv, err := httpd.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.Attach(n)
	url := "http://" + srv.Addr().String() + "/metrics"
	b.ReportAllocs()
	for b.Loop() {
		res, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK { // else it times an error page
			b.Fatalf("scrape %s: %s", url, res.Status)
		}
	}
}
