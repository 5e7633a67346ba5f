package node

import (
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/ringbuffer"
)

// BenchmarkObserverPerOrder is what counting for the metrics endpoint adds
// per order, without a running pipeline (whose noise on a shared machine
// hides it): batches of new orders on 8 symbols; each of two match
// partitions marks the symbols of the batch as its loop does, then ends
// its batch (best bid/offer of its symbols touched); the publish stage
// counts each order's kind and its accepted and fill events, then ends
// its batch. Each loop reads the ring's slots here, which the stages'
// loops read anyway, so this overstates a little. ns/order is what to set
// against the pipeline's CPU per order (BenchmarkPipelineMetrics): small
// batches (light load) pay the per-symbol work on few orders, large ones
// (a busy pipeline) share it.
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
		for _, p := range n.partitions { // each match goroutine's loop over the batch, then its end
			for seq := range batch {
				n.obs.marks[p.index].touch(&r.Slot(seq).cmd)
			}
			n.endMatchBatch(p)
		}
		for seq := range batch { // the publish stage's, as publishSlot counts
			n.obs.pub.batch.command(r.Slot(seq).cmd.Kind)
			n.obs.pub.batch.count(evs[2*seq : 2*seq+2])
		}
		n.endPublishBatch()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*batch), "ns/order")
	if got := n.obs.pub.kinds[matcher.KindNew].Load(); got != uint64(int64(b.N)*batch) {
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

// TestObserverWritersOnSeparateLines: what different goroutines write
// lies at least a cache line apart, as observer's comment says: the
// publish stage's counts, the fields every stage reads, the cold counters,
// the Node's fields on either side, and each partition's marks.
func TestObserverWritersOnSeparateLines(t *testing.T) {
	var o observer
	var m matchMarks
	end := func(off, size uintptr) uintptr { return off + size }
	gaps := []struct {
		name     string
		from, to uintptr
	}{
		{"the Node's field before → counting", 0, unsafe.Offsetof(o.counting)},
		{"marks → the publish stage's counts", end(unsafe.Offsetof(o.marks), unsafe.Sizeof(o.marks)), unsafe.Offsetof(o.pub)},
		{"the publish stage's counts → snapshots", end(unsafe.Offsetof(o.pub), unsafe.Sizeof(o.pub)), unsafe.Offsetof(o.snapshots)},
		{"promotions → the Node's field after", end(unsafe.Offsetof(o.promotions), unsafe.Sizeof(o.promotions)), unsafe.Sizeof(o)},
		{"a partition's marks → the next partition's", end(unsafe.Offsetof(m.mark), unsafe.Sizeof(m.mark)), unsafe.Sizeof(m)},
	}
	for _, g := range gaps {
		if g.to-g.from < cacheLine {
			t.Errorf("%s: %d bytes apart, want at least %d", g.name, g.to-g.from, cacheLine)
		}
	}
}

// TestMatchMarksTouchOwnSymbolsOnce: a partition's batch lists each of its
// own symbols once, however often the batch touches it, none of another
// partition's, and every one of its own at an end of day; its end of
// batch publishes their tops and starts the next batch empty.
func TestMatchMarksTouchOwnSymbolsOnce(t *testing.T) {
	cfg := config.Default()
	cfg.Match.Partitions = 2
	n := &Node{cfg: cfg}
	n.initObserver()
	if !n.obs.counting || len(cfg.Symbols) < 4 {
		t.Fatalf("default config: counting %v, %d symbols; want counting and at least 4", n.obs.counting, len(cfg.Symbols))
	}
	p := &partition{index: 0, engine: matcher.New(EngineConfig(cfg))}
	m := n.obs.marksOf(0)
	var own []uint32
	for sym := uint32(1); sym <= uint32(len(cfg.Symbols)); sym++ {
		if matcher.PartitionOf(sym, 2) == 0 {
			own = append(own, sym)
		}
	}
	for _, sym := range []uint32{own[0], 1, 2, own[0], 3, own[1], 0, 999} {
		m.touch(&matcher.Command{Kind: matcher.KindNew, Symbol: sym})
	}
	want := []uint32{own[0]}
	for _, sym := range []uint32{1, 2, 3, own[1]} {
		if matcher.PartitionOf(sym, 2) == 0 && !slices.Contains(want, sym) {
			want = append(want, sym)
		}
	}
	if got := m.touched[:m.n]; !slices.Equal(got, want) {
		t.Fatalf("touched %v, want %v", got, want)
	}
	n.endMatchBatch(p)
	for _, sym := range want {
		if _, ok := n.obs.tops[sym-1].load(); !ok {
			t.Errorf("symbol %d: no top published at the end of the batch", sym)
		}
	}
	m.touch(&matcher.Command{Kind: matcher.KindEndOfDay})
	if got := m.touched[:m.n]; !slices.Equal(got, own) {
		t.Fatalf("after an end of day, touched %v, want every symbol of partition 0: %v", got, own)
	}
	n.endMatchBatch(p)
	if m.n != 0 {
		t.Fatalf("%d symbols still touched after the end of the batch", m.n)
	}
}

// TestRejectsCountedUnderTheirOwnReason: every reason, the risk stage's
// (numbered from 32) included, is counted under its own name, never
// folded onto another's slot.
func TestRejectsCountedUnderTheirOwnReason(t *testing.T) {
	n := &Node{cfg: config.Default()}
	n.initObserver()
	b := &n.obs.pub.batch
	for r := range matcher.NumReasons {
		if r.String() == fmt.Sprintf("reason(%d)", r) {
			continue // not a reason
		}
		evs := make([]matcher.Event, int(r)+1)
		for i := range evs {
			evs[i] = matcher.Event{Type: matcher.EvRejected, Reason: r}
		}
		b.count(evs)
	}
	n.endPublishBatch()
	var by [reasonSlots]uint64
	for r := range by {
		by[r] = n.obs.pub.rejects[r].Load()
	}
	got := map[string]uint64{}
	for _, c := range reasonCounts(by[:]) {
		got[c.Name] = c.N
	}
	for _, r := range []matcher.Reason{matcher.ReasonUnknownOrder, matcher.ReasonRiskCash, matcher.ReasonRiskInventory, matcher.ReasonRiskBlocked} {
		if want := uint64(r) + 1; got[r.String()] != want {
			t.Errorf("rejects %s: %d, want %d (all: %v)", r, got[r.String()], want, got)
		}
	}
}

// TestEveryKindAndReasonCountedInOneBatch: a batch that sees every kind
// and every reason adds each to its own total (the kinds' and the
// reasons' masks are apart: neither takes the other's bits), and leaves
// the next batch empty.
func TestEveryKindAndReasonCountedInOneBatch(t *testing.T) {
	n := &Node{cfg: config.Default()}
	n.initObserver()
	b := &n.obs.pub.batch
	for range 2 { // the second batch finds the first's counts zeroed
		for k := range matcher.NumKinds {
			for range int(k) + 1 {
				b.command(k)
			}
		}
		for r := range matcher.NumReasons {
			evs := make([]matcher.Event, int(r)+1)
			for i := range evs {
				evs[i] = matcher.Event{Type: matcher.EvCancelRejected, Reason: r}
			}
			b.count(evs)
		}
		n.endPublishBatch()
		if b.kindSeen != 0 || b.reasonSeen != 0 || b.kinds != [kindSlots]uint64{} || b.rejects != [reasonSlots]uint64{} {
			t.Fatalf("after the end of the batch: kinds seen %#x, reasons seen %#x, kinds %v, rejects %v; want all zero",
				b.kindSeen, b.reasonSeen, b.kinds, b.rejects)
		}
	}
	for k := range matcher.NumKinds {
		if got, want := n.obs.pub.kinds[k].Load(), 2*(uint64(k)+1); got != want {
			t.Errorf("kind %s: counted %d, want %d", k, got, want)
		}
	}
	for r := range matcher.NumReasons {
		if got, want := n.obs.pub.rejects[r].Load(), 2*(uint64(r)+1); got != want {
			t.Errorf("reason %s: counted %d, want %d", r, got, want)
		}
	}
}
