package matcher

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The benchmarks feed the engine pre-built commands in chunks: building a
// chunk (and any set-up it needs, like refilling a book) happens with the
// timer stopped, so ns/op is the engine alone. One op is one command.

const benchChunk = 1 << 16

// drive applies b.N commands to e, asking refill for each chunk of them.
// refill may apply set-up commands to e itself; the timer is stopped then.
// Besides ns/op (wall clock) it reports cpu-ns/op, the CPU time of the
// benchmark's thread: on a shared machine, time the thread spent waiting for
// a core counts in the first and not in the second.
func drive(b *testing.B, e *Engine, refill func(cmds []Command) []Command) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmds := make([]Command, 0, benchChunk)
	out := make([]Event, 0, 1024)
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		cmds = refill(cmds[:0])
		cmds = cmds[:min(len(cmds), b.N-done)]
		b.StartTimer()
		c0 := threadCPU()
		for i := range cmds {
			out = e.Apply(&cmds[i], out[:0])
		}
		cpu += threadCPU() - c0
		done += len(cmds)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// threadCPU returns the CPU time the calling OS thread has used, from the
// scheduler's nanosecond accounting (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

func benchClOrdID(seq int64) (c ClOrdID) {
	c[0] = 'x'
	binary.LittleEndian.PutUint64(c[1:], uint64(seq))
	return c
}

// seqGen hands out sequence numbers and applies set-up commands.
type seqGen struct {
	seq int64
	out []Event
}

func (g *seqGen) cmd(c Command) Command {
	g.seq++
	c.Seq, c.TimeNs = g.seq, 1_700_000_000_000_000_000+g.seq
	if c.Kind == KindNew || c.Kind == KindReplace {
		c.ClOrdID = benchClOrdID(g.seq)
	}
	return c
}

func (g *seqGen) apply(e *Engine, c Command) []Event {
	c = g.cmd(c)
	g.out = e.Apply(&c, g.out[:0])
	return g.out
}

func benchConfig() Config { return Config{Symbols: []SymbolSpec{{ID: 1}}} }

// bookOps is a working book for the add and cancel benchmarks: 1000
// resting orders over ~500 levels a side that stay, plus a batch of 4096
// orders the benchmark adds or cancels over the same levels.
type bookOps struct {
	e     *Engine
	g     seqGen
	rng   *rand.Rand
	batch []Command // the batch's new orders
}

const opsBatch = 4096

func newBookOps() *bookOps {
	k := &bookOps{e: New(benchConfig()), rng: rand.New(rand.NewPCG(1, 2))}
	for range 1000 {
		k.g.apply(k.e, k.order())
	}
	return k
}

func (k *bookOps) order() Command {
	c := Command{Kind: KindNew, Symbol: 1, Account: uint32(k.rng.IntN(64)), Side: Buy, Type: Limit,
		Qty: 1 + k.rng.Int64N(100), Price: 99_500 + k.rng.Int64N(500)}
	if k.rng.IntN(2) == 0 {
		c.Side, c.Price = Sell, c.Price+501
	}
	return c
}

// cancels returns cancels of the batch in random order, by ClOrdID and by
// order id alternately.
func (k *bookOps) cancels(cmds []Command) []Command {
	k.rng.Shuffle(len(k.batch), func(i, j int) { k.batch[i], k.batch[j] = k.batch[j], k.batch[i] })
	for i := range k.batch {
		o := &k.batch[i]
		c := Command{Kind: KindCancel, Symbol: 1, Account: o.Account}
		if i%2 == 0 {
			c.OrigClOrdID = o.ClOrdID
		} else {
			c.OrderID = o.Seq
		}
		cmds = append(cmds, k.g.cmd(c))
	}
	return cmds
}

func (k *bookOps) newBatch() {
	k.batch = k.batch[:0]
	for range opsBatch {
		k.batch = append(k.batch, k.g.cmd(k.order()))
	}
}

// BenchmarkAddNoMatch: limit orders that rest without trading, into a book
// of 1000 to 5000 orders over 1000 levels (the batch is cancelled untimed).
func BenchmarkAddNoMatch(b *testing.B) {
	k := newBookOps()
	var undo []Command
	refill := func(cmds []Command) []Command {
		for i := range undo {
			k.g.out = k.e.Apply(&undo[i], k.g.out[:0])
		}
		undo = k.cancels(undo[:0])
		k.newBatch()
		return append(cmds, k.batch...)
	}
	first := true
	refill0 := func(cmds []Command) []Command {
		if first { // nothing to undo yet: the batch has not been applied
			first = false
			k.newBatch()
			return append(cmds, k.batch...)
		}
		return refill(cmds)
	}
	warm(k.e, refill0)
	drive(b, k.e, refill0)
}

// BenchmarkCancel: cancels, by ClOrdID and by order id alternately, in
// random order, of a batch of 4096 orders added (untimed) to a book of 1000.
func BenchmarkCancel(b *testing.B) {
	k := newBookOps()
	refill := func(cmds []Command) []Command {
		k.newBatch()
		for i := range k.batch {
			k.g.out = k.e.Apply(&k.batch[i], k.g.out[:0])
		}
		return k.cancels(cmds)
	}
	warm(k.e, refill)
	drive(b, k.e, refill)
}

// warm runs a few chunks untimed so that the engine's tables reach their
// working size (steady state: no allocation).
func warm(e *Engine, refill func([]Command) []Command) {
	var out []Event
	for range 8 {
		cmds := refill(nil)
		for i := range cmds {
			out = e.Apply(&cmds[i], out[:0])
		}
	}
}

// BenchmarkAddSweep5Levels: a buy that sweeps five ask levels of two
// orders each (10 fills, 21 events). The asks are refilled untimed, below a
// book of 1000 bids.
func BenchmarkAddSweep5Levels(b *testing.B) {
	e, g := New(benchConfig()), &seqGen{}
	for i := range 1000 {
		g.apply(e, Command{Kind: KindNew, Symbol: 1, Account: uint32(i % 50), Side: Buy, Type: Limit, Qty: 10, Price: 90_000 - int64(i%300)})
	}
	const sweeps = 512
	base := int64(100_000)
	refill := func(cmds []Command) []Command {
		for lv := int64(5*sweeps - 1); lv >= 0; lv-- { // worst price first: each level lands at the top
			for k := range 2 {
				g.apply(e, Command{Kind: KindNew, Symbol: 1, Account: uint32(100 + k), Side: Sell, Type: Limit, Qty: 5, Price: base + lv})
			}
		}
		for s := range int64(sweeps) {
			cmds = append(cmds, g.cmd(Command{Kind: KindNew, Symbol: 1, Account: 7, Side: Buy, Type: Limit, Qty: 50, Price: base + 5*s + 4}))
		}
		return cmds
	}
	warm(e, refill)
	drive(b, e, refill)
}

// BenchmarkReplace: cancel/replaces of 1000 resting orders over ~400
// levels; half reduce quantity (keeping priority), half move the price a
// few ticks (losing it). Nothing crosses.
func BenchmarkReplace(b *testing.B) {
	e, g := New(benchConfig()), &seqGen{}
	rng := rand.New(rand.NewPCG(5, 6))
	type ref struct {
		acct       uint32
		side       Side
		price, qty int64
		cl         ClOrdID
	}
	live := make([]ref, 1000)
	for i := range live {
		r := ref{acct: uint32(i % 64), side: Buy, price: 99_800 + rng.Int64N(200), qty: 100}
		if i%2 == 1 {
			r.side, r.price = Sell, r.price+201
		}
		g.apply(e, Command{Kind: KindNew, Symbol: 1, Account: r.acct, Side: r.side, Type: Limit, Qty: r.qty, Price: r.price})
		r.cl = benchClOrdID(g.seq)
		live[i] = r
	}
	refill := func(cmds []Command) []Command {
		for range benchChunk {
			r := &live[rng.IntN(len(live))]
			if rng.IntN(2) == 0 && r.qty > 1 {
				r.qty--
			} else {
				r.qty = 100
				r.price += rng.Int64N(7) - 3
				if r.side == Buy {
					r.price = min(max(r.price, 99_600), 100_000)
				} else {
					r.price = max(min(r.price, 100_400), 100_001)
				}
			}
			c := g.cmd(Command{Kind: KindReplace, Symbol: 1, Account: r.acct, OrigClOrdID: r.cl, Qty: r.qty, Price: r.price})
			r.cl = c.ClOrdID
			cmds = append(cmds, c)
		}
		return cmds
	}
	warm(e, refill)
	drive(b, e, refill)
}

// mixGen writes an exchange-core-like stream: mostly replaces and cancels,
// some new passive orders, some crossing (IOC, limit, market), keeping
// about 1000 orders resting over hundreds of price levels. It learns the
// book's state from a shadow engine fed the same commands.
type mixGen struct {
	rng    *rand.Rand
	shadow *Engine
	g      seqGen
	live   []mixOrder
	pos    map[int64]int // order id -> index in live
}

type mixOrder struct {
	id     int64
	acct   uint32
	side   Side
	price  int64
	qty    int64
	leaves int64
	cl     ClOrdID
}

const mixResting = 1000

// newMixGen builds the book up to mixResting orders, passing each command
// of that warm-up to sink (when not nil).
func newMixGen(cfg Config, sink func(*Command)) *mixGen {
	m := &mixGen{rng: rand.New(rand.NewPCG(7, 8)), shadow: New(cfg), pos: map[int64]int{}}
	for len(m.live) < mixResting {
		c := m.next()
		if sink != nil {
			sink(&c)
		}
	}
	return m
}

// newMixEngine returns a generator and an engine in the same state, warmed up.
func newMixEngine(cfg Config) (*mixGen, *Engine) {
	m := newMixGen(cfg, nil)
	e := New(cfg)
	if err := e.Restore(m.shadow.Snapshot(nil)); err != nil {
		panic(err)
	}
	warm(e, m.refill)
	return m, e
}

// next returns the next command, already applied to the shadow engine.
func (m *mixGen) next() Command {
	top := m.shadow.Top(1)
	bid, ask := top.BidPx, top.AskPx
	switch {
	case bid == 0 && ask == 0:
		bid, ask = 999_999, 1_000_001
	case bid == 0:
		bid = ask - 2
	case ask == 0:
		ask = bid + 2
	}
	c := Command{Kind: KindNew, Symbol: 1, Account: uint32(m.rng.IntN(200)), Type: Limit, TIF: Day, Qty: 1 + m.rng.Int64N(20)}
	newW, cancelW := 20, 22
	if len(m.live) < mixResting {
		newW, cancelW = 26, 16
	}
	r := m.rng.IntN(100)
	switch {
	case r < newW || len(m.live) == 0: // passive new order, denser near the top
		d := int64(300 * m.rng.Float64() * m.rng.Float64())
		c.Side, c.Price = Buy, ask-1-d
		if m.rng.IntN(2) == 0 {
			c.Side, c.Price = Sell, bid+1+d
		}
	case r < newW+cancelW:
		o := &m.live[m.rng.IntN(len(m.live))]
		c = Command{Kind: KindCancel, Symbol: 1, Account: o.acct, OrigClOrdID: o.cl}
	case r < 90: // replace: reduce, or move a few ticks
		o := &m.live[m.rng.IntN(len(m.live))]
		c = Command{Kind: KindReplace, Symbol: 1, Account: o.acct, OrigClOrdID: o.cl, Price: o.price, Qty: o.qty}
		if m.rng.IntN(3) == 0 && o.leaves > 1 {
			c.Qty--
		} else {
			c.Price += m.rng.Int64N(9) - 4
			if o.side == Buy {
				c.Price = min(c.Price, ask-1)
			} else {
				c.Price = max(c.Price, bid+1)
			}
		}
	case r < 98: // crossing limit, IOC or Day (the rest rests)
		c.Qty = 5 + m.rng.Int64N(40)
		c.Side, c.Price = Buy, ask+m.rng.Int64N(3)
		if m.rng.IntN(2) == 0 {
			c.Side, c.Price = Sell, bid-m.rng.Int64N(3)
		}
		if m.rng.IntN(2) == 0 {
			c.TIF = IOC
		}
	default:
		c.Type, c.Price, c.Side = Market, 0, Side(1+m.rng.IntN(2))
	}
	c = m.g.cmd(c)
	m.g.out = m.shadow.Apply(&c, m.g.out[:0])
	m.observe(m.g.out)
	return c
}

func (m *mixGen) observe(evs []Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.OrderID == 0 || ev.Type == EvRejected || ev.Type == EvCancelRejected {
			continue
		}
		k, ok := m.pos[ev.OrderID]
		alive := ev.LeavesQty > 0 && ev.Type != EvCancelled && ev.Type != EvExpired && ev.OrdType == Limit &&
			ev.TIF != IOC && ev.TIF != FOK
		switch {
		case alive && !ok:
			m.pos[ev.OrderID] = len(m.live)
			m.live = append(m.live, mixOrder{})
			k = len(m.live) - 1
			fallthrough
		case alive:
			m.live[k] = mixOrder{id: ev.OrderID, acct: ev.Account, side: ev.Side, price: ev.Price,
				qty: ev.OrderQty, leaves: ev.LeavesQty, cl: ev.ClOrdID}
		case ok:
			last := len(m.live) - 1
			m.live[k] = m.live[last]
			m.pos[m.live[k].id] = k
			m.live = m.live[:last]
			delete(m.pos, ev.OrderID)
		}
	}
}

func (m *mixGen) refill(cmds []Command) []Command {
	for range benchChunk {
		cmds = append(cmds, m.next())
	}
	return cmds
}

// BenchmarkMix is the headline: the realistic mix on the default config.
func BenchmarkMix(b *testing.B) {
	m, e := newMixEngine(benchConfig())
	drive(b, e, m.refill)
	b.ReportMetric(float64(e.RestingOrders()), "resting")
	b.ReportMetric(float64(e.books[0].bids.levels()+e.books[0].asks.levels()), "levels")
}

// BenchmarkMixVsReference runs the same mix through the engine and through
// the reference model, with a 1024-item ClOrdID window (the model scans it
// linearly), for the speed ratio.
func BenchmarkMixVsReference(b *testing.B) {
	cfg := benchConfig()
	cfg.ClOrdIDWindow = 1024
	b.Run("engine", func(b *testing.B) {
		m, e := newMixEngine(cfg)
		drive(b, e, m.refill)
	})
	b.Run("reference", func(b *testing.B) {
		ref := newRefModel(cfg)
		m := newMixGen(cfg, func(c *Command) { ref.apply(c) })
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmds := make([]Command, 0, benchChunk)
		var cpu time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; {
			b.StopTimer()
			cmds = m.refill(cmds[:0])
			cmds = cmds[:min(len(cmds), b.N-done)]
			b.StartTimer()
			c0 := threadCPU()
			for i := range cmds {
				ref.apply(&cmds[i])
			}
			cpu += threadCPU() - c0
			done += len(cmds)
		}
		b.StopTimer()
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
}

// BenchmarkMixLatency times every command of the mix and reports
// percentiles from an exact 1 ns-bucket histogram (to 256 µs; the max is
// exact). The figures include one clock read (about clock-ns, reported).
func BenchmarkMixLatency(b *testing.B) {
	m, e := newMixEngine(benchConfig())
	const buckets = 1 << 18
	hist := make([]int64, buckets)
	var maxNs int64
	cmds := make([]Command, 0, benchChunk)
	out := make([]Event, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		cmds = m.refill(cmds[:0])
		cmds = cmds[:min(len(cmds), b.N-done)]
		b.StartTimer()
		t0 := time.Now()
		for i := range cmds {
			out = e.Apply(&cmds[i], out[:0])
			t1 := time.Now()
			ns := int64(t1.Sub(t0))
			t0 = t1
			maxNs = max(maxNs, ns)
			hist[min(ns, buckets-1)]++
		}
		done += len(cmds)
	}
	b.StopTimer()
	for _, q := range []struct {
		name string
		frac float64
	}{{"p50-ns", 0.50}, {"p99-ns", 0.99}, {"p99.9-ns", 0.999}} {
		b.ReportMetric(float64(quantile(hist, q.frac)), q.name)
	}
	b.ReportMetric(float64(maxNs), "max-ns")
	b.ReportMetric(clockNs(), "clock-ns")
	// The same latencies in an HdrHistogram (3 significant digits), as
	// operators read them; filled after the loop so recording costs nothing
	// inside it.
	h := hdrhistogram.New(1, 60_000_000_000, 3)
	for ns, n := range hist {
		if n > 0 {
			h.RecordValues(max(int64(ns), 1), n)
		}
	}
	if maxNs >= buckets {
		h.RecordValue(maxNs)
	}
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "hdr-p99-ns")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "hdr-p99.9-ns")
}

func quantile(hist []int64, frac float64) int {
	var total int64
	for _, n := range hist {
		total += n
	}
	want := int64(frac * float64(total))
	var seen int64
	for v, n := range hist {
		seen += n
		if seen > want {
			return v
		}
	}
	return len(hist) - 1
}

// clockNs is the median cost of one time.Now, the floor under every
// latency figure above.
func clockNs() float64 {
	var d [101]int64
	for i := range d {
		t0 := time.Now()
		for range 1000 {
			_ = time.Now()
		}
		d[i] = int64(time.Since(t0))
	}
	slices.Sort(d[:])
	return float64(d[50]) / 1000
}

// TestApplyAllocatesNothingInSteadyState holds the hot-path promise: once
// the tables have grown to the working set, Apply allocates nothing.
func TestApplyAllocatesNothingInSteadyState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a warm book")
	}
	m, e := newMixEngine(benchConfig())
	cmds := m.refill(nil)
	out := make([]Event, 0, 1024)
	i := 0
	allocs := testing.AllocsPerRun(len(cmds)-1, func() {
		out = e.Apply(&cmds[i], out[:0])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Apply allocated %.3f times per command in steady state", allocs)
	}
}
