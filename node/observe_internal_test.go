package node

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/ringbuffer"
)

// BenchmarkObserverPerOrder is what counting for the metrics endpoint adds
// per order, without a running pipeline (whose noise on a shared machine
// hides it): batches of new orders on 8 symbols, each with an accepted
// and a fill event counted as the publish stage counts them, then its
// stage's end of batch and both match partitions' (best bid/offer of the
// symbols touched). ns/order is what to set against the pipeline's CPU
// per order (BenchmarkPipelineMetrics): small batches (light load) pay the
// per-symbol work on few orders, large ones (a busy pipeline) share it.
func BenchmarkObserverPerOrder(b *testing.B) {
	for _, batch := range []int64{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchObserver(b, batch) })
	}
}

func benchObserver(b *testing.B, batch int64) {
	const partitions = 2
	cfg := config.Default()
	n := &Node{cfg: cfg}
	n.initObserver()
	r, err := ringbuffer.New[slot](ringbuffer.Options{Capacity: 256, Writers: 1},
		ringbuffer.Stage{Name: "x", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(func(lo, hi int64) {})}})
	if err != nil {
		b.Fatal(err)
	}
	n.ring = r // never started: its slots are plain memory here
	for i := range partitions {
		n.partitions = append(n.partitions, &partition{index: i, engine: matcher.New(EngineConfig(cfg))})
	}
	evs := make([]matcher.Event, 0, 2*batch)
	for i := range batch {
		s := r.Slot(i)
		s.cmd = matcher.Command{Seq: i + 1, Kind: matcher.KindNew, Symbol: uint32(1 + i%8), Account: 1, Side: matcher.Buy,
			Type: matcher.Limit, Price: 100, Qty: 1}
		evs = append(evs, matcher.Event{Seq: i + 1, Type: matcher.EvAccepted, Symbol: s.cmd.Symbol},
			matcher.Event{Seq: i + 1, Type: matcher.EvFill, Symbol: s.cmd.Symbol, LastPx: 100, LastQty: 1})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := 0; i < len(evs); i += 2 { // each order's two events, as publishSlot counts them
			n.obs.batch.count(evs[i : i+2])
		}
		n.endPublishBatch(0, batch-1)
		for _, p := range n.partitions {
			n.endMatchBatch(p, 0, batch-1)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*batch), "ns/order")
	if got := n.obs.kinds[matcher.KindNew].Load(); got != uint64(int64(b.N)*batch) {
		b.Fatalf("counted %d new orders, want %d", got, int64(b.N)*batch)
	}
}

// TestQuotePaddedToTwoCacheLines: quote is padded to two cache lines, as
// its comment says, so that the figures of neighbours (written by other
// partitions' goroutines) share no 64-byte line.
func TestQuotePaddedToTwoCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(quote{}); n != 128 {
		t.Errorf("unsafe.Sizeof(quote{}) = %d, want 128 (two cache lines, as its comment says)", n)
	}
}
