package ringbuffer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testSlot carries what the checks need: who wrote it, and a mark from every
// handler of every stage that has passed it.
type testSlot struct {
	Seq    int64
	Writer int32
	N      int64       // the writer's own count
	Marks  [4][4]int32 // Marks[stage][handler] = 1 once that handler passed the slot
	_      [8]byte
}

var strategies = []WaitStrategy{WaitHybrid, WaitBusySpin}

// hangLimit is how long a test waits before calling a stall a hang. It is not
// a performance bound: a correct ring finishes each step in microseconds.
const hangLimit = 60 * time.Second

// within runs f and fails the test, with every goroutine's stack, if f has
// not returned after hangLimit.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(hangLimit):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatalf("%s: still waiting after %v (a hang)", what, hangLimit)
	}
}

// checker is a pipeline of stages with the given handler counts whose every
// handler checks the ring's promises on every slot it sees.
type checker struct {
	t       *testing.T
	ring    *Ring[testSlot]
	shape   []int
	errs    chan error
	seen    []atomic.Int64 // per handler (flattened): last sequence seen
	lastLo  atomic.Int64   // for the last stage's first handler
	handled atomic.Int64   // slots the last stage's first handler handled
}

func newChecker(t *testing.T, opts Options, shape ...int) *checker {
	t.Helper()
	c := &checker{t: t, shape: shape, errs: make(chan error, 16)}
	total := 0
	for _, n := range shape {
		total += n
	}
	c.seen = make([]atomic.Int64, total)
	for i := range c.seen {
		c.seen[i].Store(-1)
	}
	var stages []Stage
	flat := 0
	for s, n := range shape {
		st := Stage{Name: fmt.Sprintf("s%d", s)}
		for h := 0; h < n; h++ {
			st.Handlers = append(st.Handlers, c.handler(s, h, flat))
			flat++
		}
		stages = append(stages, st)
	}
	r, err := New[testSlot](opts, stages...)
	if err != nil {
		t.Fatal(err)
	}
	c.ring = r
	return c
}

func (c *checker) report(format string, args ...any) {
	select {
	case c.errs <- fmt.Errorf(format, args...):
	default:
	}
}

func (c *checker) handler(s, h, flat int) Handler {
	last := s == len(c.shape)-1
	return HandlerFunc(func(lo, hi int64) {
		if prev := c.seen[flat].Load(); lo != prev+1 || hi < lo {
			c.report("stage %d handler %d: batch [%d, %d] after %d", s, h, lo, hi, prev)
		}
		for seq := lo; seq <= hi; seq++ {
			slot := c.ring.Slot(seq)
			if slot.Seq != seq {
				c.report("stage %d handler %d: slot %d holds sequence %d", s, h, seq, slot.Seq)
			}
			if s > 0 {
				for j := 0; j < c.shape[s-1]; j++ {
					if slot.Marks[s-1][j] != 1 {
						c.report("stage %d handler %d: slot %d not passed by stage %d handler %d", s, h, seq, s-1, j)
					}
				}
			}
			slot.Marks[s][h] = 1
		}
		c.seen[flat].Store(hi)
		if last && h == 0 {
			c.handled.Add(hi - lo + 1)
		}
	})
}

// write claims, fills and publishes one slot for writer w.
func (c *checker) write(w int32, n int64) error {
	seq, err := c.ring.Claim()
	if err != nil {
		return err
	}
	slot := c.ring.Slot(seq)
	*slot = testSlot{Seq: seq, Writer: w, N: n}
	c.ring.Publish(seq)
	return nil
}

func (c *checker) check() {
	c.t.Helper()
	select {
	case err := <-c.errs:
		c.t.Fatal(err)
	default:
	}
}

func count(n int) int {
	if raceEnabled || testing.Short() {
		return n / 10
	}
	return n
}

func TestOneWriterFourStagesInOrder(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			n := count(200_000)
			c := newChecker(t, Options{Capacity: 1024, Wait: w}, 1, 1, 1, 1)
			c.ring.Start()
			within(t, "write and close", func() {
				for i := 0; i < n; i++ {
					if err := c.write(0, int64(i)); err != nil {
						t.Errorf("claim %d: %v", i, err)
						return
					}
				}
				if err := c.ring.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c.check()
			if got := c.handled.Load(); got != int64(n) {
				t.Fatalf("last stage handled %d slots, want %d", got, n)
			}
		})
	}
}

func TestSeveralWritersGroupsSideBySide(t *testing.T) {
	for _, w := range strategies {
		for _, capacity := range []uint32{4, 64} {
			t.Run(fmt.Sprintf("%v/capacity_%d", w, capacity), func(t *testing.T) {
				severalWriters(t, w, capacity)
			})
		}
	}
}

func severalWriters(t *testing.T, w WaitStrategy, capacity uint32) {
	{
		{
			const writers = 8
			perWriter := count(20_000)
			if w == WaitBusySpin && capacity < 64 {
				// Fourteen spinning goroutines on a tiny ring crawl on a
				// machine with fewer cores than that; fewer slots suffice.
				perWriter /= 10
			}
			// Three stages: {2 handlers} -> 3 handlers -> 1 (the exchange's
			// own is {journal, replicate, match x P} -> publish).
			c := newChecker(t, Options{Capacity: capacity, Writers: writers, Wait: w}, 2, 3, 1)
			lastN := make([]int64, writers)
			for i := range lastN {
				lastN[i] = -1
			}
			// A fourth look at every slot, by the final stage: each writer's
			// slots arrive in the order it wrote them.
			c.ring.last.listeners[0].handler = wrap(c.ring.last.listeners[0].handler, func(seq int64) {
				s := c.ring.Slot(seq)
				if s.N != lastN[s.Writer]+1 {
					c.report("writer %d: slot %d carries its #%d after #%d", s.Writer, seq, s.N, lastN[s.Writer])
				}
				lastN[s.Writer] = s.N
			})
			c.ring.Start()
			within(t, "write and close", func() {
				var wg sync.WaitGroup
				for wr := int32(0); wr < writers; wr++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < perWriter; i++ {
							if err := c.write(wr, int64(i)); err != nil {
								t.Errorf("writer %d claim %d: %v", wr, i, err)
								return
							}
						}
					}()
				}
				wg.Wait()
				if err := c.ring.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c.check()
			if got, want := c.handled.Load(), int64(writers*perWriter); got != want {
				t.Fatalf("last stage handled %d slots, want %d", got, want)
			}
			for wr, n := range lastN {
				if n != int64(perWriter-1) {
					t.Fatalf("writer %d: last slot seen #%d, want #%d", wr, n, perWriter-1)
				}
			}
			if minSequencerCapacity <= capacity {
				t.Logf("go-disruptor refused writers %d times", c.ring.reserveWaits.Load())
				if c.ring.reserveWaits.Load() == 0 {
					t.Errorf("go-disruptor never refused a writer")
				}
			}
		}
	}
}

// TestWritersRefusedByGoDisruptor gives go-disruptor's sequencer no more
// room than the ring itself, so that writers are often refused by its wrap
// check while the lazy gate sleeps, and must nudge it and wait.
func TestWritersRefusedByGoDisruptor(t *testing.T) {
	defer func(saved uint32) { minSequencerCapacity = saved }(minSequencerCapacity)
	minSequencerCapacity = 1
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) { severalWriters(t, w, 8) })
	}
}

// wrap returns h with each slot also passed to each, after h has seen the batch.
func wrap(h Handler, each func(seq int64)) Handler {
	return HandlerFunc(func(lo, hi int64) {
		h.Handle(lo, hi)
		for seq := lo; seq <= hi; seq++ {
			each(seq)
		}
	})
}

func TestCloseDrainsEverythingPublished(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			const n = 3000
			var lastHandled atomic.Int64
			slow := HandlerFunc(func(lo, hi int64) {
				time.Sleep(20 * time.Microsecond)
				lastHandled.Store(hi)
			})
			r, err := New[testSlot](Options{Capacity: 256, Wait: w},
				Stage{Name: "a", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {})}},
				Stage{Name: "slow", Handlers: []Handler{slow}})
			if err != nil {
				t.Fatal(err)
			}
			r.Start()
			within(t, "write and close", func() {
				for i := 0; i < n; i++ {
					seq, err := r.Claim()
					if err != nil {
						t.Errorf("claim %d: %v", i, err)
						return
					}
					r.Publish(seq)
				}
				if err := r.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			if got := lastHandled.Load(); got != n-1 {
				t.Fatalf("after Close the last stage has handled up to %d, want %d", got, n-1)
			}
			if _, err := r.Claim(); err != ErrClosed {
				t.Fatalf("Claim after Close: %v, want ErrClosed", err)
			}
			st := r.Stats()
			for _, s := range st {
				if s.Events != n || s.Lag != 0 {
					t.Errorf("stats after drain: %+v", s)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

// TestFullRingBlocksWriterAndCountsIt fills a ring whose last stage is held,
// and checks that the next Claim waits, counts as back-pressure, and goes on
// once the stage lets go.
func TestFullRingBlocksWriterAndCountsIt(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			release := make(chan struct{})
			r, err := New[testSlot](Options{Capacity: 4, Wait: w},
				Stage{Name: "held", Handlers: []Handler{HandlerFunc(func(lo, hi int64) { <-release })}})
			if err != nil {
				t.Fatal(err)
			}
			r.Start()
			for i := 0; i < 4; i++ {
				seq, _ := r.Claim()
				r.Publish(seq)
			}
			claimed := make(chan int64)
			go func() {
				seq, _ := r.Claim()
				claimed <- seq
			}()
			select {
			case seq := <-claimed:
				t.Fatalf("Claim returned %d on a full ring", seq)
			case <-time.After(50 * time.Millisecond):
			}
			if bp := r.Stats()[0].BackPressure; bp != 1 {
				t.Fatalf("back-pressure %d while one writer waits, want 1", bp)
			}
			close(release)
			within(t, "the waiting claim", func() {
				if seq := <-claimed; seq != 4 {
					t.Errorf("claimed %d, want 4", seq)
				}
			})
			r.Publish(4)
			within(t, "close", func() { _ = r.Close() })
			if st := r.Stats(); st[0].Events != 5 || st[1].Events != 5 {
				t.Fatalf("stats after close: %+v", st)
			}
		})
	}
}

func TestCloseWaitsForClaimInFlight(t *testing.T) {
	var handled atomic.Int64
	handled.Store(-1)
	r, err := New[testSlot](Options{Capacity: 8},
		Stage{Handlers: []Handler{HandlerFunc(func(lo, hi int64) { handled.Store(hi) })}})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	seq, err := r.Claim()
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a claim was not yet published", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := r.Claim(); err != ErrClosed {
		t.Fatalf("Claim while closing: %v, want ErrClosed", err)
	}
	r.Slot(seq).Seq = seq
	r.Publish(seq)
	within(t, "close", func() {
		if err := <-closed; err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if handled.Load() != seq {
		t.Fatalf("the in-flight slot %d was not drained (handled up to %d)", seq, handled.Load())
	}
}

func TestCloseWithoutStartDrains(t *testing.T) {
	var handled atomic.Int64
	r, err := New[testSlot](Options{Capacity: 16},
		Stage{Handlers: []Handler{HandlerFunc(func(lo, hi int64) { handled.Add(hi - lo + 1) })}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		seq, _ := r.Claim()
		r.Publish(seq)
	}
	within(t, "close", func() { _ = r.Close() })
	if handled.Load() != 5 {
		t.Fatalf("handled %d of 5 slots published before Start", handled.Load())
	}
}

// failCase stops a pipeline of three stages in its middle stage when the
// batch holding sequence failAt reaches it, while writers keep a small ring
// full, and checks that nothing hangs and nothing leaks past the failure.
// A second handler beside the failing one (as the node's match partitions
// sit beside its journal) may handle the failed batch and more; the last
// stage still must not see it.
func failCase(t *testing.T, w WaitStrategy, stop func(r *Ring[testSlot], lo, hi int64)) error {
	const writers, failAt = 4, 5000
	var r *Ring[testSlot]
	var failedLo atomic.Int64
	failedLo.Store(-1)
	var lastSeen atomic.Int64
	lastSeen.Store(-1)
	var besideSeen atomic.Int64
	middle := HandlerFunc(func(lo, hi int64) {
		if lo <= failAt && failAt <= hi {
			failedLo.Store(lo)
			// Let the handler beside this one pass the failed batch first
			// (as a match partition may pass a batch whose fsync fails), so
			// that the last stage's check below covers that case; bounded,
			// so a beside handler that cannot get there fails the test
			// instead of hanging it.
			for deadline := time.Now().Add(5 * time.Second); besideSeen.Load() < hi && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
			stop(r, lo, hi)
		}
	})
	beside := HandlerFunc(func(lo, hi int64) { besideSeen.Store(hi) })
	var err error
	r, err = New[testSlot](Options{Capacity: 32, Writers: writers, Wait: w},
		Stage{Name: "first", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {}), HandlerFunc(func(lo, hi int64) {})}},
		Stage{Name: "middle", Handlers: []Handler{middle, beside}},
		Stage{Name: "last", Handlers: []Handler{HandlerFunc(func(lo, hi int64) { lastSeen.Store(hi) })}})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	var closeErr error
	within(t, "writers stopping on failure, then Close", func() {
		var wg sync.WaitGroup
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					seq, err := r.Claim()
					if err != nil {
						if err != ErrClosed {
							t.Errorf("claim: %v, want ErrClosed", err)
						}
						return
					}
					r.Publish(seq)
				}
			}()
		}
		wg.Wait()
		closeErr = r.Close()
	})
	lo := failedLo.Load()
	if lo < 0 {
		t.Fatal("the failing batch never reached the middle stage")
	}
	if besideSeen.Load() < failAt {
		t.Fatalf("the handler beside the failing one reached only %d, not the failed batch at %d", besideSeen.Load(), failAt)
	}
	if seen := lastSeen.Load(); seen >= lo {
		t.Fatalf("the last stage handled up to %d, past the failed batch starting at %d (the handler beside the failing one reached %d)", seen, lo, besideSeen.Load())
	}
	if _, err := r.Claim(); err != ErrClosed {
		t.Fatalf("Claim after failure: %v, want ErrClosed", err)
	}
	if r.Err() != closeErr {
		t.Fatalf("Err() = %v, Close() = %v", r.Err(), closeErr)
	}
	return closeErr
}

func TestFailStopsPipelineAndWriters(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			fsync := errors.New("journal: fsync: input/output error")
			err := failCase(t, w, func(r *Ring[testSlot], lo, hi int64) { r.Fail(fsync) })
			if err != fsync {
				t.Fatalf("Close returned %v, want %v", err, fsync)
			}
		})
	}
}

func TestPanicStopsPipelineAndWriters(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			err := failCase(t, w, func(r *Ring[testSlot], lo, hi int64) { panic("book corrupted") })
			var p *PanicError
			if !errors.As(err, &p) || p.Value != "book corrupted" || p.Stage != "middle" {
				t.Fatalf("Close returned %v, want the handler's panic", err)
			}
			if !strings.Contains(err.Error(), "ring_test.go") {
				t.Fatalf("panic error carries no stack: %v", err)
			}
		})
	}
}

// TestNoLostWakeup sends one slot at a time and waits for it to come out of
// the last stage, pausing at random between slots so that the stages are
// caught in every phase of their wait: spinning, yielding, parking, parked.
// There is no timeout backstop in the ring: a lost wake-up is a hang here.
func TestNoLostWakeup(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			rounds := count(4000)
			out := make(chan int64, 1)
			r, err := New[testSlot](Options{Capacity: 16, Writers: 2, Wait: w},
				Stage{Name: "a", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {}), HandlerFunc(func(lo, hi int64) {})}},
				Stage{Name: "b", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {})}},
				Stage{Name: "c", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {
					for seq := lo; seq <= hi; seq++ {
						out <- seq
					}
				})}})
			if err != nil {
				t.Fatal(err)
			}
			r.Start()
			rng := rand.New(rand.NewPCG(1, 2))
			within(t, "ping-pong", func() {
				for i := int64(0); i < int64(rounds); i++ {
					switch rng.IntN(4) {
					case 0:
					case 1:
						runtime.Gosched()
					case 2:
						time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
					case 3:
						for spin := rng.IntN(5000); spin > 0; spin-- {
						}
					}
					seq, err := r.Claim()
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					r.Publish(seq)
					if got := <-out; got != i {
						t.Errorf("round %d: slot %d came out", i, got)
						return
					}
				}
				_ = r.Close()
			})
			if w == WaitHybrid {
				parks := uint64(0)
				for _, s := range r.Stats()[1:] {
					parks += s.Parks
				}
				if parks == 0 {
					t.Fatal("no stage ever parked: the test did not exercise the park path")
				}
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	nop := HandlerFunc(func(lo, hi int64) {})
	one := Stage{Name: "one", Handlers: []Handler{nop}}
	cases := []struct {
		name   string
		opts   Options
		stages []Stage
		want   string
	}{
		{"capacity_not_power_of_two", Options{Capacity: 1000}, []Stage{one}, "power of two"},
		{"no_stages", Options{}, nil, "no stages"},
		{"stage_without_handlers", Options{}, []Stage{one, {Name: "empty"}}, `("empty") has no handlers`},
		{"nil_handler", Options{}, []Stage{{Name: "x", Handlers: []Handler{nil}}}, "is nil"},
		{"unknown_wait", Options{Wait: 7}, []Stage{one}, "wait strategy"},
		{"negative_writers", Options{Writers: -1}, []Stage{one}, "writers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New[testSlot](c.opts, c.stages...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want an error about %q", err, c.want)
			}
		})
	}
	type withString struct {
		ID   int64
		Name string
	}
	if _, err := New[withString](Options{}, one); err == nil || !strings.Contains(err.Error(), "Name") {
		t.Fatalf("New with a string field: %v, want a pointer-free refusal naming the field", err)
	}
	if _, err := New[[4]*int](Options{}, one); err == nil {
		t.Fatal("New with an array of pointers succeeded")
	}
}

func TestStatsCountBatchesAndEvents(t *testing.T) {
	const n = 1000
	r, err := New[testSlot](Options{Capacity: 128},
		Stage{Name: "journal", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {}), HandlerFunc(func(lo, hi int64) {})}},
		Stage{Name: "publish", Handlers: []Handler{HandlerFunc(func(lo, hi int64) {})}})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	for i := 0; i < n; i++ {
		seq, _ := r.Claim()
		r.Publish(seq)
	}
	_ = r.Close()
	st := r.Stats()
	if len(st) != 3 || st[0].Name != "writers" || st[1].Name != "journal" || st[2].Name != "publish" {
		t.Fatalf("stats names: %+v", st)
	}
	if st[0].Events != n || st[1].Events != n || st[2].Events != n {
		t.Fatalf("events: %+v", st)
	}
	if st[1].Handlers != 2 || st[1].Batches == 0 || math.Abs(st[1].MeanBatch*float64(st[1].Batches)-2*n) > 1e-6 {
		t.Fatalf("journal stage batches: %+v", st[1])
	}
}
