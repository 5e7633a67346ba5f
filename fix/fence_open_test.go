package fix

// Two open bugs in the lease check of the session writer (issue 17),
// shown by these tests against the code as it is; each is skipped with
// its reason until it is fixed.

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestResetLogonReplyHeldWhileNotAllowed(t *testing.T) {
	t.Skip("open bug (review of 2026-12-05): while Config.MayDeliver says no, writePieceLocked drops a reset Logon's reply (dropPendingLocked) instead of leaving it queued for the writer to hold; remove this Skip with the fix")
	var allow atomic.Bool
	app := newSendApp()
	a := startAcceptor(t, Config{MayDeliver: allow.Load, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|141=Y|")
	s := <-app.logons
	if m, err := c.read(200 * time.Millisecond); err == nil {
		t.Fatalf("sent while not allowed: %s", printable(m.Bytes()))
	}
	allow.Store(true)
	var body Fields
	body.AddString(37, "O1")
	s.Send("8", &body)
	m, err := c.read(5 * time.Second)
	if err != nil || string(m.MsgType()) != "A" {
		got := "nothing"
		if err == nil {
			got = printable(m.Bytes())
		}
		t.Fatalf("once allowed, the broker's first message is %s (%v); want the held Logon reply", got, err)
	}
}

// TestNoReportWrittenAfterTheGuardRunsOutDuringAStalledWrite: MayDeliver
// is asked once before flush's conn.Write, which then blocks (up to
// writeTimeout, 30 s, far past a lease margin) on a broker that does not
// read. Reports of that write still go into the socket after MayDeliver
// has said no: here the broker, reading again only after the guard ran
// out, gets megabytes of reports, far more than the socket buffers
// (shrunk here to a few KiB) held when it ran out.
func TestNoReportWrittenAfterTheGuardRunsOutDuringAStalledWrite(t *testing.T) {
	t.Skip("open bug (review of 2026-12-05): MayDeliver is asked once per socket write, which can block up to writeTimeout on a broker that stopped reading, so reports enter the socket after the lease ran out; bound the write deadline by the guard's deadline, then remove this Skip")
	allow, _, c, s, _ := heldSession(t)
	c.nc.(*net.TCPConn).SetReadBuffer(4096)
	s.mu.Lock()
	s.conn.(*wireConn).SetWriteBuffer(4096)
	s.mu.Unlock()
	var body Fields
	body.AddString(37, "O1")
	body.AddString(58, strings.Repeat("x", 200))
	s.flushMu.Lock()  // the writer takes all of them in one write
	for range 20000 { // about 5 MB, under the 8 MiB slow-consumer bound
		if err := s.Send("8", &body); err != nil {
			t.Fatal(err)
		}
	}
	s.flushMu.Unlock()
	time.Sleep(500 * time.Millisecond) // the writer is stuck in conn.Write
	allow.Store(false)                 // the guard runs out
	time.Sleep(100 * time.Millisecond)
	n := 0
	for {
		m, err := c.read(time.Second)
		if err != nil {
			t.Logf("broker stops reading: %v", err)
			break
		}
		if string(m.MsgType()) == "8" {
			n++
		}
	}
	t.Logf("reports after the guard ran out: %d, still queued %d", n, s.Queued())
	if n > 1000 { // 1000 reports: about 260 KB, some 30 times the shrunk socket buffers
		t.Errorf("the broker got %d reports after the guard ran out", n)
	}
}
