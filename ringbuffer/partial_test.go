package ringbuffer

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// partialFirst is a first-stage handler that, at every 7th slot, must see
// the last stage pass the slot before it: it ends its batch there
// (HandleUpTo) and waits. With a whole-batch handler this would wait for
// itself.
type partialFirst struct {
	last    *atomic.Int64 // the last stage's progress
	handled []int64
	ended   int
}

func (h *partialFirst) Handle(lo, hi int64) { panic("Handle called on a PartialHandler") }

func (h *partialFirst) HandleUpTo(lo, hi int64) int64 {
	for seq := lo; seq <= hi; seq++ {
		if seq%7 == 0 {
			if seq > lo {
				h.ended++
				return seq - 1
			}
			for h.last.Load() < seq-1 {
				runtime.Gosched()
			}
		}
		h.handled = append(h.handled, seq)
	}
	return hi
}

func TestPartialHandlerEndsBatchEarly(t *testing.T) {
	var last atomic.Int64
	last.Store(-1)
	first := &partialFirst{last: &last}
	seenLast := int64(-1)
	lastStage := HandlerFunc(func(lo, hi int64) {
		for seq := lo; seq <= hi; seq++ {
			if seq != seenLast+1 {
				t.Errorf("last stage saw %d after %d", seq, seenLast)
			}
			seenLast = seq
		}
		last.Store(hi)
	})
	r, err := New[testSlot](Options{Capacity: 64, Writers: 1},
		Stage{Name: "partial", Handlers: []Handler{first}},
		Stage{Name: "last", Handlers: []Handler{lastStage}})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	const n = 2000
	within(t, "partial pipeline", func() {
		for i := 0; i < n; i++ {
			seq, err := r.Claim()
			if err != nil {
				t.Error(err)
				return
			}
			r.Publish(seq)
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	if len(first.handled) != n || seenLast != n-1 {
		t.Fatalf("first stage handled %d slots, the last stage saw up to %d; want %d", len(first.handled), seenLast, n)
	}
	for i, seq := range first.handled {
		if seq != int64(i) {
			t.Fatalf("first stage handled %d at position %d", seq, i)
		}
	}
	t.Logf("batches ended early: %d", first.ended)
}
