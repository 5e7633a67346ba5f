package fix

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Tests of the session layer's edges (issue 15 item 9): a repeated
// MsgType, refused logons, connections that never log on, and password
// guessing.

// TestRepeatedMsgTypeRejected: a message with MsgType(35) twice is not
// executed as either type: it gets a session Reject 373=13 371=35, like any
// other repeated tag, and the session goes on.
func TestRepeatedMsgTypeRejected(t *testing.T) {
	for _, tc := range []struct{ name, header, body string }{
		{"second_msg_type_in_the_header", "35=D|", nos},
		{"second_msg_type_after_the_body", "", nos + "35=D|"},
		{"heartbeat_that_is_also_an_order", "", "35=D|"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
			c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
			c.logon("")
			msgType := "D"
			if tc.name == "heartbeat_that_is_also_an_order" {
				msgType = "0"
			}
			c.queue(msgType, fields(&c.header, tc.header).b, fields(&c.body, tc.body).b)
			c.flush()
			m := c.next()
			if string(m.MsgType()) != "3" || fieldOf(m, tagSessionRejReason) != "13" || fieldOf(m, tagRefTagID) != "35" ||
				fieldOf(m, tagRefSeqNum) != "2" {
				t.Fatalf("want Reject 45=2 371=35 373=13, got %s", printable(m.Bytes()))
			}
			c.send("1", "112=after|") // the session goes on, at the next MsgSeqNum
			if m := c.next(); string(m.MsgType()) != "0" || fieldOf(m, tagTestReqID) != "after" {
				t.Fatalf("want Heartbeat 112=after, got %s", printable(m.Bytes()))
			}
		})
	}
}

// expectLogoutThenClose reads a Logout whose Text contains want, then the
// close.
func (c *client) expectLogoutThenClose(want string) {
	c.tb.Helper()
	m, err := c.read(30 * time.Second)
	if err != nil {
		c.tb.Fatalf("want Logout %q, got %v", want, err)
	}
	if string(m.MsgType()) != "5" || !strings.Contains(fieldOf(m, tagText), want) {
		c.tb.Fatalf("want Logout with Text containing %q, got %s", want, printable(m.Bytes()))
	}
	c.expectClosed()
}

// TestRefusedLogonGetsLogout: every refused Logon whose CompIDs can be
// read gets a Logout saying why, addressed back to the sender, before the
// connection closes.
func TestRefusedLogonGetsLogout(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{
		{BeginString: "FIX.4.4", TargetCompID: "TW"},
		{BeginString: "FIX.4.2", TargetCompID: "TW42"},
	}}, newEchoApp())
	for _, tc := range []struct{ name, begin, sender, target, extra, want string }{
		{"unknown_sender_comp_id", "FIX.4.4", "NOBODY", "ISLD", "", "unknown SenderCompID NOBODY"},
		{"wrong_target_comp_id", "FIX.4.4", "TW", "DLSI", "", "TargetCompID must be ISLD"},
		{"wrong_begin_string", "FIX.4.2", "TW", "ISLD", "", "BeginString FIX.4.2 is not the one configured for TW"},
		{"unknown_begin_string", "FIX.3.9", "TW", "ISLD", "", "BeginString FIX.3.9"},
		{"sending_time_off", "FIX.4.4", "TW", "ISLD", "", "SendingTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialClient(t, a.addr, tc.begin, tc.sender, nil)
			c.target = tc.target
			now := time.Now()
			if tc.name == "sending_time_off" {
				now = now.Add(-time.Hour)
			}
			c.out = appendMessage(c.out, c.begin, c.sender, c.target, "A", 1, now, nil, nil, fields(&c.body, "98=0|108=30|").b)
			c.flush()
			m, err := c.read(30 * time.Second)
			if err != nil {
				t.Fatalf("want a Logout, got %v", err)
			}
			if string(m.MsgType()) != "5" || !strings.Contains(fieldOf(m, tagText), tc.want) {
				t.Fatalf("want Logout with Text containing %q, got %s", tc.want, printable(m.Bytes()))
			}
			if string(m.BeginString()) != tc.begin || fieldOf(m, tagSenderCompID) != tc.target || fieldOf(m, tagTargetCompID) != tc.sender {
				t.Fatalf("Logout not addressed back to the sender: %s", printable(m.Bytes()))
			}
			c.expectClosed()
		})
	}
	t.Run("second_connection_for_a_logged_on_session", func(t *testing.T) {
		first := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		first.logon("")
		second := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		second.send("A", "98=0|108=30|")
		second.expectLogoutThenClose("session already logged on")
		first.send("1", "112=still|") // the first connection is untouched
		if m := first.next(); string(m.MsgType()) != "0" {
			t.Fatalf("first connection: want Heartbeat, got %s", printable(m.Bytes()))
		}
	})
}

// TestPendingLogonsBounded: connections that have not logged on are
// bounded in number (MaxPendingLogons: one more is closed at once) and in
// what each may buffer (MaxLogonBytes: a longer partial Logon is closed),
// and a connection that logs on frees its place.
func TestPendingLogonsBounded(t *testing.T) {
	const maxPending = 8
	a := startAcceptor(t, Config{LogonTimeout: time.Hour, MaxPendingLogons: maxPending,
		Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
	partial := "8=FIX.4.4\x019=60000\x0135=A\x0134=1\x0149=TW\x01"
	var held []net.Conn
	for range maxPending {
		nc, err := net.Dial("tcp", a.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		if _, err := nc.Write([]byte(partial)); err != nil {
			t.Fatal(err)
		}
		held = append(held, nc)
	}
	waitFor(t, "the held connections to be accepted", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.pendingLogons == maxPending
	})
	over, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	expectEOF(t, over, "a connection past MaxPendingLogons")

	// One held connection sends 64 KiB of a Logon that never ends: closed
	// at MaxLogonBytes, freeing its place.
	big := []byte(partial + strings.Repeat("x", 64<<10))
	held[0].Write(big)
	expectEOF(t, held[0], "a partial Logon past MaxLogonBytes")
	waitFor(t, "its place to be freed", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.pendingLogons == maxPending-1
	})
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	waitFor(t, "a logged-on connection to free its place", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.pendingLogons == maxPending-1
	})
	for _, nc := range held[1:] {
		nc.Close()
	}
	waitFor(t, "closed connections to free their places", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.pendingLogons == 0
	})
}

// TestPartialLogonBufferBoundedByDefault: with the default configuration a
// connection that sends 64 KiB of a Logon that never ends is closed
// rather than buffered until LogonTimeout.
func TestPartialLogonBufferBoundedByDefault(t *testing.T) {
	a := startAcceptor(t, Config{LogonTimeout: time.Hour, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
	nc, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("8=FIX.4.4\x019=65000\x0135=A\x0134=1\x0149=TW\x01" + strings.Repeat("x", 64<<10-100)))
	expectEOF(t, nc, "a 64 KiB partial Logon")
}

// expectEOF reads nc until the acceptor closes it, failing the test after
// a generous wait.
func expectEOF(t *testing.T, nc net.Conn, what string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset") {
			return
		}
		t.Fatalf("%s: want the acceptor to close it, got %v", what, err)
	}
}

// TestFailedLogonsBackOff: after logonFailuresFree wrong passwords for a
// CompID, its next Logon is refused even with the right password, with a
// Logout saying so, until the back-off has passed; then it logs on.
func TestFailedLogonsBackOff(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", Password: "s3cret"}}}, newEchoApp())
	for i := range logonFailuresFree + 1 {
		c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		c.send("A", "98=0|108=30|554=guess"+string(rune('0'+i))+"|")
		c.expectLogoutThenClose("Password")
	}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|554=s3cret|")
	c.expectLogoutThenClose("too many failed logons")
	waitFor(t, "the back-off to end and the right password to log on", func() bool {
		c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		c.send("A", "98=0|108=30|554=s3cret|")
		m := c.next()
		if string(m.MsgType()) == "A" {
			return true
		}
		if !strings.Contains(fieldOf(m, tagText), "too many failed logons") {
			t.Fatalf("want Logon or a back-off Logout, got %s", printable(m.Bytes()))
		}
		c.nc.Close()
		time.Sleep(50 * time.Millisecond)
		return false
	})
}

// TestFailedLogonsBackOffPerAddress: unknown CompIDs tried from one
// address put that address in back-off: a configured session's Logon from
// it is refused too.
func TestFailedLogonsBackOffPerAddress(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
	for i := range logonFailuresFree + 1 {
		c := dialClient(t, a.addr, "FIX.4.4", "GUESS"+string(rune('A'+i)), nil)
		c.send("A", "98=0|108=30|")
		c.expectLogoutThenClose("unknown SenderCompID")
	}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|")
	c.expectLogoutThenClose("too many failed logons")
}

// TestStrangerCannotLockOutBroker: a broker's CompID is in every message
// it sends, so it is no secret: logonFailuresFree+1 wrong passwords for it
// from another address put that address in back-off, not the broker, who
// logs on from its own address with the right password.
func TestStrangerCannotLockOutBroker(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", Password: "s3cret"}}}, newEchoApp())
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	for i := range logonFailuresFree + 1 {
		nc, err := d.Dial("tcp", a.addr)
		if err != nil {
			t.Skipf("cannot dial from 127.0.0.2: %v", err)
		}
		t.Cleanup(func() { nc.Close() })
		c := &client{tb: t, nc: nc, begin: "FIX.4.4", sender: "TW", target: "ISLD", seq: 1, buf: make([]byte, 1<<16)}
		c.send("A", "98=0|108=30|554=guess"+string(rune('0'+i))+"|")
		c.expectLogoutThenClose("Password")
	}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil) // the broker, from 127.0.0.1
	c.send("A", "98=0|108=30|554=s3cret|")
	if m := c.next(); string(m.MsgType()) != "A" {
		t.Fatalf("the broker, from its own address with the right password, is refused after a stranger's failures: %s", printable(m.Bytes()))
	}
}

// TestWrongPasswordRefusalOutsideSession: a Logon naming a broker's
// CompID with a wrong password is refused with a Logout outside the
// broker's session (MsgSeqNum 1, not stored): it uses none of the
// session's sequence numbers and tells the stranger nothing of them.
func TestWrongPasswordRefusalOutsideSession(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", Password: "s3cret"}}}, newEchoApp())
	s := a.Session("FIX.4.4", "TW")
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|554=s3cret|")
	c.next() // the Logon reply, MsgSeqNum 1
	c.send("5", "")
	c.next() // the Logout reply, MsgSeqNum 2
	c.expectClosed()
	before, _ := s.NextSeqNums()
	c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|554=guess|")
	m := c.next()
	if string(m.MsgType()) != "5" || m.SeqNum() != 1 {
		t.Fatalf("want a Logout with MsgSeqNum 1, outside the session, got %s", printable(m.Bytes()))
	}
	c.expectClosed()
	if after, _ := s.NextSeqNums(); after != before {
		t.Errorf("the refusal took the broker's MsgSeqNum: next outbound %d before it, %d after", before, after)
	}
}

// TestLogonBackoffTableBounded: the address table never holds more than
// logonAddrsMax entries, however many addresses fail.
func TestLogonBackoffTableBounded(t *testing.T) {
	b := newLogonBackoff(time.Second)
	now := time.Now()
	for i := range 3 * logonAddrsMax {
		for range logonFailuresFree + 1 { // each address in back-off, so none is simply expired
			b.failed(nil, "10."+strings.Repeat("1", i%7)+"."+string(rune(i)), now)
		}
	}
	if n := len(b.byAddr); n > logonAddrsMax {
		t.Fatalf("%d addresses tracked, want at most %d", n, logonAddrsMax)
	}
}

// TestResetLogonCarriesUndeliveredReports: reports stored while the broker
// was away are not dropped by a Logon with ResetSeqNumFlag=Y (nor by
// ResetOnLogon): they follow the Logon reply with the next MsgSeqNums,
// marked PossResend(97)=Y, bodies unchanged; a report the broker's TCP
// stack acknowledged before is not sent again. Also after a restart of the
// acceptor (the acknowledged watermark is kept beside the store).
func TestResetLogonCarriesUndeliveredReports(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		resetOnLogon, restart bool
	}{
		{"logon_with_141_Y", false, false},
		{"session_resets_on_every_logon", true, false},
		{"logon_with_141_Y_after_a_restart", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{StoreDir: t.TempDir(), Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", ResetOnLogon: tc.resetOnLogon}}}
			app := newSendApp()
			a := startAcceptor(t, cfg, app)
			c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
			c.logon("")
			s := <-app.logons
			var body Fields
			body.AddString(37, "HAD")
			s.Send("8", &body)
			if m := c.next(); fieldOf(m, 37) != "HAD" {
				t.Fatalf("want the report HAD, got %s", printable(m.Bytes()))
			}
			c.nc.Close()
			<-app.logouts
			for _, id := range []string{"AWAY1", "AWAY2"} {
				body.Reset()
				body.AddString(37, id)
				body.AddString(17, "E-"+id)
				s.Send("8", &body)
			}
			want := []string{"AWAY1", "AWAY2"}
			if tc.restart {
				a.Stop()
				a = startAcceptor(t, cfg, app)
				// HAD was acknowledged before the restart, and the watermark
				// file says so.
			}
			c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
			if m := c.logon("141=Y|"); m.SeqNum() != 1 {
				t.Fatalf("Logon reply MsgSeqNum %d, want 1", m.SeqNum())
			}
			c.send("1", "112=end|")
			for i, id := range want {
				m := c.next()
				if string(m.MsgType()) != "8" || fieldOf(m, 37) != id || m.SeqNum() != 2+i || !m.PossResend() {
					t.Fatalf("want report %s with MsgSeqNum %d and 97=Y after the Logon reply, got %s", id, 2+i, printable(m.Bytes()))
				}
				if id != "HAD" && fieldOf(m, 17) != "E-"+id {
					t.Fatalf("report %s: body changed: %s", id, printable(m.Bytes()))
				}
			}
			if m := c.next(); string(m.MsgType()) != "0" || fieldOf(m, tagTestReqID) != "end" {
				t.Fatalf("want the Heartbeat 112=end next, got %s", printable(m.Bytes()))
			}
			// They are in the store under their new numbers: a resend finds them.
			c.send("2", "7=2|16=0|")
			if m := c.next(); fieldOf(m, 37) != want[0] || !m.PossDup() || !m.PossResend() {
				t.Fatalf("resend of 2: want %s with 43=Y 97=Y, got %s", want[0], printable(m.Bytes()))
			}
		})
	}
}

// TestAckedWatermarkTiedToItsStore: the acknowledged watermark read back
// on start counts only for the store it was written for: a record left
// from before a sequence reset (a lost write, say) counts for nothing.
func TestAckedWatermarkTiedToItsStore(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{StoreDir: dir, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	floor := func(a *testAcceptor) int {
		d := &a.Session("FIX.4.4", "TW").delivery
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.floor
	}
	a := startAcceptor(t, cfg, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	c.send("1", "112=x|")
	c.next()
	c.send("5", "")
	c.next()
	c.expectClosed()
	a.Stop()
	path := dir + "/" + storeName("FIX.4.4", "ISLD", "TW") + ".acked"
	stale, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a = startAcceptor(t, cfg, newEchoApp())
	if got := floor(a); got < 2 { // the Logout may not be acknowledged yet when the connection ends
		t.Fatalf("watermark after restart: %d, want at least 2 (the Logon reply and the Heartbeat the broker read)", got)
	}
	c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("141=Y|")
	a.Stop()
	if err := os.WriteFile(path, stale, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := floor(startAcceptor(t, cfg, newEchoApp())); got != 0 {
		t.Fatalf("a watermark from before the reset counts as %d, want 0", got)
	}
}
