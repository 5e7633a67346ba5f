package cluster

import (
	"math"
	"sync/atomic"
	"time"
)

// clockBase anchors the guard's deadlines: they are nanoseconds since this
// instant on the monotonic clock, so an int64 holds one and a wall-clock
// step changes nothing.
var clockBase = time.Now()

// fenced is the deadline of a guard whose leadership has ended: earlier
// than any instant.
const fenced = math.MinInt64

// sinceBase returns t as nanoseconds since clockBase (monotonic when t came
// from time.Now).
func sinceBase(t time.Time) int64 { return int64(t.Sub(clockBase)) }

// Guard says whether the leader may still acknowledge: true until the
// instant by which its lease may have expired, less a margin. The member's
// keep-alive loop moves the deadline forward after every answered
// keep-alive; the guard ends for good (fenced) when the leadership does.
//
// The deadline after a keep-alive answered with TTL is
//
//	sent + TTL - margin
//
// where sent is when that keep-alive request was sent: etcd refreshed the
// lease no earlier than that, so the lease lives at least until sent + TTL.
// Counting from the answer instead would be unsafe: a request that took d
// to answer would buy d too much. The margin (Config.Margin, by default
// TTL/5 + TTL/100) covers the time between a stage's Valid and its
// acknowledgements reaching the wire, a scheduling or GC pause in between,
// and clock-rate drift between this host and etcd's (the TTL/100 part: 1%,
// far more than a working clock drifts).
type Guard struct {
	deadline atomic.Int64           // nanoseconds since clockBase; fenced once ended
	onFence  atomic.Pointer[func()] // OnFence's f until it has run
}

// Valid reports whether the leader may acknowledge at now (from
// time.Now()). Hot path: one atomic load and a subtraction; no lock, no
// allocation, no etcd round trip.
func (g *Guard) Valid(now time.Time) bool {
	return sinceBase(now) < g.deadline.Load()
}

// Deadline returns the instant the guard runs out unless a keep-alive
// extends it; the zero Time once the leadership has ended.
func (g *Guard) Deadline() time.Time {
	d := g.deadline.Load()
	if d == fenced {
		return time.Time{}
	}
	return clockBase.Add(time.Duration(d))
}

// Ended reports whether the leadership the guard belongs to has ended; a
// guard that merely ran out (etcd unreachable) has not.
func (g *Guard) Ended() bool { return g.deadline.Load() == fenced }

// extend moves the deadline forward to d (nanoseconds since clockBase);
// never backwards, and never once fenced.
func (g *Guard) extend(d int64) {
	for {
		old := g.deadline.Load()
		if old == fenced || d <= old {
			return
		}
		if g.deadline.CompareAndSwap(old, d) {
			return
		}
	}
}

// OnFence has f run once the guard is fenced: by fence, on the goroutine
// that ends the leadership, before Resign or Handoff deletes the leader
// key; at once when it is fenced already. f runs once and must not block:
// the FIX acceptor cuts its socket writes with it, since a write under way
// does not see the deadline move back. One f per guard: a later one
// replaces one that has not run.
func (g *Guard) OnFence(f func()) {
	g.onFence.Store(&f)
	if g.Ended() {
		g.runOnFence()
	}
}

// fence ends the guard for good.
func (g *Guard) fence() {
	g.deadline.Store(fenced)
	g.runOnFence()
}

// runOnFence runs OnFence's f unless it has run: whichever of fence and
// OnFence takes it first.
func (g *Guard) runOnFence() {
	if f := g.onFence.Swap(nil); f != nil {
		(*f)()
	}
}
