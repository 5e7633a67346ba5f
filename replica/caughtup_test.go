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
