package fix

import (
	"crypto/tls"
	"errors"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// gate stands in for a lease guard: MayDeliver (deadline) says until
// when it lets writes through. Its zero value lets nothing through.
type gate struct{ until atomic.Int64 } // Unix nanoseconds

// Store lets everything through (true), or nothing (false).
func (g *gate) Store(allow bool) {
	if allow {
		g.until.Store(math.MaxInt64)
	} else {
		g.until.Store(0)
	}
}

// openFor lets writes through for d from now, as a guard whose deadline
// no keep-alive extends.
func (g *gate) openFor(d time.Duration) { g.until.Store(time.Now().Add(d).UnixNano()) }

func (g *gate) deadline() time.Time { return time.Unix(0, g.until.Load()) }

// heldSession logs a broker on to an acceptor whose MayDeliver says what
// allow holds (open at the start).
func heldSession(t *testing.T) (*gate, *sendApp, *client, *Session, *testAcceptor) {
	t.Helper()
	allow := new(gate)
	allow.Store(true)
	app := newSendApp()
	a := startAcceptor(t, Config{MayDeliver: allow.deadline, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	return allow, app, c, <-app.logons, a
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

// TestResetLogonReplyHeldWhileNotAllowed: a Logon with ResetSeqNumFlag=Y
// that arrives while MayDeliver says no is answered once it says yes, as
// a plain Logon is: the reply is held in the queue, in order, before the
// report sent after it, never dropped, so that no report reaches a broker
// still waiting for its Logon reply.
func TestResetLogonReplyHeldWhileNotAllowed(t *testing.T) {
	var allow gate
	app := newSendApp()
	a := startAcceptor(t, Config{MayDeliver: allow.deadline, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|141=Y|")
	s := <-app.logons
	if m, err := c.read(200 * time.Millisecond); err == nil {
		t.Fatalf("sent while not allowed: %s", printable(m.Bytes()))
	}
	var body Fields
	body.AddString(37, "O1")
	s.Send("8", &body)
	allow.Store(true)
	m, err := c.read(5 * time.Second)
	if err != nil || string(m.MsgType()) != "A" || m.SeqNum() != 1 {
		got := "nothing"
		if err == nil {
			got = printable(m.Bytes())
		}
		t.Fatalf("once allowed, the broker's first message is %s (%v); want the held Logon reply, MsgSeqNum 1", got, err)
	}
	if m := c.next(); string(m.MsgType()) != "8" || m.SeqNum() != 2 || fieldOf(m, 37) != "O1" {
		t.Fatalf("after the Logon reply: %s, want the report with MsgSeqNum 2", printable(m.Bytes()))
	}
}

// TestNoReportWrittenAfterTheGuardRunsOutDuringAStalledWrite: the writer
// is in one socket write to a broker that does not read when the guard's
// deadline passes. The write ends at the deadline, not writeTimeout (30 s)
// later: the broker, reading again only after it, gets no more than the
// socket buffers (shrunk to a few KiB) held then. What was not written
// stays queued and goes out, every report once and in order (the message
// cut in the middle finished first), when the guard is valid again; none
// counts as delivered before its bytes are acknowledged.
func TestNoReportWrittenAfterTheGuardRunsOutDuringAStalledWrite(t *testing.T) {
	allow, _, c, s, _ := heldSession(t)
	// About 520 KB, 60 times the shrunk socket buffers, and few enough to
	// cross them in seconds once the broker reads again.
	const reports = 2000
	cutWrite(t, allow, s, c.nc, reports) // the writer was stuck in conn.Write when the guard ran out
	n, next := 0, 1
	readReport := func(m *Message) {
		t.Helper()
		if string(m.MsgType()) != "8" {
			return
		}
		if got := fieldOf(m, 37); got != "O"+strconv.Itoa(next) || m.SeqNum() != next+1 {
			t.Fatalf("report %d: got %s with MsgSeqNum %d: lost or reordered", next, got, m.SeqNum())
		}
		next++
	}
	for {
		m, err := c.read(time.Second)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("broker reading after the guard ran out: %v", err)
			}
			break
		}
		readReport(m)
		n++
	}
	t.Logf("reports after the guard ran out: %d, still queued %d bytes", n, s.Queued())
	if n > 1000 { // 1000 reports: about 260 KB, some 30 times the shrunk socket buffers
		t.Fatalf("the broker got %d reports after the guard ran out", n)
	}
	if d := s.Delivered(); d != 0 {
		t.Fatalf("Delivered() = %d while the write cut short at the guard's deadline is held", d)
	}
	allow.Store(true)
	for next <= reports {
		readReport(c.next())
	}
	waitDelivered(t, c, s, "every report the broker read", reports)
}

// queueOneWrite shrinks the socket buffers on both sides to a few KiB
// (raw is the broker's TCP connection, under TLS if any) and queues
// reports marked 1..n (about 260 bytes each) for one socket write: it
// returns holding s.flushMu, so the writer takes all of them at once when
// the caller unlocks it.
func queueOneWrite(t *testing.T, s *Session, raw net.Conn, n int) {
	t.Helper()
	raw.(*net.TCPConn).SetReadBuffer(4096)
	s.mu.Lock()
	wireOf(s.conn).SetWriteBuffer(4096)
	s.mu.Unlock()
	s.flushMu.Lock() // the writer takes all of them in one write
	for i := 1; i <= n; i++ {
		var body Fields
		body.AddString(37, "O"+strconv.Itoa(i))
		body.AddString(58, strings.Repeat("x", 200))
		if err := s.SendMarked("8", nil, &body, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// heldTLSSession is heldSession over TLS: it returns the client's TLS
// config too, for a second connection.
func heldTLSSession(t *testing.T) (*gate, *sendApp, *client, *Session, *testAcceptor, *tls.Config) {
	t.Helper()
	cert := selfSigned(t)
	allow := new(gate)
	allow.Store(true)
	app := newSendApp()
	a := startAcceptor(t, Config{MayDeliver: allow.deadline, TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	clientTLS := &tls.Config{InsecureSkipVerify: true}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", clientTLS)
	c.logon("")
	return allow, app, c, <-app.logons, a, clientTLS
}

// expectCarriedOver connects the broker again over clientTLS with a reset
// Logon and checks that reports marked 1..n come over, in order,
// PossResend=Y.
func expectCarriedOver(t *testing.T, a *testAcceptor, clientTLS *tls.Config, n int) {
	t.Helper()
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", clientTLS)
	c2.logon("141=Y|")
	for i := 1; i <= n; i++ {
		m := c2.next()
		if string(m.MsgType()) != "8" || fieldOf(m, 37) != "O"+strconv.Itoa(i) || fieldOf(m, 97) != "Y" {
			t.Fatalf("carried report %d: %s", i, printable(m.Bytes()))
		}
	}
}

// cutWrite queues reports marked 1..n (about 260 bytes each) for one
// socket write to a broker that does not read, through socket buffers
// shrunk to a few KiB, and lets the guard run out while that write is
// blocked: the write is cut short at the guard's deadline. raw is the
// broker's TCP connection (under TLS, if any).
func cutWrite(t *testing.T, allow *gate, s *Session, raw net.Conn, n int) {
	t.Helper()
	queueOneWrite(t, s, raw, n)
	allow.openFor(300 * time.Millisecond)
	s.flushMu.Unlock()
	time.Sleep(600 * time.Millisecond)
}

// TestWriteCutOverTLSClosesAndCarriesEverythingOver: over TLS a write cut
// short by the guard's deadline cannot go on (a timed-out tls.Conn writes
// no more), so the connection closes; none of its reports counts as
// delivered, and a reset Logon on the next connection carries every one of
// them over, PossResend=Y.
func TestWriteCutOverTLSClosesAndCarriesEverythingOver(t *testing.T) {
	allow, app, c, s, a, clientTLS := heldTLSSession(t)
	const n = 1000
	cutWrite(t, allow, s, c.nc.(*tls.Conn).NetConn(), n)
	<-app.logouts // the cut connection closed
	if d := s.Delivered(); d != 0 {
		t.Fatalf("Delivered() = %d after the write cut short; want 0", d)
	}
	allow.Store(true)
	expectCarriedOver(t, a, clientTLS, n)
}

// TestResetLogonAfterACutWriteFinishesTheCutMessageFirst: a Logon with
// ResetSeqNumFlag=Y on the connection whose write the guard cut short in
// the middle of a message: once allowed, the broker gets the end of that
// message first, then the Logon reply (MsgSeqNum 1), then every report
// carried over, PossResend=Y; its stream never breaks.
func TestResetLogonAfterACutWriteFinishesTheCutMessageFirst(t *testing.T) {
	allow, _, c, s, _ := heldSession(t)
	const n = 1000
	cutWrite(t, allow, s, c.nc, n)
	c.seq = 1
	c.send("A", "98=0|108=30|141=Y|")
	time.Sleep(200 * time.Millisecond) // the reset is answered, and held
	allow.Store(true)
	for {
		m := c.next()
		if string(m.MsgType()) == "A" {
			if m.SeqNum() != 1 {
				t.Fatalf("the reset's reply: %s", printable(m.Bytes()))
			}
			break
		}
		if string(m.MsgType()) != "8" || fieldOf(m, 97) == "Y" {
			t.Fatalf("before the reply: %s", printable(m.Bytes()))
		}
	}
	for i := 1; i <= n; i++ {
		m := c.next()
		if string(m.MsgType()) != "8" || fieldOf(m, 37) != "O"+strconv.Itoa(i) || fieldOf(m, 97) != "Y" || m.SeqNum() != i+1 {
			t.Fatalf("carried report %d: %s", i, printable(m.Bytes()))
		}
	}
}
