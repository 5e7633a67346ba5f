package fix

import (
	"crypto/tls"
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
			deadline := time.Now().Add(20 * time.Second)
			for s.Delivered() != n {
				if time.Now().After(deadline) {
					t.Fatalf("the broker read all %d messages; Delivered is %d", n, s.Delivered())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestDeliveredStopsAtADroppedConnection: marks written to a connection
// that drops before its broker acknowledged them are not delivered, and
// what a later connection acknowledges counts again.
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

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	c2.logon("")
	s.SendMarked("8", nil, &body, 3001)
	for {
		if m := c2.next(); string(m.MsgType()) == "8" {
			break
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Delivered() != 3001 {
		if time.Now().After(deadline) {
			t.Fatalf("the new connection's broker read mark 3001; Delivered is %d", s.Delivered())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
