package fix

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDeliveredFollowsTheCounterpartysAcks: a mark is delivered when the
// counterparty's TCP stack has acknowledged its message, not when it was
// written to the socket. A broker that does not read holds Delivered below
// the last mark although every write has returned; once it reads
// everything, Delivered reaches the last mark. Plain TCP and TLS (whose
// records make the bytes on the wire differ from the messages').
func TestDeliveredFollowsTheCounterpartysAcks(t *testing.T) {
	cert := selfSigned(t)
	for _, tc := range []struct {
		name           string
		server, client *tls.Config
	}{
		{"tcp", nil, nil},
		{"tls", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, &tls.Config{InsecureSkipVerify: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newSendApp()
			a := startAcceptor(t, Config{TLS: tc.server, OutQueueMaxBytes: 64 << 20,
				Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
			c := dialClient(t, a.addr, "FIX.4.4", "TW", tc.client)
			raw := c.nc
			if tlsConn, ok := raw.(*tls.Conn); ok {
				raw = tlsConn.NetConn()
			}
			// A small receive window: what the broker's kernel can
			// acknowledge without the broker reading is far below what
			// is sent.
			raw.(*net.TCPConn).SetReadBuffer(64 << 10)
			c.logon("")
			s := <-app.logons
			if got := s.Delivered(); got != 0 {
				t.Fatalf("Delivered before any marked message: %d", got)
			}
			// A send buffer that takes everything below at once: every
			// write returns, and only the broker's acknowledgements can
			// hold the marks back.
			s.mu.Lock()
			wireOf(s.conn).SetWriteBuffer(4 << 20)
			s.mu.Unlock()

			const n = 256 // 4 KiB each: 1 MiB, over the broker's window, within the send buffer
			var body Fields
			body.AddString(58, strings.Repeat("x", 4000))
			for mark := int64(1); mark <= n; mark++ {
				if err := s.SendMarked("8", nil, &body, mark); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(200 * time.Millisecond)
			if got := s.Delivered(); got >= n {
				t.Fatalf("Delivered %d of %d while the broker has read nothing", got, n)
			}

			for got := 0; got < n; {
				if m := c.next(); string(m.MsgType()) == "8" {
					got++
				}
			}
			waitDelivered(t, c, s, "the broker read all the messages", n)
		})
	}
}

// TestDeliveredStopsAtADroppedConnection: marks written to a connection
// that drops before its broker acknowledged them are not delivered, nor
// is one sent while it is away; what a later connection acknowledges
// counts again once the broker has asked for, and acknowledged, what it
// missed.
func TestDeliveredStopsAtADroppedConnection(t *testing.T) {
	a, app, c, s := loggedOn(t, 64<<20, 64<<10)
	var body Fields
	body.AddString(58, strings.Repeat("x", 4000))
	for mark := int64(1); mark <= 2000; mark++ {
		s.SendMarked("8", nil, &body, mark)
	}
	time.Sleep(200 * time.Millisecond)
	c.nc.Close()
	<-app.logouts
	before := s.Delivered()
	if before >= 2000 {
		t.Fatalf("Delivered %d after the broker dropped without reading", before)
	}
	s.SendMarked("8", nil, &body, 3000) // queued while away: no mark
	if got := s.Delivered(); got != before {
		t.Fatalf("Delivered moved from %d to %d while nobody was connected", before, got)
	}

	c2, last := reconnectAndReport(t, a, s, &body, 3001)
	if got := s.Delivered(); got != before {
		t.Fatalf("Delivered %d, from %d, once mark 3001 was acknowledged: it passes the marks the broker has not had", got, before)
	}
	resendFrom2(c2, last)
	waitDelivered(t, c2, s, "Delivered to reach mark 3001, which the new connection's broker read", 3001)
}

// waitAcked waits until the counterparty's TCP stack has acknowledged
// everything written to s's connection, once the broker has read a
// message: the write that carried it is recorded when flushMu is free.
func waitAcked(t *testing.T, s *Session) {
	t.Helper()
	s.flushMu.Lock()
	s.flushMu.Unlock()
	waitFor(t, "the broker's TCP stack to acknowledge what was written", func() bool { return !s.delivery.awaiting() })
}

// reconnectAndReport logs the broker on again keeping its sequence
// numbers (next MsgSeqNum 2), sends the report of mark and waits until the
// broker has read it and its TCP stack has acknowledged what was written.
// It returns the client and the report's MsgSeqNum.
func reconnectAndReport(t *testing.T, a *testAcceptor, s *Session, body *Fields, mark int64) (*client, int) {
	t.Helper()
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	last := c2.logon("").SeqNum() + 1
	s.SendMarked("8", nil, body, mark)
	for {
		if m := c2.next(); m.SeqNum() == last {
			break
		}
	}
	waitAcked(t, s)
	return c2, last
}

// resendFrom2 asks for every message from MsgSeqNum 2 and reads up to the
// resent copy of MsgSeqNum last.
func resendFrom2(c2 *client, last int) {
	c2.send("2", "7=2|16=0|")
	for {
		if m := c2.next(); m.PossDup() && m.SeqNum() == last {
			break
		}
	}
}

// reportWhileAway logs a broker on, drops its connection and sends the
// report of mark 20 (MsgSeqNum 2) while it is away. body is that report's.
func reportWhileAway(t *testing.T) (*testAcceptor, *Session, Fields) {
	t.Helper()
	a, app, c, s := loggedOn(t, 0, 0)
	var body Fields
	body.AddString(37, "O1")
	c.nc.Close()
	<-app.logouts
	s.SendMarked("8", nil, &body, 20)
	return a, s, body
}

// reconnectPastTheHole logs the broker of reportWhileAway on again keeping
// its sequence numbers (Logon MsgSeqNum 3), sends the report of mark 30
// (MsgSeqNum 4) and checks that, once acknowledged, Delivered stays below
// mark 20, which the broker has not had.
func reconnectPastTheHole(t *testing.T, a *testAcceptor, s *Session, body *Fields) *client {
	t.Helper()
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	c2.logon("") // MsgSeqNum 3
	s.SendMarked("8", nil, body, 30)
	if m := c2.next(); m.SeqNum() != 4 {
		t.Fatalf("got %s, want the report of mark 30", printable(m.Bytes()))
	}
	waitAcked(t, s)
	if got := s.Delivered(); got >= 20 {
		t.Fatalf("Delivered %d before the broker had mark 20's message", got)
	}
	return c2
}

// TestDeliveredWaitsForAReportSentWhileAway: a report sent while the
// broker was logged out reaches it only by resend. The broker logs on
// again keeping its sequence numbers and acknowledges a later report
// before it asks for the earlier one: Delivered stays below the earlier
// one (a standby taking over then resends it), and reaches the later one
// once the resent copy is acknowledged.
func TestDeliveredWaitsForAReportSentWhileAway(t *testing.T) {
	a, app, c, s := loggedOn(t, 0, 0)
	var body Fields
	body.AddString(37, "O1")
	s.SendMarked("8", nil, &body, 10)
	if m := c.next(); string(m.MsgType()) != "8" {
		t.Fatalf("got %s, want the report", printable(m.Bytes()))
	}
	waitDelivered(t, c, s, "the report's mark", 10)
	c.nc.Close()
	<-app.logouts
	s.SendMarked("8", nil, &body, 20) // MsgSeqNum 4, while away (the probe took 3)

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 3 // it answered the probe with 2
	if m := c2.logon(""); m.SeqNum() != 5 {
		t.Fatalf("logon reply MsgSeqNum %d, want 5", m.SeqNum())
	}
	s.SendMarked("8", nil, &body, 30)
	if m := c2.next(); string(m.MsgType()) != "8" || m.SeqNum() != 6 {
		t.Fatalf("got %s, want the report of mark 30", printable(m.Bytes()))
	}
	waitAcked(t, s)
	if got := s.Delivered(); got < 10 || got >= 20 {
		t.Fatalf("Delivered %d: mark 30 acknowledged passes mark 20, which the broker has not had", got)
	}

	c2.send("2", "7=4|16=4|")
	if m := c2.next(); string(m.MsgType()) != "8" || m.SeqNum() != 4 || !m.PossDup() {
		t.Fatalf("got %s, want the report of mark 20 again", printable(m.Bytes()))
	}
	waitDelivered(t, c2, s, "Delivered to reach 30 once the resent report is acknowledged", 30)
}

// TestDeliveredWaitsForReportsDroppedAtASlowConsumer: a broker that stops
// reading is disconnected, and the reports queued for it are dropped from
// the socket queue (they stay in the store). Logged on again without a
// reset, it acknowledges a new report before it asks for the dropped ones:
// Delivered stays below them until the resent copies are acknowledged.
func TestDeliveredWaitsForReportsDroppedAtASlowConsumer(t *testing.T) {
	a, app, c, s := loggedOn(t, 256<<10, 16<<10)
	var body Fields
	body.AddString(58, strings.Repeat("x", 1000))
	mark := int64(0)
	for s.LoggedOn() {
		mark++
		if mark > 1_000_000 {
			t.Fatal("a broker that does not read is never disconnected")
		}
		s.SendMarked("8", nil, &body, mark)
	}
	<-app.logouts
	c.nc.Close()
	before := s.Delivered()
	if before >= mark {
		t.Fatalf("Delivered %d of %d after a slow-consumer disconnect", before, mark)
	}

	c2, last := reconnectAndReport(t, a, s, &body, mark+1)
	if got := s.Delivered(); got > before {
		t.Fatalf("Delivered %d, from %d: a new report acknowledged passes the ones dropped at the disconnect", got, before)
	}

	resendFrom2(c2, last)
	waitDelivered(t, c2, s, "Delivered to reach the last mark once the resent reports are acknowledged", mark+1)
}

// TestDeliveredAfterAResetCarriesOver: a report sent while the broker was
// away is carried over by its Logon with ResetSeqNumFlag=Y (PossResend=Y);
// once that copy and a new report are acknowledged, Delivered reaches the
// new one: the hole the away report left is filled by the carry-over.
func TestDeliveredAfterAResetCarriesOver(t *testing.T) {
	a, s, body := reportWhileAway(t)

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.logon("141=Y|")
	if m := c2.next(); string(m.MsgType()) != "8" || !m.PossResend() {
		t.Fatalf("got %s, want the report of mark 20 carried over", printable(m.Bytes()))
	}
	s.SendMarked("8", nil, &body, 30)
	if m := c2.next(); string(m.MsgType()) != "8" {
		t.Fatalf("got %s, want the report of mark 30", printable(m.Bytes()))
	}
	waitDelivered(t, c2, s, "Delivered to reach 30", 30)
}

// TestResendRequestSaysWhatTheBrokerHas: a ResendRequest asks from the
// first message the broker lacks, so it has every one before: a hole of a
// message it got while the acknowledgement could not be seen (here: its
// ResendRequest says it has MsgSeqNum 3) is filled, and Delivered moves on.
func TestResendRequestSaysWhatTheBrokerHas(t *testing.T) {
	a, s, body := reportWhileAway(t) // MsgSeqNum 2

	c2 := reconnectPastTheHole(t, a, s, &body)
	c2.send("2", "7=3|16=3|") // it has 1 and 2; asks for the Logon reply
	if m := c2.next(); string(m.MsgType()) != "4" {
		t.Fatalf("got %s, want a gap fill over the Logon reply", printable(m.Bytes()))
	}
	waitDelivered(t, c2, s, "Delivered to reach 30", 30)
}

// TestResendRequestBeyondWhatWasSentChangesNoDelivery: a ResendRequest
// whose BeginSeqNo is past every MsgSeqNum sent (a broker's bug: nothing
// lacks there) says nothing of what the broker has. It must not fill the
// hole of a report the broker never got (sent while it was away):
// Delivered stays below that report's mark, so that a standby taking over
// would resend it. Today hadBefore takes min(BeginSeqNo, next) and counts
// every MsgSeqNum sent as had.
func TestResendRequestBeyondWhatWasSentChangesNoDelivery(t *testing.T) {
	a, s, body := reportWhileAway(t) // MsgSeqNum 2: the broker never gets it

	c2 := reconnectPastTheHole(t, a, s, &body)
	c2.send("2", "7=1000|16=0|") // past everything sent
	c2.send("1", "112=probe|")   // its Heartbeat comes after the ResendRequest is handled
	for range 10 {
		m := c2.next()
		if string(m.MsgType()) == "0" && fieldOf(m, 112) == "probe" {
			break
		}
	}
	if got := s.Delivered(); got >= 20 {
		t.Fatalf("Delivered %d after a ResendRequest from MsgSeqNum 1000 (only 1..4 were sent): mark 20's report, "+
			"sent while the broker was away and never resent, now counts as delivered", got)
	}
}

// TestDeliveredMarkSurvivesARestart: the delivered mark is kept with the
// acknowledged watermark (.acked) and read back on open, so after a
// restart a session reports what its broker's TCP stack acknowledged
// before it: mark 5 (read by the broker) and not mark 6, stored while the
// broker was away. Once a reset Logon has carried the stored report over
// and the broker has read it and mark 7 after it, mark 7 is delivered; a
// restart after that reset still knows it.
func TestDeliveredMarkSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{StoreDir: dir, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	open := func() (*testAcceptor, *sendApp) {
		app := newSendApp()
		return startAcceptor(t, cfg, app), app
	}
	send := func(s *Session, mark int64) {
		var body Fields
		body.AddString(37, fmt.Sprintf("O%d", mark))
		if err := s.SendMarked("8", nil, &body, mark); err != nil {
			t.Fatal(err)
		}
	}
	a, app := open()
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	send(s, 5)
	if m := c.next(); fieldOf(m, 37) != "O5" {
		t.Fatalf("got %s", printable(m.Bytes()))
	}
	waitDelivered(t, c, s, "mark 5 delivered", 5)
	c.nc.Close()
	<-app.logouts
	send(s, 6) // the broker is away: stored only
	a.Stop()

	a, app = open()
	s = a.Session("FIX.4.4", "TW")
	if got := s.Delivered(); got != 5 {
		t.Fatalf("after a restart: Delivered() = %d, want 5 (mark 6 was stored, never sent)", got)
	}
	c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("141=Y|")
	<-app.logons
	if m := c.next(); fieldOf(m, 37) != "O6" || fieldOf(m, 97) != "Y" {
		t.Fatalf("carried over: %s", printable(m.Bytes()))
	}
	send(s, 7)
	if m := c.next(); fieldOf(m, 37) != "O7" {
		t.Fatalf("after the carried report: %s", printable(m.Bytes()))
	}
	waitDelivered(t, c, s, "mark 7 delivered, the carried mark 6 with it", 7)
	c.nc.Close()
	<-app.logouts
	a.Stop()

	a, _ = open()
	s = a.Session("FIX.4.4", "TW")
	if got := s.Delivered(); got != 7 {
		t.Fatalf("after a restart following the reset: Delivered() = %d, want 7", got)
	}
}

// TestAcknowledgedOnARefusedConnectionIsNotDelivered: a broker whose
// engine finds the Logon reply's MsgSeqNum too low logs out without
// processing what followed it, although its kernel acknowledged the
// bytes; it then logs on with ResetSeqNumFlag=Y. A connection the broker
// logs out of before sending anything else after its Logon counts nothing
// it acknowledged: the report is not delivered, and the reset carries it
// over (PossResend=Y). One on which it sent a Heartbeat first keeps its
// acknowledgements, and the reset carries nothing.
func TestAcknowledgedOnARefusedConnectionIsNotDelivered(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{StoreDir: t.TempDir(), Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	send := func(s *Session, mark int64) {
		var body Fields
		body.AddString(37, fmt.Sprintf("O%d", mark))
		if err := s.SendMarked("8", nil, &body, mark); err != nil {
			t.Fatal(err)
		}
	}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	send(s, 5)
	if m := c.next(); fieldOf(m, 37) != "O5" {
		t.Fatalf("got %s", printable(m.Bytes()))
	}
	waitAcked(t, s) // by the broker's kernel; its engine answers nothing (confirmation)
	c.send("5", "58=MsgSeqNum too low, expecting 7 but received 1|")
	c.expectClosed("5")
	<-app.logouts
	if got := s.Delivered(); got != 0 {
		t.Fatalf("after a Logout that was the broker's first message after its Logon: Delivered() = %d, want 0", got)
	}

	c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("141=Y|")
	<-app.logons
	if m := c.next(); fieldOf(m, 37) != "O5" || fieldOf(m, 97) != "Y" {
		t.Fatalf("the 141=Y Logon did not carry the report over with PossResend=Y: %s", printable(m.Bytes()))
	}
	c.send("0", "")
	// Its marks count again with the next marked report confirmed (as
	// after a dropped connection: TestDeliveredStopsAtADroppedConnection).
	send(s, 6)
	if m := c.next(); fieldOf(m, 37) != "O6" {
		t.Fatalf("got %s", printable(m.Bytes()))
	}
	waitDelivered(t, c, s, "mark 6 delivered once the broker took the stream", 6)
	c.send("5", "")
	c.expectClosed("5")
	<-app.logouts
	if got := s.Delivered(); got != 6 {
		t.Fatalf("after a Heartbeat, then a Logout: Delivered() = %d, want 6", got)
	}

	c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("141=Y|")
	<-app.logons
	send(s, 7)
	if m := c.next(); fieldOf(m, 37) != "O7" {
		t.Fatalf("a reset after a connection the broker took carried something over: %s", printable(m.Bytes()))
	}
}

// TestReportsAnEngineDidNotProcessAreCarriedOver: a broker whose process
// reads the reports (its TCP stack acknowledges them) but whose engine
// processes none of them, so answers no TestRequest, has had none of them
// as far as FIX shows it: Delivered stays at 0 although every byte is
// acknowledged and the probe sent after them has been read. Its Logon
// with ResetSeqNumFlag=Y (it lost its view of the stream) gets every one
// carried over, PossResend=Y, as stored (the same ExecID); once its engine
// answers the probe sent after them and a new report, Delivered reaches
// the new report's mark.
func TestReportsAnEngineDidNotProcessAreCarriedOver(t *testing.T) {
	a, app, c, s := loggedOn(t, 0, 0)
	c.unprocessed = true
	const n = 20
	var body Fields
	for mark := int64(1); mark <= n; mark++ {
		body.Reset()
		body.AddString(17, fmt.Sprintf("E%d", mark))
		s.SendMarked("8", nil, &body, mark)
	}
	for got := 0; got < n; {
		if m := c.next(); string(m.MsgType()) == "8" {
			got++
		}
	}
	if m := c.next(); string(m.MsgType()) != "1" || !strings.HasPrefix(fieldOf(m, tagTestReqID), probeIDPrefix) {
		t.Fatalf("got %s, want the probe sent after the reports", printable(m.Bytes()))
	}
	waitAcked(t, s)
	if got := s.Delivered(); got != 0 {
		t.Fatalf("Delivered %d: the broker's kernel acknowledged the reports, its engine processed none", got)
	}
	c.nc.Close()
	<-app.logouts
	if got := s.Delivered(); got != 0 {
		t.Fatalf("Delivered %d after the broker left without processing anything", got)
	}

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.logon("141=Y|")
	for mark := 1; mark <= n; mark++ {
		m := c2.next()
		if string(m.MsgType()) != "8" || !m.PossResend() || fieldOf(m, 17) != fmt.Sprintf("E%d", mark) {
			t.Fatalf("got %s, want the report of mark %d carried over with PossResend=Y", printable(m.Bytes()), mark)
		}
	}
	body.Reset()
	body.AddString(17, "E21")
	s.SendMarked("8", nil, &body, n+1)
	if m := c2.next(); string(m.MsgType()) != "8" || m.PossResend() || fieldOf(m, 17) != "E21" {
		t.Fatalf("got %s, want the new report", printable(m.Bytes()))
	}
	waitDelivered(t, c2, s, "Delivered to reach the new mark once the broker's engine answered the probe", n+1)
}

// TestDeliveredWaitsForTheProbesAnswer: a broker whose engine answers
// TestRequests moves the marks on after about one round trip and
// confirmDelay; one whose engine has not answered yet holds them, however
// much its TCP stack acknowledged. The answer to any other TestReqID (the
// broker's own, an older probe's) confirms nothing.
func TestDeliveredWaitsForTheProbesAnswer(t *testing.T) {
	_, _, c, s := loggedOn(t, 0, 0)
	c.unprocessed = true
	var body Fields
	body.AddString(17, "E1")
	s.SendMarked("8", nil, &body, 7)
	if m := c.next(); string(m.MsgType()) != "8" {
		t.Fatalf("got %s, want the report", printable(m.Bytes()))
	}
	probe := c.next()
	if string(probe.MsgType()) != "1" {
		t.Fatalf("got %s, want the probe", printable(probe.Bytes()))
	}
	id := fieldOf(probe, tagTestReqID)
	waitAcked(t, s)
	c.send("0", "112=someone-else|")
	c.send("0", "112="+probeIDPrefix+"999|")
	c.send("1", "112=mine|") // a round trip: the Heartbeats above are taken
	if m := c.next(); string(m.MsgType()) != "0" || fieldOf(m, tagTestReqID) != "mine" {
		t.Fatalf("got %s, want the Heartbeat answering ours", printable(m.Bytes()))
	}
	if got := s.Delivered(); got != 0 {
		t.Fatalf("Delivered %d before the probe %s was answered", got, id)
	}
	c.send("0", "112="+id+"|")
	waitDelivered(t, c, s, "Delivered to reach 7 once the probe is answered", 7)
}
