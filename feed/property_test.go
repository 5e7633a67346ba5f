package feed

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestBookFromFeedEqualsMatchersAtEveryStep drives random order streams
// through a journal and the matcher, and follows the live feed with three
// receivers: one from the first message (given every other step's messages
// twice), and two that join late from a snapshot of the recovery service
// (over TCP) and later miss a run of messages: one recovers it by
// retransmission (from the service's memory or, when older, by its replay
// of the journal from the start), the other by a new snapshot.
// After every command every book equals the matcher's, order by order in
// priority order; at the end, a replay of the journal gives exactly the
// live feed's messages.
func TestBookFromFeedEqualsMatchersAtEveryStep(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		stp := []matcher.STPMode{matcher.STPCancelResting, matcher.STPCancelIncoming, matcher.STPCancelBoth, matcher.STPDecrement}[seed%4]
		t.Run(fmt.Sprintf("seed_%d_stp_%d", seed, stp), func(t *testing.T) { followStream(t, seed, stp) })
	}
}

func followStream(t *testing.T, seed uint64, stp matcher.STPMode) {
	const steps, joinAt, gapFrom, gapTo = 1500, 400, 700, 760
	x := newExchange(t, seed, stp)
	retain := 1 << 12
	if seed%2 == 1 {
		retain = 32 // the gap is older than the service keeps: it replays the journal
	}
	addr := x.startServer(retain, nil)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := &Receiver{Book: NewBook(), Rec: c}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	if first.Next() != 1 {
		t.Fatalf("snapshot of an empty journal resumes at seq %d, want 1", first.Next())
	}
	late := &Receiver{Book: NewBook(), Rec: c}
	bySnap := &Receiver{Book: NewBook(), Rec: c, SnapshotOver: 10} // recovers the gap by a new snapshot
	for step := 1; step <= steps; step++ {
		msgs := x.submit(x.randomCommand())
		if step == joinAt {
			if err := late.Start(); err != nil {
				t.Fatal(err)
			}
			if err := bySnap.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range msgs {
			for range 1 + step%2 { // every other step twice: duplicates are ignored
				if err := first.Message(&msgs[i]); err != nil {
					t.Fatalf("seq %d: %v", x.seq, err)
				}
			}
			if step > joinAt && (step < gapFrom || step >= gapTo) {
				if err := late.Message(&msgs[i]); err != nil {
					t.Fatalf("seq %d: late receiver: %v", x.seq, err)
				}
				if err := bySnap.Message(&msgs[i]); err != nil {
					t.Fatalf("seq %d: receiver recovering by snapshot: %v", x.seq, err)
				}
			}
		}
		x.sameBooks(first.Book, "the first receiver")
		if step >= joinAt && (step < gapFrom || (step >= gapTo && late.Next() == first.Next())) {
			x.sameBooks(late.Book, "the late receiver")
			x.sameBooks(bySnap.Book, "the receiver recovering by snapshot")
		}
	}
	if late.Gaps != 1 || late.Recovered == 0 || late.Next() != first.Next() {
		t.Fatalf("late receiver: %d gaps, %d messages recovered, at seq %d; want 1 gap recovered, at seq %d",
			late.Gaps, late.Recovered, late.Next(), first.Next())
	}
	if bySnap.Snapshots != 2 || bySnap.Next() != first.Next() {
		t.Fatalf("receiver recovering by snapshot: %d snapshots, at seq %d; want 2, at seq %d", bySnap.Snapshots, bySnap.Next(), first.Next())
	}
	if first.Gaps != 0 {
		t.Fatalf("first receiver saw %d gaps", first.Gaps)
	}
	replayEqualsLive(t, x)
	seen := map[Type]int{}
	for i := range x.live {
		seen[x.live[i].Type]++
	}
	for _, typ := range []Type{TypeSystem, TypeAdd, TypeExecuted, TypeReduce, TypeDelete, TypeReplace, TypeTrade} {
		if seen[typ] == 0 {
			t.Errorf("the stream has no %c message: the test does not cover it", typ)
		}
	}
	t.Logf("%d commands, %d messages, %d resting at the end, %d recovered", x.seq, len(x.live), first.Book.Len(), late.Recovered)
}

// replayEqualsLive checks that replaying the journal gives the live feed's
// messages exactly.
func replayEqualsLive(t *testing.T, x *exchange) {
	t.Helper()
	r, err := NewReplayer(x.dir, JournalStart(x.cfg, 2))
	if err != nil {
		t.Fatal(err)
	}
	var got []Message
	if err := r.Advance(func(msgs []Message, _ matcher.Partitions) bool {
		got = append(got, msgs...)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(x.live) {
		t.Fatalf("replay gave %d messages, the live feed %d", len(got), len(x.live))
	}
	for i := range got {
		if got[i] != x.live[i] {
			t.Fatalf("message %d: replay %+v, live %+v", i, got[i], x.live[i])
		}
	}
}
