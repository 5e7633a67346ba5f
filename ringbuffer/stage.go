package ringbuffer

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
)

// Handler handles the inclusive batch [lo, hi] of ring sequences (0-based),
// every one of which the previous stage has passed. It reads and writes its
// slots through Ring.Slot. Handle runs on the handler's own goroutine; it
// should do its I/O once per batch.
type Handler interface {
	Handle(lo, hi int64)
}

// PartialHandler is a Handler that may end a batch early: HandleUpTo
// handles [lo, last] for some last in [lo, hi] and returns last. Only that
// far is passed on; the rest comes back in the next batch, at once. A
// handler that must wait for a later stage before it can handle a slot
// (the node's risk check) ends its batch before that slot, so that the
// later stage can get there. Handle is not called on it.
type PartialHandler interface {
	Handler
	HandleUpTo(lo, hi int64) (last int64)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(lo, hi int64)

// Handle calls f(lo, hi).
func (f HandlerFunc) Handle(lo, hi int64) { f(lo, hi) }

// Stage is one group of handlers. They run side by side, each on its own
// goroutine, and each sees every slot (a handler that owns only part of the
// slots, such as a match partition, skips the others itself). The next stage
// sees a slot only once every handler of this one has passed it.
type Stage struct {
	Name     string
	Handlers []Handler
}

// PanicError is the failure of a ring whose handler panicked.
type PanicError struct {
	Stage   string
	Handler int   // index in Stage.Handlers
	Lo, Hi  int64 // the batch being handled
	Value   any   // what was passed to panic
	Stack   []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("ringbuffer: stage %q handler %d panicked on [%d, %d]: %v\n%s",
		e.Stage, e.Handler, e.Lo, e.Hi, e.Value, e.Stack)
}

// stage is a Stage at run time.
type stage struct {
	name      string
	listeners []*listener
	next      *stage // nil for the last stage, whose progress writers wait for
}

// wake wakes the stage's handlers that sleep waiting for work, and reports
// whether there was one. Hot path.
func (s *stage) wake() bool {
	woke := false
	for _, l := range s.listeners {
		if l.unpark() {
			woke = true
		}
	}
	return woke
}

// position is the last sequence every handler of the stage has passed.
func (s *stage) position() int64 {
	pos := s.listeners[0].seq.Load()
	for _, l := range s.listeners[1:] {
		pos = min(pos, l.seq.Load())
	}
	return pos
}

// listener runs one handler: it waits for slots the stage before it has
// passed, hands them over as one batch, and announces its progress.
type listener struct {
	_   [cacheLine]byte
	seq atomic.Int64 // last sequence handled; read by the next stage and by writers
	_   [cacheLine - 8]byte

	parker // where the listener sleeps

	// Counters, written only by the listener's goroutine.
	batches atomic.Uint64
	parks   atomic.Uint64

	p        *pipe
	stage    *stage
	upstream *stage // nil for the first stage, which follows the writers
	index    int
	handler  Handler
}

func (p *pipe) buildStages(stages []Stage) {
	for i, s := range stages {
		st := &stage{name: s.Name}
		if st.name == "" {
			st.name = fmt.Sprintf("stage%d", i)
		}
		var upstream *stage
		if i > 0 {
			upstream = p.stages[i-1]
			upstream.next = st
		}
		for j, h := range s.Handlers {
			l := &listener{p: p, stage: st, upstream: upstream, index: j, handler: h}
			l.seq.Store(-1)
			l.parker.init()
			st.listeners = append(st.listeners, l)
			p.listeners = append(p.listeners, l)
		}
		p.stages = append(p.stages, st)
	}
	p.last = p.stages[len(p.stages)-1]
}

// announce tells whoever waits for the listener's stage that it moved on:
// the next stage, or writers waiting for room. Hot path.
func (l *listener) announce() bool {
	if next := l.stage.next; next != nil {
		return next.wake()
	}
	return l.p.roomSig.notify()
}

// available returns the last sequence this listener may handle, which is
// next-1 when there is nothing for it.
func (l *listener) available(next int64) int64 {
	if l.upstream == nil {
		return l.p.publishedFrom(next)
	}
	return l.upstream.position()
}

func (l *listener) run() {
	p := l.p
	next := l.seq.Load() + 1
	wokeSomeone := false
	for {
		hi := l.available(next)
		if hi < next {
			hi = l.await(next, wokeSomeone)
			if hi < next {
				return
			}
		}
		if p.failed.Load() {
			return
		}
		hi, ok := l.handle(next, hi)
		if !ok || p.failed.Load() {
			return // the batch is not passed on: no later stage sees it
		}
		l.seq.Store(hi)
		l.batches.Store(l.batches.Load() + 1)
		wokeSomeone = l.announce()
		next = hi + 1
	}
}

// await waits for a slot at next and returns the last available sequence, or
// next-1 when the listener must exit.
func (l *listener) await(next int64, wokeSomeone bool) int64 {
	p := l.p
	try := 0
	if wokeSomeone && p.wait == WaitHybrid {
		// The goroutine we just woke waits on our P. Spinning or yielding
		// would keep it waiting or cost a second switch; going straight to
		// sleep hands it the P at once, as a channel receive would.
		try = hybridSpinChecks + hybridYieldChecks
	}
	for ; ; try++ {
		if p.done(next) {
			return next - 1
		}
		if hi := l.available(next); hi >= next {
			return hi
		}
		if !backoff(p.wait, try) {
			continue
		}
		l.prepare()
		if l.available(next) >= next || p.done(next) {
			l.cancel()
			continue
		}
		l.parks.Store(l.parks.Load() + 1)
		l.sleep()
	}
}

// handle runs the handler on [lo, hi] and turns a panic into the ring's
// failure. It returns the last sequence handled (hi, or less for a
// PartialHandler) and whether the handler returned normally.
func (l *listener) handle(lo, hi int64) (last int64, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			l.p.fail(&PanicError{Stage: l.stage.name, Handler: l.index, Lo: lo, Hi: hi, Value: v, Stack: debug.Stack()})
			ok = false
		}
	}()
	if ph, partial := l.handler.(PartialHandler); partial {
		last = ph.HandleUpTo(lo, hi)
		if last < lo || last > hi {
			panic(fmt.Sprintf("ringbuffer: HandleUpTo(%d, %d) returned %d", lo, hi, last))
		}
		return last, true
	}
	l.handler.Handle(lo, hi)
	return hi, true
}
