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
