package fix

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type testAcceptor struct {
	*Acceptor
	addr string
}

func startAcceptor(t *testing.T, cfg Config, app Application) *testAcceptor {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.SenderCompID == "" {
		cfg.SenderCompID = "ISLD"
	}
	a, err := NewAcceptor(cfg, app)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return &testAcceptor{a, a.Addr().String()}
}

const nos = "11=ID1|21=1|38=100|40=2|44=10.5|54=1|55=IBM|60=20240102-03:04:05.000|"

func TestLogonEchoLogout(t *testing.T) {
	for _, begin := range []string{"FIX.4.2", "FIX.4.4"} {
		t.Run(begin, func(t *testing.T) {
			a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: begin, TargetCompID: "TW"}}}, newEchoApp())
			c := dialClient(t, a.addr, begin, "TW", nil)
			if m := c.logon(""); fieldOf(m, 108) != "30" || m.SeqNum() != 1 {
				t.Fatalf("logon reply %s", printable(m.Bytes()))
			}
			c.send("D", nos)
			m := c.next()
			if string(m.MsgType()) != "D" || fieldOf(m, 11) != "ID1" || m.SeqNum() != 2 || fieldOf(m, 56) != "TW" {
				t.Fatalf("echo %s", printable(m.Bytes()))
			}
			c.send("D", "11=ID2|21=1|38=100|40=2|44=10.5|54=9X|55=IBM|60=20240102-03:04:05.000|")
			if m := c.next(); string(m.MsgType()) != "3" || fieldOf(m, 373) != "5" || fieldOf(m, 371) != "54" {
				t.Fatalf("bad Side: want Reject 373=5 371=54, got %s", printable(m.Bytes()))
			}
			c.send("F", "41=ID1|11=ID3|54=1|55=IBM|60=20240102-03:04:05.000|")
			if m := c.next(); string(m.MsgType()) != "D" && string(m.MsgType()) != "F" {
				t.Fatalf("cancel: %s", printable(m.Bytes()))
			}
			c.send("5", "")
			if m := c.next(); string(m.MsgType()) != "5" {
				t.Fatalf("logout answered with %s", printable(m.Bytes()))
			}
			c.expectClosed()
		})
	}
}

func TestLogonRefused(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{
		{BeginString: "FIX.4.4", TargetCompID: "TW", Password: "s3cret"},
		{BeginString: "FIX.4.2", TargetCompID: "TW42"},
	}}, newEchoApp())
	for _, tc := range []struct {
		name, begin, sender, extra string
		allowed                    []string
	}{
		{"unknown_sender_comp_id", "FIX.4.4", "NOBODY", "554=s3cret|", []string{"5"}},
		{"wrong_begin_string_for_the_comp_id", "FIX.4.2", "TW", "", []string{"5"}},
		{"missing_password", "FIX.4.4", "TW", "", []string{"5"}},
		{"wrong_password", "FIX.4.4", "TW", "554=guess|", []string{"5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialClient(t, a.addr, tc.begin, tc.sender, nil)
			c.send("A", "98=0|108=30|"+tc.extra)
			c.expectClosed(tc.allowed...)
		})
	}
	t.Run("right_password", func(t *testing.T) {
		c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		c.logon("554=s3cret|")
	})
	t.Run("FIX42_password_in_554", func(t *testing.T) {
		c := dialClient(t, a.addr, "FIX.4.2", "TW42", nil)
		c.logon("")
	})
}

// TestSequenceNumbersSurviveRestart: a session without ResetOnLogon keeps
// both sequence numbers and its sent messages across an acceptor restart,
// and answers a ResendRequest from the store afterwards.
func TestSequenceNumbersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{StoreDir: dir, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	a := startAcceptor(t, cfg, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	for i := range 3 {
		c.send("D", "11=R"+string(rune('0'+i))+"|21=1|38=1|40=1|54=1|55=X|60=20240102-03:04:05|")
		c.next()
	}
	c.send("5", "")
	c.next()
	c.expectClosed()
	a.Stop()
	if out, in := a.Session("FIX.4.4", "TW").NextSeqNums(); out != 6 || in != 6 {
		t.Fatalf("before restart: next out %d in %d, want 6 6", out, in)
	}

	b := startAcceptor(t, cfg, newEchoApp())
	if out, in := b.Session("FIX.4.4", "TW").NextSeqNums(); out != 6 || in != 6 {
		t.Fatalf("after restart: next out %d in %d, want 6 6", out, in)
	}
	c = dialClient(t, b.addr, "FIX.4.4", "TW", nil)
	c.seq = 6
	if m := c.logon(""); m.SeqNum() != 6 {
		t.Fatalf("logon reply seq %d, want 6", m.SeqNum())
	}
	c.send("2", "7=2|16=0|")
	for seq := 2; seq <= 4; seq++ {
		m := c.next()
		if string(m.MsgType()) != "D" || m.SeqNum() != seq || !m.PossDup() || fieldOf(m, 122) == "" {
			t.Fatalf("resent %d: %s", seq, printable(m.Bytes()))
		}
	}
	if m := c.next(); string(m.MsgType()) != "4" || m.SeqNum() != 5 || fieldOf(m, 36) != "7" || fieldOf(m, 123) != "Y" {
		t.Fatalf("gap fill over Logout and Logon: %s", printable(m.Bytes()))
	}
	c.send("1", "112=after|")
	if m := c.next(); string(m.MsgType()) != "0" || m.SeqNum() != 7 || fieldOf(m, 112) != "after" {
		t.Fatalf("heartbeat: %s", printable(m.Bytes()))
	}
}

// TestTooLowAfterRestartLogsOut: a Logon below the stored inbound MsgSeqNum
// is answered with Logout and a disconnect.
func TestTooLowAfterRestartLogsOut(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{StoreDir: dir, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	a := startAcceptor(t, cfg, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	c.send("1", "112=x|")
	c.next()
	c.nc.Close()
	a.Stop()
	b := startAcceptor(t, cfg, newEchoApp())
	c = dialClient(t, b.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|")
	if m := c.next(); string(m.MsgType()) != "5" || fieldOf(m, 58) != "MsgSeqNum too low, expecting 3 but received 1" {
		t.Fatalf("got %s", printable(m.Bytes()))
	}
	c.expectClosed()
}

// sendApp sends from outside the reader, as the exchange's publish stage does.
type sendApp struct {
	echoApp
	logons, logouts chan *Session
}

func newSendApp() *sendApp {
	return &sendApp{echoApp: echoApp{seen: map[string]bool{}}, logons: make(chan *Session, 16), logouts: make(chan *Session, 16)}
}
func (a *sendApp) OnLogon(s *Session)  { a.echoApp.OnLogon(s); a.logons <- s }
func (a *sendApp) OnLogout(s *Session) { a.logouts <- s }

// TestSendRightAfterTheLogonReplyGoesToTheConnection: a message the
// application sends as soon as the broker can have read the Logon reply
// is written to the connection, not only stored for a later resend (the
// reply and the logged-on state are one step). Many logons, because the
// window this closes was a few instructions wide.
func TestSendRightAfterTheLogonReplyGoesToTheConnection(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	var body Fields
	body.AddString(37, "O1")
	var s *Session
	for i := 1; i <= 200; i++ {
		c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		c.seq = i
		c.logon("")
		if s == nil {
			s = <-app.logons
		}
		if err := s.Send("8", &body); err != nil {
			t.Fatal(err)
		}
		m, err := c.read(5 * time.Second)
		if err != nil {
			t.Fatalf("logon %d: the report sent right after the Logon reply did not come: %v", i, err)
		}
		if string(m.MsgType()) != "8" {
			t.Fatalf("logon %d: got %s, want the report", i, printable(m.Bytes()))
		}
		if i > 1 {
			<-app.logons // this logon's, not waited for above
		}
		c.nc.Close()
		<-app.logouts
	}
}

// loggedOn starts an acceptor with one FIX.4.4 session (TW) and its
// unsent-queue bound maxQueue (0: the default), and logs a broker on;
// readBuf above 0 gives the broker's socket that small a receive window.
func loggedOn(t *testing.T, maxQueue, readBuf int) (*testAcceptor, *sendApp, *client, *Session) {
	t.Helper()
	app := newSendApp()
	a := startAcceptor(t, Config{OutQueueMaxBytes: maxQueue, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	if readBuf > 0 {
		c.nc.(*net.TCPConn).SetReadBuffer(readBuf)
	}
	c.logon("")
	return a, app, c, <-app.logons
}

// TestSendWhileDisconnectedIsResent: an ExecutionReport sent while the
// broker is away takes a MsgSeqNum and is delivered by resend on reconnect.
func TestSendWhileDisconnectedIsResent(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{StoreDir: t.TempDir(), Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	c.nc.Close()
	s := <-app.logouts
	var body Fields
	body.AddString(37, "O1")
	body.AddString(17, "E1")
	if err := s.Send("8", &body); err != nil {
		t.Fatal(err)
	}
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	if m := c2.logon(""); m.SeqNum() != 3 {
		t.Fatalf("logon reply seq %d, want 3 (2 is the report)", m.SeqNum())
	}
	c2.send("2", "7=2|16=2|")
	if m := c2.next(); string(m.MsgType()) != "8" || m.SeqNum() != 2 || !m.PossDup() || fieldOf(m, 37) != "O1" {
		t.Fatalf("resent report: %s", printable(m.Bytes()))
	}
}

// TestSlowConsumerIsDisconnected: a broker that stops reading is logged out
// once its queue passes the bound; Send never blocks meanwhile.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{OutQueueMaxBytes: 256 << 10, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	var body Fields
	body.AddString(58, string(make([]byte, 1000)))
	for i := 0; ; i++ {
		if err := s.Send("8", &body); err != nil {
			t.Fatal(err)
		}
		if !s.LoggedOn() {
			break
		}
		if i > 1_000_000 {
			t.Fatal("a broker that does not read is never disconnected")
		}
	}
	<-app.logouts
}

func TestThrottle(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", ThrottleMsgsPerSec: 2}}}, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	for range 10 {
		c.queue("D", nil, fields(&c.body, nos).b)
	}
	c.flush()
	throttled := 0
	for range 10 {
		if m := c.next(); string(m.MsgType()) == "j" && fieldOf(m, 58) == "Throttle limit exceeded" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("10 orders at once through a 2/s throttle: none rejected")
	}
}

func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	a := startAcceptor(t, Config{
		TLS:      &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}},
	}, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", &tls.Config{InsecureSkipVerify: true})
	c.logon("")
	c.send("D", nos)
	if m := c.next(); string(m.MsgType()) != "D" || fieldOf(m, 11) != "ID1" {
		t.Fatalf("echo over TLS: %s", printable(m.Bytes()))
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ringex-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestConcurrentSends: many goroutines sending to one session produce one
// gap-free, checksum-correct stream.
func TestConcurrentSends(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	const senders, each = 4, 500
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			var body Fields
			for range each {
				body.Reset()
				body.AddString(37, "O")
				s.Send("8", &body)
			}
		})
	}
	for want := 2; want < 2+senders*each; want++ {
		if m := c.next(); m.SeqNum() != want {
			t.Fatalf("got MsgSeqNum %d, want %d", m.SeqNum(), want)
		}
	}
	wg.Wait()
}

// TestBurstsPastTheSpareBound: MiBs of messages, queued in flushes past
// the size of buffer a flush keeps for reuse, while the writer flushes the
// ones before, reach the broker whole and in order, and the store holds what
// was sent (a resend of all of them matches). A flush that kept a spare
// still in use wrote a buffer that was being appended to.
func TestBurstsPastTheSpareBound(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{StoreDir: t.TempDir(), OutQueueMaxBytes: 64 << 20,
		Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	const bursts, perBurst = 8, 600 // 4 KiB each: 2.4 MiB a burst, 19 MiB in all
	pad := strings.Repeat("x", 4000)
	go func() {
		var body Fields
		for i := range bursts * perBurst {
			body.Reset()
			body.AddString(58, fmt.Sprintf("%d-%s", i, pad))
			if err := s.Send("8", &body); err != nil {
				return
			}
			if i%50 == 49 {
				time.Sleep(5 * time.Millisecond) // a steady stream, still going as the broker reads
			}
		}
	}()
	// The broker reads nothing at first: the writer blocks on a full
	// socket while MiBs queue behind it, so its next flushes take buffers
	// past the bound.
	time.Sleep(300 * time.Millisecond)
	check := func(what string, possDup bool) {
		t.Helper()
		for i := 0; i < bursts*perBurst; {
			m := c.next()
			if string(m.MsgType()) != "8" {
				continue
			}
			if want := fmt.Sprintf("%d-%s", i, pad); fieldOf(m, 58) != want {
				t.Fatalf("%s: message %d: Text(58) starts %.20q, want %.20q", what, i, fieldOf(m, 58), want)
			}
			if got := fieldOf(m, 43) == "Y"; got != possDup {
				t.Fatalf("%s: message %d: PossDupFlag %v", what, i, got)
			}
			i++
		}
	}
	check("sent", false)
	c.send("2", "7=2|16=0") // ResendRequest: everything after the Logon
	check("resent from the store", true)
}
