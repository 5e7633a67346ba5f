package ringbuffer

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	disruptor "github.com/smarty/go-disruptor"
)

// The figures in the package doc come from these benchmarks. Each compares the
// ring with a Go-channel pipeline of the same shape, in the same run, and some
// with go-disruptor's own listeners and default wait strategy. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x -count 5 ./ringbuffer      (latency, idle CPU)
//	go test -run '^$' -bench Throughput -benchtime 2000000x -count 5 ./ringbuffer

// benchSlot is one cache line, like a small command.
type benchSlot struct {
	Seq       int64
	StampNs   int64 // when the writer called Claim (ns on the monotonic clock)
	PlannedNs int64 // when the open-loop schedule meant to send it
	Value     int64
	_         [4]int64
}

var clockBase = time.Now()

func nowNs() int64 { return int64(time.Since(clockBase)) }

// pipeline is one of the pipelines under comparison: stages of one handler
// each; every stage reads each slot, the last passes it to last.
type pipeline interface {
	send(v benchSlot) // safe for the number of writers it was built for
	close()           // drains and stops
}

var sinks [8]atomic.Int64 // keeps the stages' reads from being optimised away

type ringPipe struct{ r *Ring[benchSlot] }

func newRingPipe(tb testing.TB, stages, writers int, wait WaitStrategy, last func(*benchSlot)) pipeline {
	p := &ringPipe{}
	var st []Stage
	for i := 0; i < stages; i++ {
		if i == stages-1 {
			st = append(st, Stage{Name: "last", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {
				for seq := lo; seq <= hi; seq++ {
					last(p.r.Slot(seq))
				}
			})}})
			break
		}
		st = append(st, Stage{Name: fmt.Sprint("s", i), Handlers: []Handler{HandlerFunc(func(lo, hi int64) {
			var acc int64
			for seq := lo; seq <= hi; seq++ {
				acc += p.r.Slot(seq).Value
			}
			sinks[i].Add(acc)
		})}})
	}
	r, err := New[benchSlot](Options{Writers: writers, Wait: wait}, st...)
	if err != nil {
		tb.Fatal(err)
	}
	p.r = r
	r.Start()
	return p
}

func (p *ringPipe) send(v benchSlot) {
	seq, err := p.r.Claim()
	if err != nil {
		panic(err)
	}
	s := p.r.Slot(seq)
	*s = v
	s.Seq = seq
	p.r.Publish(seq)
}

func (p *ringPipe) close() {
	if err := p.r.Close(); err != nil {
		panic(err)
	}
}

type chanPipe struct {
	in   chan benchSlot
	done sync.WaitGroup
}

func newChanPipe(stages int, last func(*benchSlot)) pipeline {
	p := &chanPipe{}
	chans := make([]chan benchSlot, stages)
	for i := range chans {
		chans[i] = make(chan benchSlot, DefaultCapacity)
	}
	p.in = chans[0]
	p.done.Add(stages)
	for i := 0; i < stages; i++ {
		go func() {
			defer p.done.Done()
			var acc int64
			var cur benchSlot // escapes once, not per event
			for v := range chans[i] {
				if i == stages-1 {
					cur = v
					last(&cur)
					continue
				}
				acc += v.Value
				chans[i+1] <- v
			}
			if i < stages-1 {
				sinks[i].Add(acc)
				close(chans[i+1])
			}
		}()
	}
	return p
}

func (p *chanPipe) send(v benchSlot) { p.in <- v }
func (p *chanPipe) close()           { close(p.in); p.done.Wait() }

// disruptorPipe is go-disruptor used directly: its listeners, its default
// wait strategy, one handler group per stage.
type disruptorPipe struct {
	d     disruptor.Disruptor
	slots []benchSlot
	done  chan struct{}
}

func newDisruptorPipe(tb testing.TB, stages, writers int, last func(*benchSlot)) pipeline {
	p := &disruptorPipe{slots: make([]benchSlot, DefaultCapacity), done: make(chan struct{})}
	mask := int64(DefaultCapacity - 1)
	opts := list(disruptor.Options.BufferCapacity(DefaultCapacity), disruptor.Options.WriterCount(uint8(writers)))
	for i := 0; i < stages; i++ {
		var h disruptor.Handler
		if i == stages-1 {
			h = disruptorHandler(func(lo, hi int64) {
				for seq := lo; seq <= hi; seq++ {
					last(&p.slots[seq&mask])
				}
			})
		} else {
			h = disruptorHandler(func(lo, hi int64) {
				var acc int64
				for seq := lo; seq <= hi; seq++ {
					acc += p.slots[seq&mask].Value
				}
				sinks[i].Add(acc)
			})
		}
		opts = append(opts, disruptor.Options.NewHandlerGroup(h))
	}
	d, err := disruptor.New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	p.d = d
	go func() { defer close(p.done); d.Listen() }()
	return p
}

// list collects go-disruptor's options, whose type it does not export.
func list[O any](o ...O) []O { return o }

type disruptorHandler func(lo, hi int64)

func (h disruptorHandler) Handle(lo, hi int64) { h(lo, hi) }

func (p *disruptorPipe) send(v benchSlot) {
	seq := p.d.Reserve(1)
	s := &p.slots[seq&int64(DefaultCapacity-1)]
	*s = v
	s.Seq = seq
	p.d.Commit(seq, seq)
}

func (p *disruptorPipe) close() { _ = p.d.Close(); <-p.done }

type pipeKind struct {
	name string
	make func(tb testing.TB, stages, writers int, last func(*benchSlot)) pipeline
}

var (
	ringHybrid = pipeKind{"ring-hybrid", func(tb testing.TB, s, w int, last func(*benchSlot)) pipeline {
		return newRingPipe(tb, s, w, WaitHybrid, last)
	}}
	ringBusySpin = pipeKind{"ring-busyspin", func(tb testing.TB, s, w int, last func(*benchSlot)) pipeline {
		return newRingPipe(tb, s, w, WaitBusySpin, last)
	}}
	channels = pipeKind{"chan", func(tb testing.TB, s, w int, last func(*benchSlot)) pipeline {
		return newChanPipe(s, last)
	}}
	disruptorDefault = pipeKind{"disruptor-default", func(tb testing.TB, s, w int, last func(*benchSlot)) pipeline {
		return newDisruptorPipe(tb, s, w, last)
	}}
)

// BenchmarkThroughput: one writer through four stages, as fast as it can.
// ns/op is per event, from the first Claim until the last stage has drained.
func BenchmarkThroughput(b *testing.B) {
	for _, k := range []pipeKind{ringHybrid, ringBusySpin, disruptorDefault, channels} {
		b.Run(k.name, func(b *testing.B) {
			var got int64
			p := k.make(b, 4, 1, func(s *benchSlot) { got += s.Value })
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.send(benchSlot{Value: 1})
			}
			p.close()
			b.StopTimer()
			if got != int64(b.N) {
				b.Fatalf("last stage saw %d of %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mevents/s")
		})
	}
}

// BenchmarkThroughput8Writers: eight writers at once through four stages, as
// fast as they can. One event in 64 carries a timestamp, so that measuring
// does not slow the last stage down; p99 is the writer-to-last-stage latency
// of those, which in this flood is mostly time spent queued in a full ring
// (or channels).
func BenchmarkThroughput8Writers(b *testing.B) {
	for _, k := range []pipeKind{ringHybrid, channels} {
		b.Run(k.name, func(b *testing.B) {
			const writers, sampleEvery = 8, 64
			h := newHist()
			var got int64
			p := k.make(b, 4, writers, func(s *benchSlot) {
				got++
				if s.StampNs != 0 {
					_ = h.RecordValue(nowNs() - s.StampNs)
				}
			})
			per := b.N/writers + 1
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						v := benchSlot{Value: 1}
						if i%sampleEvery == 0 {
							v.StampNs = nowNs()
						}
						p.send(v)
					}
				}()
			}
			wg.Wait()
			p.close()
			b.StopTimer()
			if got != int64(per*writers) {
				b.Fatalf("last stage saw %d of %d", got, per*writers)
			}
			b.ReportMetric(float64(got)/b.Elapsed().Seconds()/1e6, "Mevents/s")
			b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, "p99-µs")
		})
	}
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(10*time.Second), 3) }

func reportLatency(b *testing.B, h *hdrhistogram.Histogram, prefix string) {
	b.ReportMetric(float64(h.ValueAtQuantile(50))/1e3, prefix+"p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, prefix+"p99-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9))/1e3, prefix+"p99.9-µs")
	b.ReportMetric(float64(h.Max())/1e3, prefix+"max-µs")
}

// BenchmarkLatencySparse: one writer sends about 1,000 events a second
// through four stages; latency from the writer's Claim to the last stage.
// The writer sleeps between events, like a gateway goroutine waiting on its
// socket, so every stage has gone idle (parked, for the hybrid wait) when the
// next event comes. Go rounds sub-millisecond sleeps up to a millisecond when
// the process is idle, so the rate is a little under 1,000/s; events/s says.
func BenchmarkLatencySparse(b *testing.B) {
	const events = 3000
	for _, k := range []pipeKind{ringHybrid, disruptorDefault, channels} {
		b.Run(k.name, func(b *testing.B) {
			h := newHist()
			p := k.make(b, 4, 1, func(s *benchSlot) { _ = h.RecordValue(nowNs() - s.StampNs) })
			start := time.Now()
			for i := 0; i < events*b.N; i++ {
				time.Sleep(900 * time.Microsecond)
				p.send(benchSlot{Value: 1, StampNs: nowNs()})
			}
			p.close()
			b.ReportMetric(float64(events*b.N)/time.Since(start).Seconds(), "events/s")
			reportLatency(b, h, "")
		})
	}
}

// BenchmarkLatencyBusy: one writer sends 100,000 events a second on an
// open-loop schedule, one planned every 10 µs. Like a gateway goroutine woken
// by its socket, it sleeps, wakes (about every millisecond, Go's timer
// granularity on an idle process) and sends every event that has come due,
// so events arrive in bursts of about a hundred. Latency from each event's
// Claim to the last stage; as plan-*, from its planned time, which adds the
// writer's own lateness and would show a writer held up in Claim.
func BenchmarkLatencyBusy(b *testing.B) {
	const rate, events = 100_000, 300_000
	for _, k := range []pipeKind{ringHybrid, channels} {
		b.Run(k.name, func(b *testing.B) {
			fromPlan, fromClaim := newHist(), newHist()
			p := k.make(b, 4, 1, func(s *benchSlot) {
				now := nowNs()
				_ = fromPlan.RecordValue(now - s.PlannedNs)
				_ = fromClaim.RecordValue(now - s.StampNs)
			})
			interval := int64(time.Second / rate)
			n := events * b.N
			start := nowNs()
			for i := 0; i < n; {
				for now := nowNs(); i < n && start+int64(i)*interval <= now; i++ {
					p.send(benchSlot{Value: 1, PlannedNs: start + int64(i)*interval, StampNs: nowNs()})
				}
				time.Sleep(100 * time.Microsecond)
			}
			p.close()
			b.ReportMetric(float64(n)/(float64(nowNs()-start)/1e9), "events/s")
			reportLatency(b, fromClaim, "")
			reportLatency(b, fromPlan, "plan-")
		})
	}
}

// BenchmarkLatency8Writers: eight writers, each waking about once a
// millisecond (a session goroutine reading its socket) and sending the
// events its 12,500/s share has made due: 100,000 events/s in bursts.
// Latency from each Claim to the last stage.
func BenchmarkLatency8Writers(b *testing.B) {
	const writers, perWriterRate = 8, 12_500
	const duration = 2 * time.Second
	for _, k := range []pipeKind{ringHybrid, channels} {
		b.Run(k.name, func(b *testing.B) {
			h := newHist()
			var got int64
			p := k.make(b, 4, writers, func(s *benchSlot) {
				got++
				_ = h.RecordValue(nowNs() - s.StampNs)
			})
			start := time.Now()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sent := 0
					for {
						elapsed := time.Since(start)
						if elapsed > duration*time.Duration(b.N) {
							return
						}
						for due := int(elapsed.Seconds() * perWriterRate); sent < due; sent++ {
							p.send(benchSlot{Value: 1, StampNs: nowNs()})
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			wg.Wait()
			p.close()
			b.ReportMetric(float64(got)/time.Since(start).Seconds(), "events/s")
			reportLatency(b, h, "")
		})
	}
}

// BenchmarkIdleCPU: a four-stage pipeline that has handled some events and
// then gets none; CPU time of the whole process over the idle window, from
// /proc/self/stat (utime+stime, in clock ticks of 10 ms), as a percentage of
// one core.
func BenchmarkIdleCPU(b *testing.B) {
	const window = 3 * time.Second
	for _, k := range []pipeKind{ringHybrid, ringBusySpin, disruptorDefault, channels} {
		b.Run(k.name, func(b *testing.B) {
			p := k.make(b, 4, 1, func(*benchSlot) {})
			for i := 0; i < 1000; i++ {
				p.send(benchSlot{Value: 1})
			}
			time.Sleep(100 * time.Millisecond)
			before, err := cpuTicks()
			if err != nil {
				b.Skip(err)
			}
			t0 := time.Now()
			time.Sleep(window * time.Duration(b.N))
			after, _ := cpuTicks()
			elapsed := time.Since(t0)
			p.close()
			b.ReportMetric(float64(after-before)/clockTicksPerSecond/elapsed.Seconds()*100, "cpu%")
		})
	}
}

// clockTicksPerSecond is USER_HZ, 100 on every Linux the exchange runs on.
const clockTicksPerSecond = 100

// cpuTicks returns utime+stime of this process from /proc/self/stat.
func cpuTicks() (int64, error) {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	rest := raw[bytes.LastIndexByte(raw, ')')+2:]
	fields := bytes.Fields(rest)
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/self/stat: %d fields after the name", len(fields))
	}
	utime, err1 := strconv.ParseInt(string(fields[11]), 10, 64) // field 14
	stime, err2 := strconv.ParseInt(string(fields[12]), 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/self/stat: utime %q stime %q", fields[11], fields[12])
	}
	return utime + stime, nil
}
