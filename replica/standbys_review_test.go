package replica

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestRefusedStandbyIsAdmittedWhenOneLeaves: with MaxStandbys served, a
// real Receiver is refused (RefuseFull, not final); once one standby
// leaves it is admitted on its next try and catches up.
func TestRefusedStandbyIsAdmittedWhenOneLeaves(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 64)
	addr := p.s.Addr().String()
	var conns []net.Conn
	for i := range MaxStandbys {
		c, typ := helloNamed(t, addr, fmt.Sprintf("s%d", i), 0)
		if typ != typeWelcome {
			t.Fatalf("standby %d answered with frame type %d, want welcome", i, typ)
		}
		conns = append(conns, c)
	}
	waitFor(t, "all served", func() bool { return len(p.s.Stats().Standbys) == MaxStandbys })
	last := p.batch(5)
	ninth := startNamedStandby(t, t.TempDir(), addr, "ninth", nil)
	waitFor(t, "the ninth refused", func() bool { return ninth.logged("serves 8 standbys already") > 0 })
	if _, ok := standbyStats(p.s, "ninth"); ok {
		t.Fatal("the ninth standby is served beside 8 others")
	}
	conns[3].Close()
	waitFor(t, "the ninth admitted and caught up", func() bool {
		sb, ok := standbyStats(p.s, "ninth")
		return ok && sb.Acked == last
	})
	ninth.stop()
	ninth.checkApplied(1, last)
}

// TestSyncSetMemberBackOnEmptyDiskCountsFromWhatItHolds: a standby of the
// sync set that comes back with an empty journal under its name counts
// for Await from what it holds now, not from what its last connection
// acknowledged: a new batch waits until it holds it.
func TestSyncSetMemberBackOnEmptyDiskCountsFromWhatItHolds(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	addr := p.s.Addr().String()
	s, last, timer := syncSetOfS(t, p, t.TempDir(), addr)
	s.stop()
	c, typ := helloNamed(t, addr, "s", 0) // the same name, nothing held, never acknowledging
	if typ != typeWelcome {
		t.Fatalf("s on an empty disk answered with frame type %d, want welcome", typ)
	}
	waitFor(t, "s served again", func() bool { sb, ok := standbyStats(p.s, "s"); return ok && sb.Ready })
	next := p.batch(1)
	if ok, _ := p.s.Await(next, 300*time.Millisecond, timer); ok {
		t.Fatalf("seq %d counted as acknowledged by s, which came back holding nothing and acknowledged nothing", next)
	}
	if st := p.s.Stats(); st.Acked >= last {
		t.Errorf("the Sender counts seq %d as held by the sync set; s holds nothing now", st.Acked)
	}
	c.Close()
}
