package bench

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
type Schedule struct {
	RatePerSec float64
	Streams    int
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
