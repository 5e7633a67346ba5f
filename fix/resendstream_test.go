package fix

import (
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/tcplink"
)

// The resend tests' sizes: reports stored while the broker was away, about
// 250 bytes each, 16 times the slow-consumer bound they run under; the
// link's socket buffers, so that the resend waits on the socket.
const (
	streamBound   = 64 << 10
	streamAway    = 4000
	streamLinkBuf = 32 << 10
)

// keepsSeqNums makes a fixtest client log on without ResetSeqNumFlag: it
// asks for what it lacks by ResendRequest.
func keepsSeqNums(ss *quickfix.SessionSettings) { ss.Set(config.ResetOnLogon, "N") }

// narrowApp is sendApp on connections whose send buffer is small
// (streamLinkBuf), as the link's are: else the kernel grows it to take a
// whole resend, and the stream is written before anything stalls.
type narrowApp struct{ *sendApp }

func (a narrowApp) OnLogon(s *Session) {
	s.mu.Lock()
	if w := wireOf(s.conn); w != nil {
		w.SetWriteBuffer(streamLinkBuf)
	}
	s.mu.Unlock()
	a.sendApp.OnLogon(s)
}

// streamSession starts an acceptor with the small bound, a file store and
// narrow connections (narrowApp), and stores reports 1..streamAway for
// TW, which has never logged on.
func streamSession(t *testing.T, cfg Config) (*testAcceptor, *sendApp, *Session) {
	t.Helper()
	app := newSendApp()
	cfg.StoreDir, cfg.OutQueueMaxBytes = t.TempDir(), streamBound
	cfg.Sessions = []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}
	a := startAcceptor(t, cfg, narrowApp{app})
	s := a.Session("FIX.4.4", "TW")
	var body Fields
	for n := 1; n <= streamAway; n++ {
		sendReport(s, &body, n)
	}
	return a, app, s
}

// sendReport sends ExecutionReport n, ExecID n, marked n.
func sendReport(s *Session, body *Fields, n int) error {
	id := strconv.Itoa(n)
	fields(body, "37=O"+id+"|11=C"+id+"|17="+id+"|150=0|39=0|55=IBM|54=1|38=100|151=100|14=0|6=0|58="+strings.Repeat("x", 120))
	return s.SendMarked("8", nil, body, int64(n))
}

// liveReports sends reports from..to, one every 2 ms, on their own
// goroutine: new reports that keep coming while a resend goes out. The
// test waits for it at its end.
func liveReports(t *testing.T, s *Session, from, to int) {
	var wg sync.WaitGroup
	wg.Go(func() {
		var body Fields
		for n := from; n <= to; n++ {
			sendReport(s, &body, n)
			time.Sleep(2 * time.Millisecond)
		}
	})
	t.Cleanup(wg.Wait) // before the acceptor stops
}

// expectReports reads reports from c until ExecID last, and fails unless
// they are ExecIDs from..last, each once, in order; it returns how many
// carried PossDupFlag=Y and PossResend=Y.
func expectReports(t *testing.T, c *fixtest.Client, from, last int) (possDup, possResend int) {
	t.Helper()
	for want := from; want <= last; want++ {
		f := fixtest.Fields(c.Next(30 * time.Second))
		if f[17] != strconv.Itoa(want) {
			t.Fatalf("report %d: got ExecID %s (PossDup %q, PossResend %q)", want, f[17], f[43], f[97])
		}
		if f[43] == "Y" {
			possDup++
		}
		if f[97] == "Y" {
			possResend++
		}
	}
	return possDup, possResend
}

// awaitDelivered waits (at most 10 s) for s to count mark delivered: the
// broker's engine answered a probe sent after it.
func awaitDelivered(t *testing.T, s *Session, mark int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Delivered() < mark {
		if time.Now().After(deadline) {
			t.Fatalf("Delivered %d, want %d", s.Delivered(), mark)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLongResendIsStreamed: a broker's engine (quickfixgo) that was away
// while reports worth 16 times the slow-consumer bound were stored logs
// on, over a link with small socket buffers, so the resend waits on the
// socket, and asks for all of them (ResendRequest), or logs on with
// ResetSeqNumFlag=Y and has them carried over (PossResend=Y), while new
// reports keep coming: it gets every report once, in order, the old ones
// first, and is never disconnected; every mark ends delivered.
func TestLongResendIsStreamed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []fixtest.Option
		resendReqs int64
		possDup    bool // the old reports come PossDupFlag=Y, else PossResend=Y
	}{
		{name: "ResendRequest", opts: []fixtest.Option{keepsSeqNums}, resendReqs: 1, possDup: true},
		{name: "carry-over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, app, s := streamSession(t, Config{})
			link := tcplink.StartNarrow(t, a.addr, streamLinkBuf)
			c := fixtest.Dial(t, link.Addr(), "FIX.4.4", "TW", "ISLD", tc.opts...)
			defer c.Close()
			<-app.logons
			const live = 200 // at most 52 KB: queued behind the stream, they stay below the bound
			liveReports(t, s, streamAway+1, streamAway+live)
			possDup, possResend := expectReports(t, c, 1, streamAway+live)
			if !tc.possDup {
				possDup = possResend
			}
			if possDup < streamAway {
				t.Fatalf("%d reports came marked a copy, want the %d old ones", possDup, streamAway)
			}
			select {
			case <-app.logouts:
				t.Fatal("the broker was disconnected during its resend")
			default:
			}
			if n := s.ResendRequests(); n != tc.resendReqs {
				t.Fatalf("%d ResendRequests, want %d", n, tc.resendReqs)
			}
			awaitDelivered(t, s, streamAway+live)
		})
	}
}

// TestBrokerThatStopsReadingMidResendIsASlowConsumer: a broker whose link
// stops passing anything on a quarter of the way through its resend,
// while new reports keep coming, is disconnected as a slow consumer once
// those pass the bound, with the resend still under way, which stops
// with the connection; nothing it did not process counts as delivered. Once the link flows again its engine
// reconnects, asks for the rest and gets every report once, in order,
// and a report after them is delivered with all of them.
func TestBrokerThatStopsReadingMidResendIsASlowConsumer(t *testing.T) {
	logs := newLineCounter()
	a, app, s := streamSession(t, Config{Log: slog.New(logs)})
	link := tcplink.StartNarrow(t, a.addr, streamLinkBuf)
	link.Stall(256 << 10) // the Logon reply, then about a quarter of the resend
	c := fixtest.Dial(t, link.Addr(), "FIX.4.4", "TW", "ISLD", keepsSeqNums)
	defer c.Close()
	<-app.logons
	waitFor(t, "the link to stall", link.Stalled)
	streaming := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stream.conn != nil
	}
	if !streaming() {
		t.Fatal("the resend is not under way once the link stalled")
	}
	var body Fields
	last := streamAway
	for s.LoggedOn() {
		if last++; last > streamAway+10_000 {
			t.Fatal("a broker that reads nothing is never disconnected")
		}
		sendReport(s, &body, last)
	}
	select {
	case <-app.logouts:
	case <-time.After(10 * time.Second):
		t.Fatal("no OnLogout after the slow-consumer disconnect")
	}
	if n, _ := logs.lines("slow consumer"); n != 1 {
		t.Fatalf("%d slow-consumer lines logged, want 1", n)
	}
	waitFor(t, "the resend to stop with its connection", func() bool { return !streaming() })
	delivered := s.Delivered()
	// What the broker processed came through the stalled link: at most
	// its first reports, read here in order.
	got := 0
	for _, m := range c.Drain() {
		if f := fixtest.Fields(m); f[17] != strconv.Itoa(got+1) {
			t.Fatalf("report %d: got ExecID %s before the disconnect", got+1, f[17])
		}
		got++
	}
	if delivered > int64(got) || got >= streamAway {
		t.Fatalf("Delivered %d with %d reports processed of the %d resent", delivered, got, streamAway)
	}
	link.Flow()
	expectReports(t, c, got+1, last)
	if n := s.ResendRequests(); n < 2 {
		t.Fatalf("%d ResendRequests, want one per connection", n)
	}
	// A resent copy carries no mark: the marks move with the next report
	// written, once the resent ones are confirmed too.
	sendReport(s, &body, last+1)
	expectReports(t, c, last+1, last+1)
	awaitDelivered(t, s, int64(last+1))
}

// TestProbeDuringAStreamFollowsIt: a broker that asks for a long resend
// and reads it slowly, while new reports come, sees one stream in
// MsgSeqNum order: the resent range, its GapFill, then the new reports,
// and the delivery probe (TestRequest C<n>) that the writer queues while
// the resend waits on the socket only after the resent range, among the
// reports after it. Answered, the probes take every mark to delivered.
func TestProbeDuringAStreamFollowsIt(t *testing.T) {
	a, app, s := streamSession(t, Config{})
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.nc.(*net.TCPConn).SetReadBuffer(streamLinkBuf)
	c.unprocessed = true // read returns the probes: answered below
	if m := c.logon(""); m.SeqNum() != streamAway+1 {
		t.Fatalf("Logon reply at MsgSeqNum %d, want %d", m.SeqNum(), streamAway+1)
	}
	<-app.logons
	c.send("2", "7=1|16=0|")
	const live = 100
	want, probes := 1, 0 // the next MsgSeqNum on the wire
	for want <= streamAway+1+live+probes || probes == 0 {
		m := c.next()
		switch {
		case m.SeqNum() != want:
			t.Fatalf("MsgSeqNum %d (MsgType %s), want %d", m.SeqNum(), m.MsgType(), want)
		case want == 1:
			liveReports(t, s, streamAway+1, streamAway+live) // behind the stream
		case want == 100:
			time.Sleep(2 * confirmDelay) // the stream waits on the socket, and a probe is due
		case want == streamAway/2:
			// The writer has queued the probe between two pieces (its
			// timer ran out during the sleep): it waits behind the
			// stream, which has half the range still to write.
			s.mu.Lock()
			streaming := s.stream.conn != nil
			s.mu.Unlock()
			s.delivery.mu.Lock()
			probe := s.delivery.probeSeq
			s.delivery.mu.Unlock()
			if !streaming || probe <= streamAway+1 {
				t.Fatalf("half way through the resend: stream under way %v, probe at MsgSeqNum %d", streaming, probe)
			}
		}
		switch string(m.MsgType()) {
		case "4":
			want = int(mustInt(t, m, tagNewSeqNo))
			continue
		case "1":
			if want <= streamAway+1 {
				t.Fatalf("probe at MsgSeqNum %d, inside the resent range 1..%d", want, streamAway+1)
			}
			probes++
			c.answer.Reset()
			c.answer.AddBytes(tagTestReqID, []byte(fieldOf(m, tagTestReqID)))
			c.queue("0", nil, c.answer.b)
			c.flush()
		case "8":
			if resent := m.PossDup(); resent != (want <= streamAway) {
				t.Fatalf("report at MsgSeqNum %d PossDupFlag %v", want, resent)
			}
		}
		want++
	}
	c.unprocessed = false
	waitDelivered(t, c, s, "every mark delivered", streamAway+live)
}

func mustInt(t *testing.T, m *Message, tag int) int64 {
	t.Helper()
	v, ok := m.GetInt(tag)
	if !ok {
		t.Fatalf("no tag %d in %s", tag, printable(m.Bytes()))
	}
	return int64(v)
}
