package fix

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
)

// BenchmarkOrderRoundTrip measures the acceptor alone: clients (this
// package's codec on raw TCP) keep a fixed number of NewOrderSingles in
// flight per session; the application answers each with one
// ExecutionReport at once. impl=ringex is this package with its file store;
// impl=quickfixgo is a bare quickfixgo v0.9.10 acceptor (memory store, no
// data dictionary: its fastest configuration) doing the same. Reported:
// orders/s over all sessions and the round-trip latency from writing an
// order to reading its report, p50 and p99 (HDR).
//
//	go test ./fix -run XXX -bench OrderRoundTrip -benchtime 20000x -count 5
func BenchmarkOrderRoundTrip(b *testing.B) {
	for _, impl := range []string{"ringex", "quickfixgo"} {
		for _, sessions := range []int{1, 8} {
			for _, inflight := range []int{1, 100} {
				name := fmt.Sprintf("impl=%s/sessions=%d/inflight=%d", impl, sessions, inflight)
				b.Run(name, func(b *testing.B) { benchRoundTrip(b, impl, sessions, inflight) })
			}
		}
	}
}

var benchAcceptorID atomic.Int64

func benchRoundTrip(b *testing.B, impl string, sessions, inflight int) {
	sender := "EX" + strconv.FormatInt(benchAcceptorID.Add(1), 10)
	targets := make([]string, sessions)
	for i := range targets {
		targets[i] = sender + "-B" + strconv.Itoa(i)
	}
	var addr string
	var stop func()
	switch impl {
	case "ringex":
		addr, stop = startRingexReporter(b, sender, targets)
	default:
		addr, stop = startQuickfixgoReporter(b, sender, targets)
	}
	defer stop()

	clients := make([]*client, sessions)
	for i := range clients {
		c := dialClient(b, addr, "FIX.4.4", targets[i], nil)
		c.target = sender
		c.logon("")
		clients[i] = c
	}
	perSession := max(b.N/sessions, 1)
	hists := make([]*hdrhistogram.Histogram, sessions)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		hists[i] = hdrhistogram.New(1, int64(10*time.Second/time.Microsecond*10), 3)
		wg.Go(func() { pump(b, c, perSession, inflight, hists[i]) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond*10), 3)
	for _, h := range hists {
		all.Merge(h)
	}
	b.ReportMetric(float64(perSession*sessions)/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(all.ValueAtQuantile(50))/10, "p50-µs")
	b.ReportMetric(float64(all.ValueAtQuantile(99))/10, "p99-µs")
	b.ReportMetric(0, "ns/op")
}

// pump keeps inflight orders outstanding until n have been answered,
// writing the next orders once per batch of reports read.
func pump(b *testing.B, c *client, n, inflight int, h *hdrhistogram.Histogram) {
	sentAt := make([]int64, n)
	sent, done := 0, 0
	body := &c.body
	order := func() {
		body.Reset()
		body.AddInt(11, int64(sent))
		body.AddChar(21, '1')
		body.AddInt(38, 100)
		body.AddChar(40, '2')
		body.AddString(44, "101.25")
		body.AddChar(54, '1')
		body.AddString(55, "SYM7")
		body.AddString(60, "20240102-03:04:05.000")
		c.queue("D", nil, body.b)
		sentAt[sent] = time.Now().UnixNano()
		sent++
	}
	for sent < min(inflight, n) {
		order()
	}
	c.flush()
	for done < n {
		m, err := c.read(60 * time.Second)
		if err != nil {
			b.Errorf("client %s: %v after %d reports", c.sender, err, done)
			return
		}
		if string(m.MsgType()) != "8" {
			continue
		}
		id, ok := m.GetInt(11)
		if !ok || id >= n {
			b.Errorf("report for unknown ClOrdID %q", fieldOf(m, 11))
			return
		}
		h.RecordValue(max(1, (time.Now().UnixNano()-sentAt[id])/100)) // 0.1 µs units
		done++
		if sent < n {
			order()
		}
		if !c.hasBuffered() && len(c.out) > 0 {
			c.flush()
		}
	}
}

// hasBuffered reports whether a whole message is already buffered.
func (c *client) hasBuffered() bool {
	status, _, _ := frame(c.buf[c.r:c.w], 1<<16)
	return status != frameNeedMore
}

// reporter answers each NewOrderSingle with a New ExecutionReport.
type reporter struct {
	bodies map[*Session]*Fields // one per session, used on its reader goroutine only
	execID atomic.Int64
}

func (r *reporter) OnLogon(*Session)  {}
func (r *reporter) OnLogout(*Session) {}
func (r *reporter) FromApp(s *Session, m *Message) {
	f := r.bodies[s]
	f.Reset()
	id := r.execID.Add(1)
	f.AddInt(37, id)
	v, _ := m.Get(11)
	f.AddBytes(11, v)
	f.AddInt(17, id)
	f.AddChar(150, '0')
	f.AddChar(39, '0')
	v, _ = m.Get(55)
	f.AddBytes(55, v)
	v, _ = m.Get(54)
	f.AddBytes(54, v)
	v, _ = m.Get(38)
	f.AddBytes(38, v)
	f.AddBytes(151, v)
	f.AddChar(14, '0')
	f.AddChar(6, '0')
	s.Send("8", f)
}

func startRingexReporter(b *testing.B, sender string, targets []string) (string, func()) {
	cfg := Config{Addr: "127.0.0.1:0", SenderCompID: sender, StoreDir: b.TempDir()}
	for _, t := range targets {
		cfg.Sessions = append(cfg.Sessions, SessionConfig{BeginString: "FIX.4.4", TargetCompID: t, ResetOnLogon: true})
	}
	app := &reporter{bodies: map[*Session]*Fields{}}
	a, err := NewAcceptor(cfg, app)
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range targets {
		app.bodies[a.Session("FIX.4.4", t)] = &Fields{}
	}
	if err := a.Start(); err != nil {
		b.Fatal(err)
	}
	return a.Addr().String(), a.Stop
}

// qfReporter is reporter on quickfixgo's API.
type qfReporter struct{ execID atomic.Int64 }

func (*qfReporter) OnCreate(quickfix.SessionID)                       {}
func (*qfReporter) OnLogon(quickfix.SessionID)                        {}
func (*qfReporter) OnLogout(quickfix.SessionID)                       {}
func (*qfReporter) ToAdmin(*quickfix.Message, quickfix.SessionID)     {}
func (*qfReporter) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (*qfReporter) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}
func (r *qfReporter) FromApp(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	er := quickfix.NewMessage()
	er.Header.SetString(35, "8")
	exec := strconv.FormatInt(r.execID.Add(1), 10)
	clOrdID, _ := m.Body.GetString(11)
	symbol, _ := m.Body.GetString(55)
	side, _ := m.Body.GetString(54)
	qty, _ := m.Body.GetString(38)
	er.Body.SetString(37, exec)
	er.Body.SetString(11, clOrdID)
	er.Body.SetString(17, exec)
	er.Body.SetString(150, "0")
	er.Body.SetString(39, "0")
	er.Body.SetString(55, symbol)
	er.Body.SetString(54, side)
	er.Body.SetString(38, qty)
	er.Body.SetString(151, qty)
	er.Body.SetString(14, "0")
	er.Body.SetString(6, "0")
	if err := quickfix.SendToTarget(er, id); err != nil {
		panic(err)
	}
	return nil
}

func startQuickfixgoReporter(b *testing.B, sender string, targets []string) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	settings := quickfix.NewSettings()
	g := settings.GlobalSettings()
	g.Set(config.SocketAcceptHost, "127.0.0.1")
	g.Set(config.SocketAcceptPort, strconv.Itoa(port))
	for _, t := range targets {
		s := quickfix.NewSessionSettings()
		s.Set(config.BeginString, "FIX.4.4")
		s.Set(config.SenderCompID, sender)
		s.Set(config.TargetCompID, t)
		s.Set(config.ResetOnLogon, "Y")
		s.Set(config.HeartBtInt, "30")
		if _, err := settings.AddSession(s); err != nil {
			b.Fatal(err)
		}
	}
	a, err := quickfix.NewAcceptor(&qfReporter{}, quickfix.NewMemoryStoreFactory(), settings, quickfix.NewNullLogFactory())
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(); err != nil {
		b.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), a.Stop
}
