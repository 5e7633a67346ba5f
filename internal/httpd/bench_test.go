package httpd_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
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
// publish stage, remembers the last command's seq it saw, and reads every
// field of each event (a copy), as the FIX gateway's publisher does to
// format a report: so the publish stage's counting finds the event in its
// cache as it would behind the gateway, instead of taking the cache
// misses that the report's formatting takes there.
type countSink struct {
	events, lastSeq atomic.Int64
	last            matcher.Event // the publish stage's only
}

func (s *countSink) Publish(ev *matcher.Event) {
	s.last = *ev
	s.events.Add(1)
	s.lastSeq.Store(ev.Seq)
}

// scrapeEveryFlag is how often BenchmarkPipelineMetrics scrapes /metrics
// with metrics on: 1 s by default (Prometheus's default is 15 s).
var scrapeEveryFlag = flag.Duration("scrape-every", time.Second, "BenchmarkPipelineMetrics: how often /metrics is scraped with metrics on")

// BenchmarkPipelineMetrics compares the ring pipeline with metrics off
// (http.listen empty: the node counts nothing for them and nothing
// scrapes) and on (the node's hot-path counters, and /metrics scraped
// every -scrape-every by an HTTP client in this process, whose CPU counts
// against "on" too: more than a Prometheus elsewhere would cost). Each op
// is one new order straight into the ring (no FIX), brokers 1 and 2
// crossing each other on 8 symbols, so every second order trades. The
// journal does not fsync (sync none): an fsync per batch would hide the
// CPU the counters cost. The two alternate (and which goes first in a
// round alternates), -rounds times each, b.N orders per turn on a fresh
// node (-benchtime 1000000x: about 1 s a turn here; the first scrape
// comes after a random part of the interval, so turns shorter than it
// scrape as often as Prometheus would on average), so that a noisy
// machine weighs on both alike. For example:
//
//	go test -run XXX -bench PipelineMetrics -benchtime 1000000x ./internal/httpd/ -args -rounds 121 -scrape-every 1s
//
// A turn is timed from the first order submitted to the publish stage
// passing the last: its wall time, and the process's CPU time (all
// threads; on a shared machine the steadier figure, as it leaves out
// what neighbours take). The node's start and stop, the scrape server's,
// and a warm-up of warmUpOrders orders are outside it, and a GC before
// each turn collects the turn before's garbage, so that neither mode pays
// for the other's: it times the steady state.
//
// It reports, for each mode, orders/s and CPU per order over all rounds,
// and the cost of metrics as paired differences: per round, "on" against
// "off" of the same round, in percent of "off", for CPU per order and for
// throughput. Of those it reports the median, a 95% confidence interval
// for the median (order statistics, as a sign test gives it: no
// assumption on how the differences spread) and the range (the median:
// one round that a neighbour's burst hit does not decide it). -v logs
// each round. Each turn's work is labelled metrics=true or false for
// -cpuprofile (go tool pprof -tagfocus).
func BenchmarkPipelineMetrics(b *testing.B) {
	rounds := *benchRounds
	if b.N == 1 {
		rounds = 1 // the testing package's first try: each turn's warm-up alone is 65,536 orders
	}
	var off, on turns
	for r := range rounds {
		if r%2 == 0 { // which goes first alternates too
			off.run(b, false)
			on.run(b, true)
		} else {
			on.run(b, true)
			off.run(b, false)
		}
		if b.N == 1 {
			continue
		}
		b.Logf("round %d: off %.0f orders/s %.0f cpu_ns/order %.0f slots/batch, on %.0f orders/s %.0f cpu_ns/order %.0f slots/batch, %d scrapes; cost cpu %+.1f%% tput %+.1f%%",
			r, float64(b.N)/off.each[r].Seconds(), float64(off.cpu[r])/float64(b.N), off.batch[r],
			float64(b.N)/on.each[r].Seconds(), float64(on.cpu[r])/float64(b.N), on.batch[r], on.scrapes[r],
			cpuCost(&off, &on, r), tputCost(&off, &on, r))
	}
	orders := float64(b.N * rounds)
	b.ReportMetric(orders/off.wall.Seconds(), "off_orders/s")
	b.ReportMetric(orders/on.wall.Seconds(), "on_orders/s")
	b.ReportMetric(float64(off.cpuNs)/orders, "off_cpu_ns/order")
	b.ReportMetric(float64(on.cpuNs)/orders, "on_cpu_ns/order")
	cpu, tput := make([]float64, rounds), make([]float64, rounds)
	for r := range rounds {
		cpu[r], tput[r] = cpuCost(&off, &on, r), tputCost(&off, &on, r)
	}
	reportSpread(b, cpu, "cpu_cost_%")
	reportSpread(b, tput, "tput_cost_%")
	var scrapes int
	for _, n := range on.scrapes {
		scrapes += n
	}
	b.ReportMetric(float64(scrapes)/on.wall.Seconds(), "scrapes/s")
}

// cpuCost is round r's paired cost of metrics in CPU: how much more CPU
// per order "on" took than "off", in % of off's.
func cpuCost(off, on *turns, r int) float64 {
	return 100 * (float64(on.cpu[r])/float64(off.cpu[r]) - 1)
}

// tputCost is round r's paired cost of metrics in throughput: how much
// less "on" passed per second than "off", in % of off's.
func tputCost(off, on *turns, r int) float64 {
	return 100 * (1 - off.each[r].Seconds()/on.each[r].Seconds())
}

// reportSpread reports the median, its 95% confidence interval, the
// least and the greatest of v as median_unit, ci95lo_unit, ci95hi_unit,
// min_unit and max_unit.
func reportSpread(b *testing.B, v []float64, unit string) {
	v = slices.Clone(v)
	slices.Sort(v)
	b.ReportMetric(v[len(v)/2], "median_"+unit)
	if k := medianCIRank(len(v)); k > 0 {
		b.ReportMetric(v[k-1], "ci95lo_"+unit)
		b.ReportMetric(v[len(v)-k], "ci95hi_"+unit)
	}
	b.ReportMetric(v[0], "min_"+unit)
	b.ReportMetric(v[len(v)-1], "max_"+unit)
}

// medianCIRank is k such that the k-th least and the k-th greatest of n
// values bound their population's median with at least 95% confidence,
// whatever their distribution (the interval a sign test gives): the
// median lies below the k-th least only if fewer than k of n values do,
// which has probability P(Binomial(n, 1/2) < k); k is the greatest with
// that at most 2.5%, 0 when n is too small for any (n < 6).
func medianCIRank(n int) int {
	lnFact := func(x int) float64 { r, _ := math.Lgamma(float64(x + 1)); return r }
	k, tail := 0, 0.0 // tail: P(Binomial(n, 1/2) <= i), each term in logs to spare underflow
	for i := 0; i <= n/2; i++ {
		tail += math.Exp(lnFact(n) - lnFact(i) - lnFact(n-i) - float64(n)*math.Ln2)
		if tail > 0.025 {
			break
		}
		k = i + 1
	}
	return k
}

// TestMedianCIRank: the ranks that bound a median with 95% confidence
// are those of the binomial table (P(Binomial(n, 1/2) < k) <= 2.5% <
// P(Binomial(n, 1/2) < k+1)).
func TestMedianCIRank(t *testing.T) {
	for _, c := range []struct{ n, k int }{{1, 0}, {5, 0}, {6, 1}, {10, 2}, {41, 14}, {121, 50}, {201, 87}} {
		if got := medianCIRank(c.n); got != c.k {
			t.Errorf("medianCIRank(%d) = %d, want %d", c.n, got, c.k)
		}
	}
}

// turns add up the turns of one mode.
type turns struct {
	wall    time.Duration
	each    []time.Duration
	cpuNs   int64
	cpu     []int64 // each turn's
	scrapes []int   // each turn's
	batch   []float64
}

func (t *turns) run(b *testing.B, metrics bool) {
	dir, err := os.MkdirTemp(b.TempDir(), "turn")
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the turn before's garbage: not this turn's to collect
	var tm turn
	// Labelled for -cpuprofile (pprof -tagfocus metrics=true): the node's
	// goroutines and the scraper's inherit it.
	pprof.Do(context.Background(), pprof.Labels("metrics", strconv.FormatBool(metrics)), func(context.Context) {
		tm = runPipeline(b, dir, metrics, b.N)
	})
	os.RemoveAll(dir) // a turn's journal: hundreds of MB
	t.cpuNs += tm.cpuNs
	t.cpu = append(t.cpu, tm.cpuNs)
	t.wall += tm.wall
	t.each = append(t.each, tm.wall)
	t.scrapes = append(t.scrapes, tm.scrapes)
	t.batch = append(t.batch, tm.batch)
}

var benchRounds = flag.Int("rounds", 11, "BenchmarkPipelineMetrics: rounds of one turn off and one on")

// turn is what one turn measured, from the first order submitted to the
// publish stage passing the last.
type turn struct {
	wall    time.Duration
	cpuNs   int64 // the process's, all threads
	scrapes int
	batch   float64 // the publish stage's mean batch, in slots
}

// runPipeline starts a node in dir, with metrics or without, sends it
// count new orders and measures until the publish stage passed the last.
func runPipeline(b *testing.B, dir string, metrics bool, count int) turn {
	cfg := config.Default()
	cfg.DataDir = dir
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
	var scrapes atomic.Int64
	if metrics {
		defer scrapeEvery(b, n, *scrapeEveryFlag, &scrapes)()
	}
	// Warm-up, untimed: the ring's slots and the journal's first segment
	// get their pages, the books their first orders.
	submitOrders(b, n, sink, 0, warmUpOrders)
	cpu, start := processCPUNs(), time.Now()
	submitOrders(b, n, sink, warmUpOrders, count)
	t := turn{wall: time.Since(start), cpuNs: processCPUNs() - cpu, scrapes: int(scrapes.Load())}
	for _, st := range n.Stats() {
		if st.Name == "publish" {
			t.batch = st.MeanBatch
		}
	}
	return t
}

// warmUpOrders go through each turn's node before it is timed: four times
// the default ring's 16,384 slots.
const warmUpOrders = 1 << 16

// submitOrders sends n orders from the from-th on and waits until the
// publish stage has passed the last.
func submitOrders(b *testing.B, nd *node.Node, sink *countSink, from, n int) {
	last := nd.Status().Journal.LastSeq + int64(n) // nothing else is submitted meanwhile
	var cmd matcher.Command
	for i := from; i < from+n; i++ {
		newOrder(&cmd, i)
		if err := nd.Submit(&cmd); err != nil {
			b.Fatal(err)
		}
	}
	for sink.lastSeq.Load() < last {
		if err := nd.Err(); err != nil { // the journal failed (a full disk): it will not pass the last
			b.Fatalf("pipeline stopped before order %d of %d: %v", sink.lastSeq.Load()-last+int64(n), n, err)
		}
		time.Sleep(50 * time.Microsecond)
	}
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
// the returned function is called, counting them in scrapes.
func scrapeEvery(b *testing.B, n *node.Node, d time.Duration, scrapes *atomic.Int64) (stop func()) {
	srv, err := httpd.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv.Attach(n)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		url := "http://" + srv.Addr().String() + "/metrics"
		// The first after a random part of d: a turn shorter than d
		// scrapes as often, on average, as Prometheus would.
		for wait := rand.N(d); ; wait = d {
			select {
			case <-done:
				return
			case <-time.After(wait):
			}
			if res, err := http.Get(url); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK { // else "on" would time no scrape
					b.Errorf("scrape %s: %s", url, res.Status)
				}
				scrapes.Add(1)
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
// exchange (every 15 s by default). cpu_ns/scrape is the process's CPU
// time, the client's (which a Prometheus elsewhere would spend) included.
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
	cpu := processCPUNs()
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
	b.ReportMetric(float64(processCPUNs()-cpu)/float64(b.N), "cpu_ns/scrape")
}
