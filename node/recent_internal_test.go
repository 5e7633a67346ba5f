package node

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestRecentEventsKeepsTheLatest: the buffer keeps the newest events in
// order, and says when events of commands after the asked-for seq were
// overwritten.
func TestRecentEventsKeepsTheLatest(t *testing.T) {
	r := newRecentEvents(4, 1)
	for seq := int64(1); seq <= 6; seq++ { // events of seqs 1..6; 1 and 2 fall out
		r.add(&matcher.Event{Seq: seq, ExecID: seq * matcher.ExecIDStride})
	}
	cases := []struct {
		name  string
		from  int64
		seqs  []int64
		whole bool
	}{
		{"all_published", 6, nil, true},
		{"last_two_unpublished", 4, []int64{5, 6}, true},
		{"reaches_the_oldest_kept", 2, []int64{3, 4, 5, 6}, true},
		{"some_fell_out", 1, []int64{3, 4, 5, 6}, false},
	}
	for _, c := range cases {
		evs, whole := r.after(c.from)
		if whole != c.whole || len(evs) != len(c.seqs) {
			t.Fatalf("%s: %d events (whole %v), want %v (whole %v)", c.name, len(evs), whole, c.seqs, c.whole)
		}
		for i, ev := range evs {
			if ev.Seq != c.seqs[i] || ev.ExecID != c.seqs[i]*matcher.ExecIDStride {
				t.Errorf("%s: event %d is seq %d, want %d", c.name, i, ev.Seq, c.seqs[i])
			}
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { r.add(&matcher.Event{Seq: 7}) }); allocs != 0 {
		t.Errorf("add allocates %v times", allocs)
	}
}

// TestRecentEventsNothingLostBeforeAnyPublishedSeq: a standby promoted
// before it heard a published seq (-1) on a fresh journal, its buffer
// never full: nothing was overwritten, so nothing is rebuilt from the
// journal and every kept event is resent.
func TestRecentEventsNothingLostBeforeAnyPublishedSeq(t *testing.T) {
	r := newRecentEvents(4, 3) // accounts 0..2
	for seq := int64(1); seq <= 3; seq++ {
		r.add(&matcher.Event{Seq: seq, Account: 1})
	}
	for a := uint32(0); a <= 2; a++ {
		if r.lostAfter(a, -1) {
			t.Errorf("account %d: lostAfter(-1) with nothing overwritten", a)
		}
	}
	if evs, whole := r.after(-1); len(evs) != 3 || !whole {
		t.Errorf("after(-1): %d events (whole %v), want 3 (whole true)", len(evs), whole)
	}
	for seq := int64(4); seq <= 5; seq++ { // seq 1, account 1's, falls out
		r.add(&matcher.Event{Seq: seq, Account: 2})
	}
	if !r.lostAfter(1, -1) || r.lostAfter(2, -1) {
		t.Errorf("after account 1's event of seq 1 fell out: lostAfter(1, -1) %v, lostAfter(2, -1) %v; want true, false", r.lostAfter(1, -1), r.lostAfter(2, -1))
	}
	if _, whole := r.after(-1); whole {
		t.Error("after(-1) whole although seq 1 fell out")
	}
}
