package risk

import (
	"runtime"
	"sync/atomic"

	"github.com/ringex/ringex/matcher"
)

// Pipeline is the pipeline a risk stage runs in, as its decision needs it
// (Stage): how far the settle half has got, whether the pipeline has
// stopped, and the matcher's view of a replace's order. The node's ring
// is one (node/risk.go); the package's pipeline benchmark is another
// (pipeline_test.go).
type Pipeline interface {
	// Settled is the ring sequence the settle half has settled up to:
	// every command at or before it applied, its events settled, Done.
	Settled() int64
	// Failed reports whether the pipeline has stopped: then the settle
	// half never gets further.
	Failed() bool
	// Target is matcher.Partitions.Target for cmd, from the engine that
	// owns its symbol. Called only once Settled has reached the command
	// before cmd, when the engines, held back by the risk stage, idle
	// there.
	Target(cmd *matcher.Command) (id, cum int64)
}

// Stage is the risk stage's decision: Check on every command in sequence
// order, and, for a refusal that the settle half may still turn into an
// acceptance, the wait for it and the decision again, so that every Hold
// is the one a sequential Step gives (see the package doc). The stage's
// handler (the node's riskHandler) calls Decide on each slot of its batch
// and leaves the Hold where the stages after it read it. Decide is called
// by one goroutine, the State's Check goroutine.
type Stage struct {
	state *State
	pipe  Pipeline
	waits atomic.Int64 // refusals that waited for the settle half (Decide's goroutine writes)
}

// NewStage is the risk stage of s in pipe.
func NewStage(s *State, pipe Pipeline) *Stage { return &Stage{state: s, pipe: pipe} }

// Waits is how many refusals have waited for the settle half so far. Any
// goroutine.
func (st *Stage) Waits() int64 { return st.waits.Load() }

// Decide decides cmd, the command at ring sequence seq of the batch lo..hi
// the stage's handler was given. ok: h is the Hold for cmd. Not ok: the
// decision needs the settle half at seq-1 first, and the handler ends its
// batch by returning last (ringbuffer.PartialHandler): seq-1 when the
// batch has slots before seq (the stages after get there first; cmd comes
// back at the start of the next batch), or hi when the pipeline failed
// (nothing passes on). At the start of a batch Decide waits itself.
//
// A refusal that is Reducible (a replace refused for cash or inventory) is
// judged again by CheckExact, the settle half and the engines idle at
// seq-1. A refusal that is ViewDependent is decided again, with what
// vouches for the view (Settled, Exact) read before the Check it vouches
// for, since the settle half may catch up while Check runs; if neither
// vouches and the refusal is not Final, after waiting. A refused Check
// reserved nothing, so it may run again.
//
// Hot path: no allocation, no lock; an acceptance costs Check and one
// test. A refusal that waits spins, yielding, for the settle half.
func (st *Stage) Decide(cmd *matcher.Command, seq, lo, hi int64) (h Hold, last int64, ok bool) {
	h = st.state.Check(cmd)
	if h.Reason == matcher.ReasonNone {
		return h, 0, true
	}
	return st.again(cmd, h, seq, lo, hi)
}

// again is Decide for a refusal h of cmd. Hot path.
func (st *Stage) again(cmd *matcher.Command, h Hold, seq, lo, hi int64) (Hold, int64, bool) {
	s := st.state
	switch {
	case Reducible(cmd, h.Reason):
		if st.pipe.Settled() < seq-1 {
			if last, ok := st.wait(seq, lo, hi); !ok {
				return h, last, false
			}
		}
		id, cum := st.pipe.Target(cmd)
		return s.CheckExact(cmd, id, cum), 0, true
	case ViewDependent(h.Reason):
		// Only here, not on every command: Exact reads counters the
		// settle half writes on its goroutine, a cache line from the
		// other core each.
		exact := st.pipe.Settled() >= seq-1 || s.Exact(cmd.OwnerID())
		h = s.Check(cmd)
		if ViewDependent(h.Reason) && !exact && !s.Final(cmd, h.Reason) {
			if last, ok := st.wait(seq, lo, hi); !ok {
				return h, last, false
			}
			h = s.Check(cmd)
		}
	}
	return h, 0, true
}

// wait is Decide at seq, which needs the settle half at seq-1: ok once it
// is there, else what the handler returns (Decide).
func (st *Stage) wait(seq, lo, hi int64) (last int64, ok bool) {
	if seq > lo {
		return seq - 1, false
	}
	st.waits.Store(st.waits.Load() + 1)
	if !st.AwaitSettled(seq - 1) {
		return hi, false
	}
	return 0, true
}

// AwaitSettled waits, spinning and yielding, until the settle half has
// settled ring sequence seq; false when the pipeline failed first (then
// it never will).
func (st *Stage) AwaitSettled(seq int64) bool {
	for i := 0; st.pipe.Settled() < seq; i++ {
		runtime.Gosched()
		if i%1024 == 1023 && st.pipe.Failed() {
			return false
		}
	}
	return true
}
