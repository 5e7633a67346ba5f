package replica

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// helloNamed connects to the primary at addr as the standby name at seq
// last, reads its first answer and returns the connection and the
// answer's frame type. It never reads again: a standby that stops reading
// (a slow disk, a stuck process) as the primary sees one.
func helloNamed(t *testing.T, addr, name string, last int64) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var fw frameWriter
	fw.begin(typeHello, 0)
	fw.u64(uint64(last))
	fw.history(nil)
	fw.buf = append(fw.buf, name...)
	if _, err := c.Write(fw.finish()); err != nil {
		t.Fatal(err)
	}
	typ, _, _ := rawFrame(t, c)
	return c, typ
}

// standbyStats is the primary's line for the standby name.
func standbyStats(s *Sender, name string) (StandbyStats, bool) {
	for _, sb := range s.Stats().Standbys {
		if sb.Name == name {
			return sb, true
		}
	}
	return StandbyStats{}, false
}

// TestThreeStandbysFollowAtOnce: three standbys, each a real Receiver
// with its own journal, follow one primary at once, one of them joining
// late (it catches up from the journal while the others stream live);
// each journal ends a copy of the primary's, each applies every record
// once, and the primary lists each by name with its acknowledged seq.
func TestThreeStandbysFollowAtOnce(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	addr := p.s.Addr().String()
	a := startNamedStandby(t, t.TempDir(), addr, "a", nil)
	b := startNamedStandby(t, t.TempDir(), addr, "b", nil)
	p.s.SetSync([]string{"a", "b"})
	timer := time.NewTimer(time.Hour)
	var c *standby
	for i := range 100 {
		last := p.batch(1 + i%13)
		if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
			t.Fatalf("await %d with sync set {a, b}: %v %v", last, ok, err)
		}
		if a.j.LastSeq() < last || b.j.LastSeq() < last {
			t.Fatalf("seq %d acknowledged under sync set {a, b}, but a holds %d and b %d", last, a.j.LastSeq(), b.j.LastSeq())
		}
		if i == 40 {
			c = startNamedStandby(t, t.TempDir(), addr, "c", nil)
		}
	}
	last := p.next - 1
	waitFor(t, "three standbys hold everything", func() bool {
		st := p.s.Stats()
		n := 0
		for _, sb := range st.Standbys {
			if sb.Ready && sb.Acked == last && sb.CaughtUp {
				n++
			}
		}
		return n == 3
	})
	for _, sb := range p.s.Stats().Standbys {
		if sb.Name != "a" && sb.Name != "b" && sb.Name != "c" {
			t.Errorf("standby listed as %+v", sb)
		}
	}
	if st := p.s.Stats(); !st.CaughtUp || st.Acked != last {
		t.Errorf("stats %+v: want the sync set caught up at %d", st, last)
	}
	for _, sb := range []*standby{a, b, c} {
		sb.stop()
		sb.checkApplied(1, last)
		sameJournals(t, filepath.Join(p.dir, "journal"), filepath.Join(sb.dir, "journal"))
	}
}

// TestSlowStandbyDoesNotSlowTheOthers: a standby that never reads after
// its welcome (once the socket buffers fill, the primary's writer to it
// blocks) holds back neither the stream to a second standby nor, outside
// the sync set, an acknowledgement; inside the sync set, it holds back the
// records it lacks.
func TestSlowStandbyDoesNotSlowTheOthers(t *testing.T) {
	// The slow standby never reads nor answers: a silence timeout far
	// beyond the test's length keeps it listed however slow the machine.
	p := newPrimaryWith(t, t.TempDir(), 0, 1<<16, 0, func(o *SenderOptions) { o.TimeoutMs = 120_000 })
	addr := p.s.Addr().String()
	p.batch(1) // the slow standby lacks a record from its hello on: not caught up
	if _, typ := helloNamed(t, addr, "slow", 0); typ != typeWelcome {
		t.Fatalf("the slow standby's hello answered with frame type %d, want welcome", typ)
	}
	fast := startNamedStandby(t, t.TempDir(), addr, "fast", nil)
	p.s.SetSync([]string{"fast"})
	timer := time.NewTimer(time.Hour)
	// Records of ~45 bytes: 60000 of them are over 2.5 MB, more than
	// the loopback socket buffers hold for a reader that never reads.
	for range 600 {
		last := p.batch(100)
		if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
			t.Fatalf("await %d with sync set {fast}: %v %v", last, ok, err)
		}
	}
	last := p.next - 1
	waitFor(t, "fast applies everything", func() bool { return fast.r.applied.Load() == last })
	slow, ok := standbyStats(p.s, "slow")
	if !ok || slow.Acked != 0 || slow.CaughtUp {
		t.Fatalf("the slow standby shows %+v (listed %v): want listed, nothing acknowledged", slow, ok)
	}
	p.s.SetSync([]string{"fast", "slow"})
	last = p.batch(1)
	if ok, _ := p.s.Await(last, 50*time.Millisecond, timer); ok {
		t.Fatalf("seq %d acknowledged with the slow standby, which holds nothing, in the sync set", last)
	}
	fast.stop()
	fast.checkApplied(1, last)
}

// TestStandbyLeavingDisturbsNoOther: one of two standbys stops; the other
// keeps following and acknowledging, and the one that left is no longer
// listed. It comes back and catches up beside it.
func TestStandbyLeavingDisturbsNoOther(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	addr := p.s.Addr().String()
	aDir, bDir := t.TempDir(), t.TempDir()
	a := startNamedStandby(t, aDir, addr, "a", nil)
	b := startNamedStandby(t, bDir, addr, "b", nil)
	timer := time.NewTimer(time.Hour)
	p.s.SetSync([]string{"a", "b"})
	for range 20 {
		if ok, err := p.s.Await(p.batch(7), 0, timer); !ok || err != nil {
			t.Fatalf("await: %v %v", ok, err)
		}
	}
	b.stop()
	waitFor(t, "b no longer listed", func() bool { _, ok := standbyStats(p.s, "b"); return !ok })
	p.s.SetSync([]string{"a"}) // as the leader does once b stops acknowledging
	for range 20 {
		if ok, err := p.s.Await(p.batch(7), 0, timer); !ok || err != nil {
			t.Fatalf("await with a alone in the sync set: %v %v", ok, err)
		}
	}
	last := p.next - 1
	if st, _ := standbyStats(p.s, "a"); st.Acked != last {
		t.Fatalf("a shows %+v, want acknowledged %d", st, last)
	}
	b = startNamedStandby(t, bDir, addr, "b", nil)
	waitFor(t, "b back and caught up", func() bool { st, ok := standbyStats(p.s, "b"); return ok && st.CaughtUp && st.Acked == last })
	a.stop()
	b.stop()
	a.checkApplied(1, last)
	sameJournals(t, filepath.Join(p.dir, "journal"), filepath.Join(bDir, "journal"))
}

// TestMoreStandbysThanTheBoundAreRefused: with MaxStandbys connected, a
// hello of another name is refused (RefuseFull, which a standby asks
// again after); one of a name already served replaces that connection.
func TestMoreStandbysThanTheBoundAreRefused(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 64)
	addr := p.s.Addr().String()
	for i := range MaxStandbys {
		if _, typ := helloNamed(t, addr, fmt.Sprintf("s%d", i), 0); typ != typeWelcome {
			t.Fatalf("standby %d answered with frame type %d, want welcome", i, typ)
		}
	}
	waitFor(t, "all served", func() bool { return len(p.s.Stats().Standbys) == MaxStandbys })
	c, typ := helloNamed(t, addr, "one-more", 0)
	if typ != typeRefuse {
		t.Fatalf("standby %d answered with frame type %d, want refuse", MaxStandbys+1, typ)
	}
	c.Close()
	if RefuseFull.Final() {
		t.Error("RefuseFull is final: a refused standby would never ask again")
	}
	if _, typ := helloNamed(t, addr, "s3", 0); typ != typeWelcome {
		t.Fatalf("s3 reconnecting answered with frame type %d, want welcome", typ)
	}
	waitFor(t, "still the bound", func() bool { return len(p.s.Stats().Standbys) == MaxStandbys })
}

// TestAwaitCountsTheMostAdvancedStandbyWithoutASyncSet: with no sync set
// (a pair), any one standby acknowledging is enough; an empty set needs
// none.
func TestAwaitCountsTheMostAdvancedStandbyWithoutASyncSet(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	addr := p.s.Addr().String()
	a := startNamedStandby(t, t.TempDir(), addr, "a", nil)
	helloNamed(t, addr, "stuck", 0)
	timer := time.NewTimer(time.Hour)
	last := p.batch(5)
	if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
		t.Fatalf("await with a following: %v %v", ok, err)
	}
	a.stop()
	p.s.SetSync([]string{})
	last = p.batch(5)
	if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
		t.Fatalf("await with an empty sync set: %v %v", ok, err)
	}
}

// syncSetOfS starts standby s on dir following p (at addr), makes it p's
// sync set, and returns once s has acknowledged a batch of 10: s, the
// batch's last seq, and the timer Await was given.
func syncSetOfS(t *testing.T, p *primary, dir, addr string) (*standby, int64, *time.Timer) {
	t.Helper()
	s := startNamedStandby(t, dir, addr, "s", nil)
	p.s.SetSync([]string{"s"})
	timer := time.NewTimer(time.Hour)
	last := p.batch(10)
	if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
		t.Fatalf("await with s following: %v %v", ok, err)
	}
	return s, last, timer
}

// TestBehindNamesSyncSetMemberBackWithLess: SenderOptions.Behind is told
// when a standby of the sync set comes back holding less than it
// acknowledged (here: an empty disk under its name), and not when it
// comes back holding everything it acknowledged, nor for a standby
// outside the set.
func TestBehindNamesSyncSetMemberBackWithLess(t *testing.T) {
	type behind struct {
		name         string
		holds, acked int64
	}
	told := make(chan behind, 4)
	p := newPrimaryWith(t, t.TempDir(), 0, 1024, 0, func(o *SenderOptions) {
		o.Behind = func(name string, holds, acked int64) { told <- behind{name, holds, acked} }
	})
	addr := p.s.Addr().String()
	dir := t.TempDir()
	s, last, _ := syncSetOfS(t, p, dir, addr)
	s.stop()
	s = startNamedStandby(t, dir, addr, "s", nil) // its own disk: it holds everything it acknowledged
	waitFor(t, "s back at seq "+fmt.Sprint(last), func() bool { sb, ok := standbyStats(p.s, "s"); return ok && sb.Ready && sb.Acked >= last })
	if _, typ := helloNamed(t, addr, "o", 0); typ != typeWelcome { // outside the set, holding nothing
		t.Fatalf("o answered with frame type %d, want welcome", typ)
	}
	waitFor(t, "o served", func() bool { sb, ok := standbyStats(p.s, "o"); return ok && sb.Ready })
	select {
	case b := <-told:
		t.Fatalf("Behind told %+v: s came back holding all it acknowledged, and o is outside the set", b)
	default:
	}
	s.stop()
	if _, typ := helloNamed(t, addr, "s", 0); typ != typeWelcome {
		t.Fatalf("s on an empty disk answered with frame type %d, want welcome", typ)
	}
	select {
	case b := <-told:
		if b != (behind{"s", 0, last}) {
			t.Fatalf("Behind told %+v, want s holding 0 having acknowledged %d", b, last)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("s came back to the sync set holding seq 0 after acknowledging seq %d: Behind was not told", last)
	}
}
