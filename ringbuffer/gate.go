package ringbuffer

import (
	"runtime"
	"sync/atomic"
)

// gate is go-disruptor's only handler group and its wait strategy at once.
//
// go-disruptor's Sequencer refuses a reservation that would lap the slowest
// handler it knows about, and the only handlers it knows about are the ones
// its own listener loop runs. Our stages run on our own listeners (see the
// package doc for why), so go-disruptor gets one stand-in handler: the gate.
// It does nothing with the slots; it only lets go-disruptor's view of
// "handled" follow the committed sequence, so that go-disruptor's wrap check
// passes. The real wrap check, against the last stage, is Claim's.
//
// The gate is lazy: its go-disruptor listener parks inside Handle and Idle
// until a writer nudges it, which Claim does when the writers are a quarter
// of the ring ahead of what go-disruptor last saw handled, and which a writer
// refused by go-disruptor's TryReserve does before it waits. So the gate
// costs a few wake-ups per lap of the ring, not one per event.
//
// Writers waiting for go-disruptor park on room, the signal the last stage
// also uses; the gate notifies it on every callback, each of which follows
// go-disruptor's store of the gate's handled sequence. A writer nudges after
// registering on room and before its last TryReserve, and a nudge always
// leads to another callback, so the writer cannot sleep through the progress
// it waits for.
type gate struct {
	// real is what go-disruptor's listener has stored as handled: lo-1 while
	// the gate is inside Handle(lo, hi), hi once it has returned to Idle.
	real    atomic.Int64
	nudged  atomic.Bool
	closing atomic.Bool

	// Touched only by the gate's goroutine.
	pending int64 // hi of the last Handle
	// passes lets the gate run on after a nudge, so that one nudge moves real
	// past the batch it was parked in and also past the one queued behind it.
	passes int

	room *signal
	parker
}

func newGate(room *signal) *gate {
	g := &gate{room: room, pending: -1}
	g.real.Store(-1)
	g.parker.init()
	return g
}

// Handle is go-disruptor's handler callback.
func (g *gate) Handle(lo, hi int64) {
	g.real.Store(lo - 1)
	g.room.notify()
	g.pending = hi
	g.hold()
}

// Idle is go-disruptor's listener finding nothing committed past what it has.
func (g *gate) Idle(int64) {
	g.real.Store(g.pending)
	g.room.notify()
	g.hold()
}

// Gate is never called: go-disruptor calls it only for a second handler group.
func (g *gate) Gate(int64) { runtime.Gosched() }

// Reserve is never called: the ring reserves with TryReserve and waits
// itself, so that a writer never waits where a failure cannot reach it.
func (g *gate) Reserve(int64) { runtime.Gosched() }

// hold parks the gate until a nudge, unless a nudge is pending or it is closing.
func (g *gate) hold() {
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
		g.prepare()
		if g.nudged.Load() || g.closing.Load() {
			g.cancel()
			continue
		}
		g.sleep()
	}
}

// nudge asks the gate to catch up with the committed sequence, and reports
// whether that woke its goroutine.
func (g *gate) nudge() bool {
	if g.nudged.Load() {
		return false // the gate has not consumed the last nudge yet
	}
	g.nudged.Store(true)
	return g.unpark()
}

func (g *gate) close() {
	g.closing.Store(true)
	g.unpark()
}
