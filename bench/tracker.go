package bench

import (
	"sync/atomic"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The requests a stream has in flight live in a ring of slots indexed by
// request number. A slot is reused window requests later; a request still
// unanswered by then is counted lost. The sender writes a slot before the
// request goes out; the one goroutine that reads answers (a session's
// reader, the pipeline's sink) marks it answered and owns the histograms.
const (
	windowBits = 17
	window     = 1 << windowBits
	windowMask = window - 1
)

const (
	stAnswered uint32 = 1 << iota
	stFilled
	stTaking
	stMeasured
	stAmend // a cancel or replace
)

type trackSlot struct {
	k         atomic.Int64
	plannedNs atomic.Int64
	state     atomic.Uint32
}

// Answer outcomes.
const (
	outcomeOK        = iota // New, Canceled, Replaced
	outcomeReject           // ExecType 8 or a session/business reject
	outcomeCxlReject        // OrderCancelReject
)

type tracker struct {
	slots    []trackSlot
	inflight atomic.Int64
	answered atomic.Int64
	lost     atomic.Int64
	wake     chan struct{} // a slot freed; capacity 1

	// dayTakers: taking orders are Day, and what they do not fill on
	// arrival rests and may fill much later. Only a fill that comes before
	// the answer to any later request of the session is the crossing
	// order's fill on arrival: an acceptor that matches one order at a
	// time sends a taker's New and fills before the next order's New.
	dayTakers bool

	// owned by the answering goroutine
	ack, fill, amend *hdrhistogram.Histogram
	lastAckK         int64 // the request whose first answer came last
	measured         int64
	rejects          int64
	cxlRejects       int64
	lastMeasuredNs   int64
}

func newTracker() *tracker {
	return &tracker{slots: make([]trackSlot, window), wake: make(chan struct{}, 1),
		ack: NewHist(), fill: NewHist(), amend: NewHist()}
}

// sent records that request k goes out, planned at plannedNs. Sender only.
func (t *tracker) sent(k, plannedNs int64, op *Op, measured bool) {
	s := &t.slots[k&windowMask]
	st := uint32(0)
	if op.Taking {
		st |= stTaking
	}
	if measured {
		st |= stMeasured
	}
	if op.Kind != OpNew {
		st |= stAmend
	}
	s.k.Store(k)
	s.plannedNs.Store(plannedNs)
	if prev := s.state.Swap(st); k >= window && prev&stAnswered == 0 {
		t.lost.Add(1)
		t.inflight.Add(-1)
	}
	t.inflight.Add(1)
}

// answer records the first answer to request k; later ones (and answers to
// requests whose slot was reused) are ignored. Answering goroutine only.
// Hot path.
func (t *tracker) answer(k, nowNs int64, outcome int) {
	s := &t.slots[k&windowMask]
	if s.k.Load() != k {
		return
	}
	st := s.state.Load()
	if st&stAnswered != 0 || !s.state.CompareAndSwap(st, st|stAnswered) {
		return
	}
	planned := s.plannedNs.Load()
	t.lastAckK = k
	t.inflight.Add(-1)
	t.answered.Add(1)
	select {
	case t.wake <- struct{}{}:
	default:
	}
	switch outcome {
	case outcomeReject:
		t.rejects++
	case outcomeCxlReject:
		t.cxlRejects++
	}
	if st&stMeasured == 0 {
		return
	}
	t.measured++
	t.lastMeasuredNs = max(t.lastMeasuredNs, nowNs)
	switch {
	case outcome == outcomeReject:
	case st&stAmend != 0:
		Record(t.amend, nowNs-planned)
	default:
		Record(t.ack, nowNs-planned)
	}
}

// filled records a fill of request k: the first fill of a crossing order
// is its order-to-fill latency. Answering goroutine only. Hot path.
func (t *tracker) filled(k, nowNs int64) {
	s := &t.slots[k&windowMask]
	if s.k.Load() != k {
		return
	}
	st := s.state.Load()
	if st&(stTaking|stFilled) != stTaking || !s.state.CompareAndSwap(st, st|stFilled) {
		return
	}
	if t.dayTakers && k != t.lastAckK {
		return // a resting remainder's fill, not the fill on arrival
	}
	if st&stMeasured != 0 {
		Record(t.fill, nowNs-s.plannedNs.Load())
	}
}
