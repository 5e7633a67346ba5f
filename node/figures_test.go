package node_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ringex/ringex/bench"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// The replication figures are measurements, not tests: they run only with
// RINGEX_REPL_FIGURES=1 (minutes of load), e.g.
//
//	RINGEX_REPL_FIGURES=1 go test -run ReplicationFigures -v -timeout 20m ./node
//
// Acknowledgement latency is measured the way bench pipeline measures it:
// open loop (each order has a planned submit time, and latency counts from
// it, so a stall is never hidden), from the planned time to the publish of
// the order's first event, which in sync mode happens only after both
// journals have fsynced it. Primary and standby run in this one process on
// loopback, so they share the machine's cores and disk.
func figuresWanted(t *testing.T) {
	if os.Getenv("RINGEX_REPL_FIGURES") == "" {
		t.Skip("set RINGEX_REPL_FIGURES=1 to measure (minutes)")
	}
}

// ackSink records, on the publish stage, the latency of each order's first
// event from its planned submit time. Only the publish goroutine touches
// seen and hist; planned[k] is written before order k is submitted.
type ackSink struct {
	base    time.Time
	planned []int64
	seen    []bool
	hist    *hdrhistogram.Histogram
	warmNs  int64
	answers int64
}

func (s *ackSink) Publish(ev *matcher.Event) {
	id := ev.ClOrdID.String()
	if !strings.HasPrefix(id, "F") {
		return
	}
	k, err := strconv.Atoi(id[1:])
	if err != nil || k >= len(s.seen) || s.seen[k] {
		return
	}
	s.seen[k] = true
	s.answers++
	if s.planned[k] >= s.warmNs {
		bench.Record(s.hist, int64(time.Since(s.base))-s.planned[k])
	}
}

// openLoop submits count orders at ratePerSec (half of them crossing, on
// every symbol) and waits for every answer.
func openLoop(t *testing.T, n *node.Node, sk *ackSink, ratePerSec float64, count int) {
	t.Helper()
	sched := bench.Schedule{RatePerSec: ratePerSec, Streams: 1}
	sk.base = time.Now()
	for k := 0; k < count; {
		now := int64(time.Since(sk.base))
		due := min(int(sched.DueBy(0, now)), count)
		if due <= k {
			time.Sleep(time.Duration(sched.PlannedNs(0, int64(k)) - now))
			continue
		}
		for ; k < due; k++ {
			sk.planned[k] = sched.PlannedNs(0, int64(k))
			side := matcher.Buy
			px := int64(1000 - k%10)
			if k%2 == 1 {
				side, px = matcher.Sell, int64(995+k%10)
			}
			cl, _ := matcher.MakeClOrdID("F" + strconv.Itoa(k))
			cmd := &matcher.Command{Kind: matcher.KindNew, Symbol: uint32(1 + k%8), Account: 1, Side: side,
				Type: matcher.Limit, TIF: matcher.GTC, Price: px, Qty: int64(1 + k%5), ClOrdID: cl}
			if err := n.Submit(cmd); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if published(n) >= int64(len(sk.seen)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every order answered within 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// published is how many slots the publish stage has passed: the sink's
// own counters belong to the publish goroutine until the node stops.
func published(n *node.Node) int64 {
	for _, s := range n.Stats() {
		if s.Name == "publish" {
			return int64(s.Events)
		}
	}
	return 0
}

func figureCfg(dir, role, primary, mode string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	if role != "" {
		cfg.Replication = config.Replication{Role: fromText[config.Role](role), Listen: "127.0.0.1:0", Primary: primary, Mode: fromText[config.ReplicationMode](mode),
			OnStandbyLost: config.LostWait, SyncTimeoutMs: 2000, HeartbeatMs: 100}
	}
	return cfg
}

// TestReplicationFigures measures acknowledgement latency with replication
// off, async and sync at 5,000 and 10,000 orders/s, in one run.
func TestReplicationFigures(t *testing.T) {
	figuresWanted(t)
	rates := []float64{5000, 10000}
	seconds := 6
	if s := os.Getenv("RINGEX_FIGURES_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
	}
	var rows []string
	for _, rate := range rates {
		for _, mode := range []string{"off", "async", "sync"} {
			p50, p99, p999, max := measureAck(t, mode, rate, seconds)
			rows = append(rows, fmt.Sprintf("%-6s %7.0f/s  p50 %-8s p99 %-8s p99.9 %-8s max %s", mode, rate,
				bench.FormatNs(p50), bench.FormatNs(p99), bench.FormatNs(p999), bench.FormatNs(max)))
		}
	}
	t.Logf("FIGURE ack latency, %d s per run (1 s warm-up), journal sync=batch, primary+standby in one process:\n%s",
		seconds, strings.Join(rows, "\n"))
}

func measureAck(t *testing.T, mode string, rate float64, seconds int) (p50, p99, p999, max int64) {
	count := int(rate) * seconds
	sk := &ackSink{planned: make([]int64, count), seen: make([]bool, count), hist: bench.NewHist(), warmNs: int64(time.Second)}
	role := "primary"
	if mode == "off" {
		role = ""
	}
	p, err := node.Start(figureCfg(t.TempDir(), role, "", mode), node.Options{Publisher: sk, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	var s *node.Node
	if mode != "off" {
		s, err = node.Start(figureCfg(t.TempDir(), "standby", p.ReplicationAddr().String(), mode), node.Options{Publisher: &sink{}, Log: logtest.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "standby connected", func() bool { st, _ := p.ReplicationStats(); return st.Standby.Connected })
	}
	openLoop(t, p, sk, rate, count)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if s != nil {
		s.Stop()
	}
	h := sk.hist
	return h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.ValueAtQuantile(99.9), h.Max()
}

// TestCatchUpFigure measures how fast a standby started late catches up
// with a primary's journal of a million records: journal read on the
// primary, frames over loopback, one fsync per frame on the standby, and
// the standby's match stage applying every record.
func TestCatchUpFigure(t *testing.T) {
	figuresWanted(t)
	const records = 1_000_000
	dirP := t.TempDir()
	p, err := node.Start(figureCfg(dirP, "primary", "", "async"), node.Options{Publisher: &nullSink{}, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	for k := range records {
		side := matcher.Buy
		if k%2 == 1 {
			side = matcher.Sell
		}
		cl, _ := matcher.MakeClOrdID("C" + strconv.Itoa(k))
		if err := p.Submit(&matcher.Command{Kind: matcher.KindNew, Symbol: uint32(1 + k%8), Account: 1, Side: side,
			Type: matcher.Limit, TIF: matcher.IOC, Price: int64(990 + k%20), Qty: 1, ClOrdID: cl}); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "primary journaled a million records", func() bool { return lastSeq(p) >= records })
	target := lastSeq(p)
	start := time.Now()
	s, err := node.Start(figureCfg(t.TempDir(), "standby", p.ReplicationAddr().String(), "async"), node.Options{Publisher: &nullSink{}, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "standby caught up", func() bool { return lastSeq(s) >= target })
	journaled := time.Since(start)
	waitUntil(t, "standby applied everything", func() bool { return published(s) >= target })
	applied := time.Since(start)
	t.Logf("FIGURE catch-up: %d records (includes the standby's start) journaled on the standby in %v (%.0f records/s), applied in %v (%.0f records/s)",
		target, journaled.Round(time.Millisecond), float64(target)/journaled.Seconds(),
		applied.Round(time.Millisecond), float64(target)/applied.Seconds())
	s.Stop()
	p.Stop()
}

// TestRebuildFigure measures how fast a promoted standby rebuilds, from
// the journal, the reports of a broker that was away for longer than its
// buffer holds (rebuildReports): a million records replayed from the first
// one with fresh engines, the events of one account of eight kept.
func TestRebuildFigure(t *testing.T) {
	figuresWanted(t)
	const records = 1_000_000
	n, err := node.Start(figureCfg(t.TempDir(), "primary", "", "async"), node.Options{Publisher: &nullSink{}, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	for k := range records {
		side := matcher.Buy
		if k%2 == 1 {
			side = matcher.Sell
		}
		cl, _ := matcher.MakeClOrdID("C" + strconv.Itoa(k))
		if err := n.Submit(&matcher.Command{Kind: matcher.KindNew, Symbol: uint32(1 + k%8), Account: uint32(1 + k%8), Side: side,
			Type: matcher.Limit, TIF: matcher.IOC, Price: int64(990 + k%20), Qty: 1, ClOrdID: cl}); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "a million records journaled", func() bool { return lastSeq(n) >= records })
	last := lastSeq(n)
	want := make([]bool, 9)
	want[1] = true
	start := time.Now()
	events, replayed, err := n.Regenerate(0, last, want)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("FIGURE rebuild: %d records replayed from the first in %v (%.0f records/s); %d events of one account kept",
		replayed, took.Round(time.Millisecond), float64(replayed)/took.Seconds(), events)
}

type nullSink struct{}

func (nullSink) Publish(*matcher.Event) {}
