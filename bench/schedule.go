package bench

import "time"

// Schedule plans the send time of every request of an open-loop run. The
// total rate is split over Streams (sessions), interleaved: request k of
// stream s is planned at (k·Streams + s) / RatePerSec seconds after the
// start. Latency counts from that planned time, whenever the request
// actually goes out, so a stall of the target (or of the generator) shows
// in the distribution instead of silently slowing the load down
// (coordinated omission).
//
// RatePerSec 0 is "as fast as the in-flight bound allows": a closed loop,
// where a request is planned when a slot frees and latency is the round
// trip alone. Results say which.
//
// WakeGridNs is when a sender with nothing due wakes. 0: at its next
// planned time, on its own timer (nanosleep, 1 ns slack). Above 0: at the
// first multiple of WakeGridNs from the run's start at or after that time,
// so every sender of the run wakes on the same instants, at most
// 1e9/WakeGridNs of them a second, each sending what is due. The planned
// times do not move: a request sent late by the grid counts the delay (less
// than WakeGridNs) in its latency.
//
// Why a grid: on a small VM (a Firecracker guest), a generator whose timer
// wakes an idle vCPU 10,000 times a second can make the whole machine
// stall every so often, and the stalls land in whatever it measures; on
// the grid the senders' wake-ups are fewer and shared. Where the exchange's
// own goroutines wake far more often than the senders (over FIX) the grid
// changes little. On dedicated cores a timer wake-up costs nothing like
// this: use 0 there. docs/performance.md has the runs that showed it.
type Schedule struct {
	RatePerSec float64
	Streams    int
	WakeGridNs int64
}

// WakeAt is when a sender whose next request is planned at dueNs wakes:
// dueNs itself, or the first grid point at or after it.
func (sc Schedule) WakeAt(dueNs int64) int64 {
	if q := sc.WakeGridNs; q > 0 && dueNs > 0 {
		return (dueNs + q - 1) / q * q
	}
	return dueNs
}

// sleepUntil sleeps from nowNs until WakeAt(dueNs) (nanoseconds since the
// run's start).
func (sc Schedule) sleepUntil(nowNs, dueNs int64) {
	sleepFor(time.Duration(sc.WakeAt(dueNs) - nowNs))
}

// Open reports whether the schedule is open-loop (has a rate).
func (sc Schedule) Open() bool { return sc.RatePerSec > 0 }

// PlannedNs is the planned send time of request k of stream s, in
// nanoseconds after the start. Only for an open schedule.
func (sc Schedule) PlannedNs(s int, k int64) int64 {
	return int64(float64(k*int64(sc.Streams)+int64(s)) * 1e9 / sc.RatePerSec)
}

// DueBy is the number of requests of stream s planned at or before nowNs:
// requests 0..DueBy-1 are due. Only for an open schedule.
func (sc Schedule) DueBy(s int, nowNs int64) int64 {
	if nowNs < 0 {
		return 0
	}
	slots := int64(float64(nowNs) * sc.RatePerSec / 1e9) // global request slots due
	if slots < int64(s) {
		return 0
	}
	k := (slots-int64(s))/int64(sc.Streams) + 1
	// float rounding: make DueBy agree exactly with PlannedNs
	for k > 0 && sc.PlannedNs(s, k-1) > nowNs {
		k--
	}
	for sc.PlannedNs(s, k) <= nowNs {
		k++
	}
	return k
}

// pacer is one stream's sender state: which requests go out now.
type pacer struct {
	sched    Schedule
	stream   int
	next     int64 // next request to send
	limit    int64 // requests in the stream (bound of the run)
	inflight int   // bound on requests sent and not answered
	batchMax int   // bound on requests per write
}

// take returns the requests [from, to) to send at nowNs, given how many
// are in flight, and, when none can go, the time the next one is due
// (-1: wait for an answer instead; open schedules only).
func (p *pacer) take(nowNs int64, inFlight int) (from, to int64, waitUntilNs int64) {
	free := int64(min(p.inflight-inFlight, p.batchMax))
	from, to = p.next, p.next
	if free <= 0 || p.next >= p.limit {
		return from, to, -1
	}
	if !p.sched.Open() {
		to = min(p.next+free, p.limit)
	} else {
		to = min(p.sched.DueBy(p.stream, nowNs), p.next+free, p.limit)
		if to <= from {
			return from, from, p.sched.PlannedNs(p.stream, p.next)
		}
	}
	p.next = to
	return from, to, 0
}
