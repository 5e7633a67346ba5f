package fix

import (
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the moments a connection begins and ends, where its reader, the
// session's writer and the application's Send meet. Each window was a few
// instructions wide, so the tests that hunt one run it many times against a
// sender in a tight loop.

// quietApp counts the session callbacks and ignores application messages.
type quietApp struct{ logons, logouts atomic.Int32 }

func (a *quietApp) OnLogon(*Session)           { a.logons.Add(1) }
func (a *quietApp) OnLogout(*Session)          { a.logouts.Add(1) }
func (a *quietApp) FromApp(*Session, *Message) {}

// sendUntilStopped sends reports on s from another goroutine until the test
// ends, holding back while more than a MiB waits for the socket, and
// yielding after each (with one P, GOMAXPROCS=1, it would starve the rest).
func sendUntilStopped(t *testing.T, s *Session) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var body Fields
		body.AddString(37, "O1")
		for !stop.Load() {
			s.Send("8", &body)
			if s.Queued() > 1<<20 {
				time.Sleep(100 * time.Microsecond)
			}
			runtime.Gosched()
		}
	}()
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
}

// TestResetLogonReplyIsSeqOne: with ResetOnLogon, a report the application
// sends while the broker logs on never takes MsgSeqNum 1 ahead of the Logon
// reply (the reset and the reply are one step).
func TestResetLogonReplyIsSeqOne(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", ResetOnLogon: true}}}, &quietApp{})
	s := a.Session("FIX.4.4", "TW")
	sendUntilStopped(t, s)
	for i := 1; i <= 50; i++ {
		c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		if m := c.logon(""); m.SeqNum() != 1 {
			t.Fatalf("logon %d: the reply to a reset Logon has MsgSeqNum %d, want 1", i, m.SeqNum())
		}
		// Read what the reset carried over (the reports sent while away),
		// or the next logon carries it again, and the next.
		c.send("1", "112=drained|")
		for m := c.next(); string(m.MsgType()) != "0" || fieldOf(m, tagTestReqID) != "drained"; m = c.next() {
		}
		c.nc.Close()
		waitFor(t, "the reader to see the close", func() bool { return !s.LoggedOn() })
	}
}

// TestInSessionResetReplyComesFirst: a Logon with ResetSeqNumFlag while
// logged on is answered by a Logon with MsgSeqNum 1, and no report with
// MsgSeqNum 1 reaches the broker before that reply.
func TestInSessionResetReplyComesFirst(t *testing.T) {
	a := startAcceptor(t, Config{OutQueueMaxBytes: 256 << 20, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, &quietApp{})
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	sendUntilStopped(t, a.Session("FIX.4.4", "TW"))
	for i := 1; i <= 200; i++ {
		c.seq = 1
		c.send("A", "98=0|108=30|141=Y|")
		for {
			m := c.next()
			if string(m.MsgType()) == "A" {
				if m.SeqNum() != 1 {
					t.Fatalf("reset %d: Logon reply MsgSeqNum %d, want 1", i, m.SeqNum())
				}
				break
			}
			if m.SeqNum() == 1 {
				t.Fatalf("reset %d: %s with MsgSeqNum 1 came before the Logon reply", i, m.MsgType())
			}
		}
	}
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// holdApp holds its first application message inside FromApp until
// released, and records the order of the session callbacks.
type holdApp struct {
	mu      sync.Mutex
	events  []string // "logon", "logout", "app <seq>"
	entered chan struct{}
	release chan struct{}
	held    atomic.Bool
	once    sync.Once
}

func (a *holdApp) let() { a.once.Do(func() { close(a.release) }) }

func (a *holdApp) note(e string) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
}

func (a *holdApp) OnLogon(*Session)  { a.note("logon") }
func (a *holdApp) OnLogout(*Session) { a.note("logout") }
func (a *holdApp) FromApp(s *Session, m *Message) {
	a.note("app " + strconv.Itoa(m.SeqNum()))
	if a.held.CompareAndSwap(false, true) {
		close(a.entered)
		<-a.release
	}
}

func (a *holdApp) seen() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.events, ", ")
}

// TestSlowConsumerWaitsForItsReader: a connection dropped as a slow
// consumer while its reader is still inside FromApp keeps the session
// until that reader is done. The broker's next connection is answered only
// then; it starts from the sequence number the old reader persisted, so
// nothing is asked again or handed to FromApp twice; and the old
// connection's OnLogout comes before the new one's OnLogon.
func TestSlowConsumerWaitsForItsReader(t *testing.T) {
	a, app := dropWhileHeld(t)
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 3
	c2.send("A", "98=0|108=30|")
	if m, err := c2.read(300 * time.Millisecond); err == nil {
		t.Fatalf("answered %s while the dropped connection's reader is inside FromApp", printable(m.Bytes()))
	}
	app.let()
	m := c2.next()
	if string(m.MsgType()) != "A" {
		t.Fatalf("second connection's Logon answered with %s", printable(m.Bytes()))
	}
	c2.send("1", "112=T1|") // a TestRequest: its Heartbeat shows the session is live
	for {
		m := c2.next()
		if string(m.MsgType()) == "2" {
			t.Fatalf("the new connection was asked to resend: %s", printable(m.Bytes()))
		}
		if string(m.MsgType()) == "0" {
			break
		}
	}
	if got, want := app.seen(), "logon, app 2, logout, logon"; got != want {
		t.Fatalf("callbacks: %s, want %s", got, want)
	}
}

// dropWhileHeld logs a broker on, holds its reader inside FromApp (its
// MsgSeqNum 2) and drops its connection as a slow consumer meanwhile.
func dropWhileHeld(t *testing.T) (*testAcceptor, *holdApp) {
	t.Helper()
	app := &holdApp{entered: make(chan struct{}), release: make(chan struct{})}
	a := startAcceptor(t, Config{OutQueueMaxBytes: 64 << 10, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	t.Cleanup(app.let) // a failed test does not leave the reader held (Stop would wait for it)
	s := a.Session("FIX.4.4", "TW")
	c1 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c1.logon("")
	c1.send("D", nos)
	<-app.entered
	var body Fields
	body.AddString(58, strings.Repeat("x", 1000))
	waitFor(t, "a slow-consumer drop", func() bool { // c1 reads nothing
		for range 100 {
			s.Send("8", &body)
		}
		return !s.LoggedOn()
	})
	return a, app
}

// TestStopRefusesAWaitingReconnect: a broker whose reconnect waits for its
// dropped connection's reader is not logged on once Stop has begun (it
// may get the Logout that refuses it).
func TestStopRefusesAWaitingReconnect(t *testing.T) {
	a, app := dropWhileHeld(t)
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 3
	c2.send("A", "98=0|108=30|")
	time.Sleep(100 * time.Millisecond) // its reader is waiting in attach (or about to)
	stopped := make(chan struct{})
	go func() { a.Stop(); close(stopped) }()
	waitFor(t, "Stop to begin", a.isStopping)
	app.let()
	<-stopped
	if m, err := c2.read(5 * time.Second); err == nil && string(m.MsgType()) != "5" {
		t.Fatalf("the waiting connection got %s after Stop began, want its refusal (Logout) or nothing", printable(m.Bytes()))
	}
	if got, want := app.seen(), "logon, app 2, logout"; got != want {
		t.Fatalf("callbacks: %s, want %s", got, want)
	}
}

// TestNothingAfterOurLogoutIsSentOrDelivered: once the exchange has queued
// its Logout, what the application sends is stored, not written after the
// Logout (the broker's engine would drop it while its TCP stack
// acknowledged it, so it would count as delivered); the broker gets it by
// resend on its next connection.
func TestNothingAfterOurLogoutIsSentOrDelivered(t *testing.T) {
	a, app, c, s := loggedOn(t, 0, 0)
	var body Fields
	body.AddString(37, "O1")
	s.Logout("closing for the day")
	if s.LoggedOn() {
		t.Fatal("LoggedOn after Logout was queued")
	}
	s.SendMarked("8", nil, &body, 7)
	if m := c.next(); string(m.MsgType()) != "5" {
		t.Fatalf("got %s, want the Logout", printable(m.Bytes()))
	}
	c.expectClosed()
	<-app.logouts
	if got := s.Delivered(); got != 0 {
		t.Fatalf("Delivered %d: a report sent after the Logout counted as delivered", got)
	}

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	c2.logon("")
	c2.send("2", "7=2|16=0|")
	for {
		m := c2.next()
		if string(m.MsgType()) == "8" {
			if !m.PossDup() || fieldOf(m, 37) != "O1" {
				t.Fatalf("resent report: %s", printable(m.Bytes()))
			}
			break
		}
	}
}

// TestLongResendDoesNotHoldSend: a broker that asks for a resend larger
// than its socket can take and then stops reading does not make the
// application's Send wait for it (the writer streams a long resend a piece
// at a time, stream.go); everything arrives once it reads again, the new
// report after the whole resend.
func TestLongResendDoesNotHoldSend(t *testing.T) {
	s, c2 := longResendWaiting(t)
	sent := make(chan struct{})
	go func() {
		var last Fields
		last.AddString(37, "LAST")
		s.Send("8", &last)
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(10 * time.Second): // the socket's write timeout is 30 s
		t.Fatal("Send waited on a resend to a broker that does not read")
	}
	resent := 10 // read by longResendWaiting
	for {
		m := c2.next()
		if string(m.MsgType()) != "8" {
			continue
		}
		if fieldOf(m, 37) == "LAST" {
			break
		}
		if resent++; !m.PossDup() || m.SeqNum() != resent+1 {
			t.Fatalf("resent report %d: MsgSeqNum %d, PossDupFlag %q", resent, m.SeqNum(), fieldOf(m, 43))
		}
	}
	if resent != 6000 {
		t.Fatalf("the new report came after %d of the 6000 resent", resent)
	}
}

// longResendWaiting stores 24 MiB of reports for a broker while it is
// away; on its next connection (a small receive window) it asks for all of
// them, reads the first few and then nothing, so that the resend waits on
// its socket.
func longResendWaiting(t *testing.T) (*Session, *client) {
	t.Helper()
	a, app, c, s := loggedOn(t, 0, 0)
	c.nc.Close()
	<-app.logouts
	var body Fields
	body.AddString(58, strings.Repeat("x", 4000))
	for range 6000 {
		s.Send("8", &body)
	}
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	c2.seq = 2
	c2.logon("")
	<-app.logons
	c2.send("2", "7=1|16=0|")
	for resent := 0; resent < 10; {
		if m := c2.next(); string(m.MsgType()) == "8" {
			resent++
		}
	}
	time.Sleep(200 * time.Millisecond) // for it to fill the socket and wait on the write
	return s, c2
}

// TestLogoutEndsALongResend: our Logout, queued while a long resend waits
// on the broker's socket, is the last thing the broker gets: the rest of
// the resend does not follow it.
func TestLogoutEndsALongResend(t *testing.T) {
	s, c2 := longResendWaiting(t)
	s.Logout("closing")
	sawLogout := false
	for {
		m, err := c2.read(30 * time.Second)
		if err != nil {
			break // closed after the Logout
		}
		if sawLogout {
			t.Fatalf("MsgType %s, MsgSeqNum %d after our Logout", m.MsgType(), m.SeqNum())
		}
		sawLogout = string(m.MsgType()) == "5"
	}
	if !sawLogout {
		t.Fatal("the connection closed without our Logout")
	}
}

// TestStopDoesNotWaitOnABrokerThatDoesNotRead: Stop sends every session's
// Logout at once and closes the connections after stopWriteTimeout, so a
// broker whose socket is full does not hold it for the 30 s write timeout.
func TestStopDoesNotWaitOnABrokerThatDoesNotRead(t *testing.T) {
	a, _, _, s := loggedOn(t, 256<<20, 64<<10)
	var body Fields
	body.AddString(58, strings.Repeat("x", 4000))
	waitFor(t, "the writer to wait on the broker's socket", func() bool {
		for range 100 {
			s.Send("8", &body)
		}
		return s.Queued() > 4<<20 // the socket takes no more: the writer is in its write
	})
	start := time.Now()
	a.Stop()
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("Stop took %v with one broker not reading", took)
	}
}
