package replica

import (
	"net"
	"testing"
)

// helloAsStandby connects to the primary at addr as a nameless standby at
// seq last and reads its welcome.
func helloAsStandby(t *testing.T, addr string, last int64) net.Conn {
	t.Helper()
	c, typ := helloNamed(t, addr, "", last)
	if typ != typeWelcome {
		t.Fatalf("hello answered with frame type %d, want welcome", typ)
	}
	return c
}

// TestReplacingConnectionStartsNotCaughtUp: a standby connection that
// replaces one that had caught up has acknowledged nothing; it is not
// caught up, and its acked seq is its own, until it acks.
func TestReplacingConnectionStartsNotCaughtUp(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	last := p.batch(10)
	c1 := helloAsStandby(t, p.s.Addr().String(), 0)
	var fw frameWriter
	fw.begin(typeAck, p.hist.Current())
	fw.u64(uint64(last))
	c1.Write(fw.finish())
	waitFor(t, "the first standby caught up", func() bool { return p.s.Stats().CaughtUp })

	helloAsStandby(t, p.s.Addr().String(), 0) // a standby at seq 0
	waitFor(t, "the second connection served", func() bool {
		st := p.s.Stats()
		return st.Connections >= 2 && st.Connected
	})
	if st := p.s.Stats(); st.CaughtUp || st.Acked != 0 {
		t.Fatalf("the replacing standby (at seq 0, nothing acked) shows %+v", st)
	}
}

// TestStandbyHoldingEverythingIsCaughtUpAtOnce: a standby that reconnects
// already holding every record shipped (the old primary restarted as the
// standby of the one promoted) has nothing to acknowledge; it counts as
// caught up (the primary in sync) as soon as its hello is taken, not only
// after the next record's acknowledgement, which may be a day away.
func TestStandbyHoldingEverythingIsCaughtUpAtOnce(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	last := p.batch(8)
	sbDir := t.TempDir()
	sb := startStandby(t, sbDir, p.s.Addr().String())
	waitFor(t, "the standby caught up", func() bool { st := p.s.Stats(); return st.CaughtUp && st.Acked == last })
	sb.stop()
	waitFor(t, "the standby gone", func() bool { return !p.s.Stats().Connected })

	sb = startStandby(t, sbDir, p.s.Addr().String()) // holds 1..8: nothing to send it
	defer sb.stop()
	waitFor(t, "the standby connected again", func() bool { return p.s.Stats().Connections == 2 && p.s.Stats().Connected })
	if st := p.s.Stats(); !st.CaughtUp || st.Acked != last {
		t.Fatalf("a standby holding every record shipped (seq %d) reconnected: %+v, want caught up at once", last, st)
	}
}
