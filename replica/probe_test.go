package replica

import (
	"net"
	"testing"
	"time"
)

// TestProbeAnswersWithoutDisturbingTheStandby: a primary in sync with its
// standby is probed, and held a connection that never says anything; the
// probe learns the primary's epoch, history and last shipped seq, and the
// standby stays connected: no reconnection, acknowledgements go on.
func TestProbeAnswersWithoutDisturbingTheStandby(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	sb := startStandby(t, t.TempDir(), p.s.Addr().String())
	timer := time.NewTimer(time.Hour)
	await := func() {
		t.Helper()
		last := p.batch(5)
		if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
			t.Fatalf("await %d: %v %v", last, ok, err)
		}
	}
	await()
	silent, err := net.Dial("tcp", p.s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	before := p.s.Stats()
	got, err := Probe(p.s.Addr().String(), 0, waitLong)
	if err != nil {
		t.Fatal(err)
	}
	want := p.hist.Entries()
	if !got.Primary || got.Epoch != p.hist.Current() || got.Shipped != before.Shipped || len(got.History) != len(want) || got.History[0] != want[0] {
		t.Fatalf("probe: %+v, want primary at epoch %d, shipped %d, history %v", got, p.hist.Current(), before.Shipped, want)
	}
	for range 10 {
		await()
	}
	after := p.s.Stats()
	if after.Connections != before.Connections || !after.Connected || !after.CaughtUp {
		t.Fatalf("standby disturbed by the probe: before %+v, after %+v", before, after)
	}
	sb.stop()
}

// TestProbeFindsNoPrimary: a refused connection is no primary, without an
// error; a port that accepts and never answers is an error, not a primary.
func TestProbeFindsNoPrimary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if got, err := Probe(addr, 1, waitLong); err != nil || got.Primary {
		t.Fatalf("nothing listening: %+v %v, want no primary and no error", got, err)
	}

	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	if got, err := Probe(mute.Addr().String(), 1, 200*time.Millisecond); err == nil || got.Primary {
		t.Fatalf("mute listener: %+v %v, want an error", got, err)
	}
}

// TestProbeOlderThan: a probed primary whose history lacks an epoch the
// prober knows is the stale one.
func TestProbeOlderThan(t *testing.T) {
	cases := []struct {
		name    string
		primary []Epoch
		ours    []Epoch
		older   bool
	}{
		{"successor_after_failover", []Epoch{{1, 1, 7}, {2, 41, 8}}, []Epoch{{1, 1, 7}}, false},
		{"same_term", []Epoch{{1, 1, 7}}, []Epoch{{1, 1, 7}}, false},
		{"fresh_prober", []Epoch{{1, 1, 7}}, nil, false},
		{"primary_missed_a_failover", []Epoch{{1, 1, 7}}, []Epoch{{1, 1, 7}, {2, 41, 8}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := (PeerState{Primary: true, History: tc.primary}).OlderThan(tc.ours); got != tc.older {
				t.Fatalf("OlderThan = %v, want %v", got, tc.older)
			}
		})
	}
}

// TestProbeTellsWhatThePrimaryPublished: the answer carries the last seq the
// primary's publish stage passed; an answer from a ringex that predates the
// field (it ends after the history) reads as unknown.
func TestProbeTellsWhatThePrimaryPublished(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	p.pub.Store(3)
	got, err := Probe(p.s.Addr().String(), 0, waitLong)
	if err != nil || got.Published != 3 {
		t.Fatalf("probe: %+v %v, want published 3", got, err)
	}

	old, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	go func() {
		c, err := old.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := newFrameReader(c).next(); err != nil {
			return
		}
		var fw frameWriter
		fw.begin(typeAnswer, 2)
		fw.u64(40)
		fw.history([]Epoch{{1, 1, 7}, {2, 41, 8}})
		c.Write(fw.finish())
	}()
	got, err = Probe(old.Addr().String(), 1, waitLong)
	if err != nil || !got.Primary || got.Shipped != 40 || len(got.History) != 2 || got.Published != PublishedUnknown {
		t.Fatalf("old answer: %+v %v, want primary, shipped 40, history of 2, published unknown", got, err)
	}
}

// TestStepsDown: two primaries each probe the other and decide on the
// other's answer. Whatever their states, at most one steps down, and never
// one that acknowledged a record the other lacks.
func TestStepsDown(t *testing.T) {
	shared := Epoch{1, 1, 7} // the pair's term before the failover: seqs 1..40
	primary := func(published int64, h ...Epoch) PeerState {
		h = append([]Epoch{shared}, h...)
		return PeerState{Primary: true, Epoch: h[len(h)-1].Epoch, Published: published, History: h}
	}
	restarted := Epoch{2, 41, 0x10} // the old primary, back as primary: epoch 2 from seq 41
	promoted := Epoch{2, 41, 0x20}  // its standby, promoted: also epoch 2 from seq 41
	cases := []struct {
		name         string
		a, b         PeerState
		aDown, bDown bool
		split        bool
	}{
		{"neither_acked_lower_term_yields", primary(40, restarted), primary(40, promoted), true, false, false},
		{"neither_acked_higher_epoch_number_wins_over_term", primary(40, restarted), primary(44, Epoch{3, 45, 0x01}), true, false, false},
		{"other_acked_unacked_yields", primary(40, restarted), primary(41, promoted), true, false, false},
		{"acked_one_stays_although_it_ranks_lower", primary(40, Epoch{2, 41, 0x30}), primary(41, promoted), true, false, false},
		{"sync_old_primary_yields_to_its_successor", primary(40), primary(45, promoted), true, false, false},
		{"async_old_primary_acked_alone_split_brain", primary(50), primary(45, promoted), false, false, true},
		{"both_acked_in_their_epochs_split_brain", primary(50, restarted), primary(43, promoted), false, false, true},
		// Its seqs 21..28 of epoch 1, journaled but never acknowledged (no
		// standby had them), are not the successor's, whose epoch began at 21.
		{"restarted_primary_yields_although_the_peer_lacks_its_earlier_records", primary(28, Epoch{2, 29, 0x30}), primary(21, Epoch{2, 21, 0x20}), true, false, false},
		{"old_answer_counts_as_acked", primary(40, restarted), primary(PublishedUnknown, promoted), true, false, false},
		{"peer_without_history_is_not_followed", primary(40, restarted), PeerState{Primary: true, Epoch: 2}, false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := StepsDown(tc.a, tc.b); got != tc.aDown {
				t.Errorf("A steps down = %v, want %v", got, tc.aDown)
			}
			if got := StepsDown(tc.b, tc.a); got != tc.bDown {
				t.Errorf("B steps down = %v, want %v", got, tc.bDown)
			}
			if got := SplitBrain(tc.a, tc.b); got != tc.split {
				t.Errorf("SplitBrain = %v, want %v", got, tc.split)
			}
		})
	}
}
