package ringbuffer

import (
	"runtime"
	"sync/atomic"
	"time"
)

// gate is go-disruptor's only handler group and its wait strategy at once.
//
// go-disruptor's Sequencer refuses a reservation that would lap the slowest
// handler it knows about, and the only handlers it knows about are the ones
// its own listener loop runs. Our stages run on our own listeners (see the
// package doc for why), so go-disruptor gets one stand-in handler: the gate.
// It does nothing with the slots; it only lets go-disruptor's view of "handled"
// follow the committed sequence, so that go-disruptor's wrap check passes.
// The real wrap check, against the last stage, is Ring.Claim's.
//
// The gate is lazy: its go-disruptor listener parks inside Handle and Idle
// until a writer nudges it, which Claim does when the writers are a quarter
// of the ring ahead of what go-disruptor last saw handled, and which a writer
// stuck in go-disruptor's own wrap check does on every retry. So it costs a
// few wake-ups per lap of the ring, not one per event.
type gate struct {
	// real is what go-disruptor's listener has stored as handled: lo-1 while
	// the gate is inside Handle(lo, hi), hi once it has returned to Idle.
	real    atomic.Int64
	pending int64 // hi of the last Handle; only the gate's goroutine touches it
	nudged  atomic.Bool
	closing atomic.Bool
	// passes lets the gate run on after a nudge, so that one nudge moves real
	// past the batch it was parked in and also past the one queued behind it.
	passes int

	waitsInReserve *atomic.Uint64
	sig            signal
}

func newGate(waitsInReserve *atomic.Uint64) *gate {
	g := &gate{waitsInReserve: waitsInReserve, pending: -1}
	g.real.Store(-1)
	g.sig.init()
	return g
}

// Handle is go-disruptor's handler callback.
func (g *gate) Handle(lo, hi int64) {
	g.real.Store(lo - 1)
	g.pending = hi
	g.sleep()
}

// Gate is never called: go-disruptor calls it only for a second handler group.
func (g *gate) Gate(int64) { runtime.Gosched() }

// Idle is go-disruptor's listener finding nothing committed past what it has.
func (g *gate) Idle(int64) {
	g.real.Store(g.pending)
	g.sleep()
}

// Reserve is a writer inside go-disruptor's Reserve, refused by its wrap
// check because the gate has not kept up. It only happens if the gate's
// goroutine has not run for about three quarters of a lap. Here, and only
// here, a writer polls rather than parks: go-disruptor re-checks its barrier
// between calls and gives the strategy no way to park on it safely. Each poll
// nudges the gate, which then catches up within one scheduling round.
func (g *gate) Reserve(spin int64) {
	if spin == 0 {
		g.waitsInReserve.Add(1)
	}
	g.nudge()
	if spin < 64 {
		runtime.Gosched()
		return
	}
	time.Sleep(50 * time.Microsecond)
}

func (g *gate) sleep() {
	if g.passes > 0 {
		g.passes--
		return
	}
	for {
		if g.nudged.Swap(false) {
			g.passes = 1
			return
		}
		if g.closing.Load() {
			return
		}
		e := g.sig.prepare()
		if g.nudged.Load() || g.closing.Load() {
			g.sig.cancel()
			continue
		}
		g.sig.park(e)
	}
}

// nudge asks the gate to catch up with the committed sequence, and reports
// whether that woke its goroutine.
func (g *gate) nudge() bool {
	if g.nudged.Load() {
		return false // the gate has not consumed the last nudge yet
	}
	g.nudged.Store(true)
	return g.sig.notify()
}

func (g *gate) close() {
	g.closing.Store(true)
	g.sig.notify()
}
