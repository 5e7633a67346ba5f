package fix

import (
	"sync/atomic"
	"testing"
	"time"
)

// heldSession logs a broker on to an acceptor whose MayDeliver says what
// allow holds (true at the start).
func heldSession(t *testing.T) (*atomic.Bool, *sendApp, *client, *Session, *testAcceptor) {
	t.Helper()
	var allow atomic.Bool
	allow.Store(true)
	app := newSendApp()
	a := startAcceptor(t, Config{MayDeliver: allow.Load, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	return &allow, app, c, <-app.logons, a
}

// TestReportHeldWhileNotAllowed: a report queued while MayDeliver says
// no (a leader whose lease may have run out) stays in the session's queue,
// not on the wire, and goes out, once, in order, when it says yes again.
func TestReportHeldWhileNotAllowed(t *testing.T) {
	allow, _, c, s, _ := heldSession(t)
	allow.Store(false)
	var body Fields
	body.AddString(37, "O1")
	if err := s.Send("8", &body); err != nil {
		t.Fatal(err)
	}
	if m, err := c.read(300 * time.Millisecond); err == nil {
		t.Fatalf("a report reached the broker while not allowed: %s", printable(m.Bytes()))
	}
	if s.Queued() == 0 {
		t.Fatal("the held report is not in the session's queue")
	}
	allow.Store(true)
	m := c.next()
	if string(m.MsgType()) != "8" || m.SeqNum() != 2 || fieldOf(m, 37) != "O1" {
		t.Fatalf("after allowing: %s, want the report with MsgSeqNum 2", printable(m.Bytes()))
	}
}

// TestLogoutGoesOutWhileReportsAreHeld: our Logout reaches the broker while
// MayDeliver says no, the reports queued before it do not; they stay
// stored and come by resend on the next logon.
func TestLogoutGoesOutWhileReportsAreHeld(t *testing.T) {
	allow, app, c, s, a := heldSession(t)
	allow.Store(false)
	var body Fields
	body.AddString(37, "O1")
	if err := s.Send("8", &body); err != nil {
		t.Fatal(err)
	}
	s.Logout("lease lost")
	c.expectLogoutThenClose("lease lost")
	<-app.logouts
	allow.Store(true)
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	c2.logon("")
	c2.send("2", "7=2|16=2|")
	if m := c2.next(); string(m.MsgType()) != "8" || m.SeqNum() != 2 || !m.PossDup() || fieldOf(m, 37) != "O1" {
		t.Fatalf("resent report: %s", printable(m.Bytes()))
	}
}

// TestReportQueuedUnderAValidGuardHeldAfterAFreeze: the gap MayDeliver
// closes. A report is queued while the guard is valid (the publish stage
// checked it), the writer is frozen before its socket write (here: held
// off its flush lock) and the guard runs out meanwhile; when the writer
// runs, the report stays queued, and it goes out once the guard is valid
// again.
func TestReportQueuedUnderAValidGuardHeldAfterAFreeze(t *testing.T) {
	allow, _, c, s, _ := heldSession(t)
	var body Fields
	body.AddString(37, "O1")
	s.flushMu.Lock() // the writer freezes between the check and the write
	if err := s.Send("8", &body); err != nil {
		t.Fatal(err)
	}
	allow.Store(false) // the lease guard runs out during the freeze
	s.flushMu.Unlock()
	if m, err := c.read(300 * time.Millisecond); err == nil {
		t.Fatalf("a report reached the broker after the guard ran out: %s", printable(m.Bytes()))
	}
	if s.Queued() == 0 {
		t.Fatal("the report is not held in the session's queue")
	}
	allow.Store(true)
	if m := c.next(); string(m.MsgType()) != "8" || fieldOf(m, 37) != "O1" {
		t.Fatalf("after the guard is valid again: %s, want the report", printable(m.Bytes()))
	}
}
