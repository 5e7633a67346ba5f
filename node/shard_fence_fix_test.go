//go:build linux

package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// These tests follow the fence from etcd to a broker's socket through real
// nodes: a broker that stops reading has many reports queued for it, so
// the primary's session writer is blocked in a socket write when the term
// ends (a handoff) or its guard runs out (etcd gone). What the broker reads
// afterwards is measured against the bytes the primary had written into
// the connection (the two kernels' queues, /proc/net/tcp) at the fence:
// no report may end past them.

// runFIXShardNode is runShardNodeIn with the node's own FIX acceptor
// (no test publisher) on a free port: fixAddr.
func runFIXShardNode(t *testing.T, etcd *etcdtest.Server, name string, mod func(*config.Config)) (*shardRunner, string) {
	t.Helper()
	fixAddr := fixtest.FreeAddr(t)
	r := &shardRunner{name: name, dir: t.TempDir(), out: &sink{}, started: make(chan *node.Node, 8), ran: make(chan error, 1)}
	cfg := replCfg(r.dir, "", "")
	cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
	cfg.FIX.Listen, cfg.HTTP.Listen = fixAddr, ""
	cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: "s1", Name: name, LeaseTTLMs: 1000}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	logger := r.logs.Tee(t, name).Logger()
	go func() {
		r.ran <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Log: logger},
			Serving: func(n *node.Node) func() { r.started <- n; return func() {} }})
	}()
	t.Cleanup(func() { cancel(); <-r.ran })
	return r, fixAddr
}

// stalledBroker is a FIX 4.4 session over a raw TCP connection, with a
// receive buffer shrunk to a few KiB, that logs on and sends orders but
// reads nothing until the test says so.
type stalledBroker struct {
	t    *testing.T
	conn *net.TCPConn
	seq  int
	comp string
	read int64 // bytes read so far
}

func dialStalled(t *testing.T, addr, comp string) *stalledBroker {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	var c net.Conn
	var err error
	for range 200 { // the acceptor may still be opening
		if c, err = d.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	b := &stalledBroker{t: t, conn: c.(*net.TCPConn), comp: comp}
	t.Cleanup(func() { c.Close() })
	b.send("A", "98=0\x01108=60\x01")
	return b
}

// send writes one message of type typ with body fields (tag=value\x01...).
func (b *stalledBroker) send(typ, fields string) {
	b.t.Helper()
	b.seq++
	body := fmt.Sprintf("35=%s\x0134=%d\x0149=%s\x0152=%s\x0156=RINGEX\x01%s", typ, b.seq, b.comp,
		time.Now().UTC().Format("20060102-15:04:05.000"), fields)
	msg := fmt.Sprintf("8=FIX.4.4\x019=%d\x01%s", len(body), body)
	sum := 0
	for i := range len(msg) {
		sum += int(msg[i])
	}
	msg += fmt.Sprintf("10=%03d\x01", sum%256)
	if _, err := b.conn.Write([]byte(msg)); err != nil {
		b.t.Fatalf("%s: send %s: %v", b.comp, typ, err)
	}
}

// restSells sends n limit sells of 1 AAPL at 100, ClOrdIDs S0..S(n-1).
func (b *stalledBroker) restSells(n int) {
	b.t.Helper()
	for i := range n {
		b.send("D", fmt.Sprintf("11=S%d\x0155=AAPL\x0154=2\x0138=1\x0140=2\x0144=100\x0159=1\x0160=%s\x01",
			i, time.Now().UTC().Format("20060102-15:04:05.000")))
	}
}

// unread is the bytes the exchange has written into the connection that
// the broker has not read: the exchange socket's send queue (not yet
// acknowledged by the broker's kernel) and the broker socket's receive
// queue, from /proc/net/tcp.
func (b *stalledBroker) unread() int64 {
	b.t.Helper()
	n, err := b.unreadErr()
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// unreadErr is unread, for a goroutine other than the test's.
func (b *stalledBroker) unreadErr() (int64, error) {
	mine, peer := procAddr(b.conn.LocalAddr()), procAddr(b.conn.RemoteAddr())
	raw, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, fmt.Errorf("read /proc/net/tcp: %w", err)
	}
	var total int64
	found := 0
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		tx, rx, _ := strings.Cut(f[4], ":")
		switch {
		case f[1] == peer && f[2] == mine: // the exchange's socket
			n, _ := strconv.ParseInt(tx, 16, 64)
			total += n
			found++
		case f[1] == mine && f[2] == peer: // the broker's
			n, _ := strconv.ParseInt(rx, 16, 64)
			total += n
			found++
		}
	}
	if found != 2 {
		return 0, fmt.Errorf("/proc/net/tcp: %d sockets of %s ↔ %s, want 2", found, b.conn.LocalAddr(), b.conn.RemoteAddr())
	}
	return total, nil
}

// settledUnread is unread once two readings agree: the broker does not
// read meanwhile, so the flow stops once its window is full, or once the
// exchange writes no more. Bytes the broker's kernel holds and has not
// yet acknowledged (a delayed ACK) count twice, so unread may exceed the
// bytes written by up to the broker's receive window, never fall short
// of them: a bound that can only let a late report pass, by a few KiB.
func (b *stalledBroker) settledUnread() (int64, error) {
	last := int64(-1)
	var err error
	for range 1000 {
		var n int64
		// A socket changing state (the exchange closing) may be listed
		// twice, or not at all, in one reading: read again.
		if n, err = b.unreadErr(); err == nil && n == last {
			return n, nil
		}
		if err != nil {
			n = -1
		}
		last = n
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("the connection %s ↔ %s never settled: %v", b.conn.LocalAddr(), b.conn.RemoteAddr(), err)
}

// procAddr is a loopback TCP address as /proc/net/tcp writes it on a
// little-endian machine: 0100007F:1F90.
func procAddr(a net.Addr) string {
	ta := a.(*net.TCPAddr)
	ip := ta.IP.To4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ta.Port)
}

// waitBlocked waits until the exchange has written into the connection
// all it can: the unread bytes no longer grow (the session writer is
// blocked in a socket write). It returns them.
func (b *stalledBroker) waitBlocked() int64 {
	b.t.Helper()
	last, same := int64(-1), 0
	for range 6000 {
		n := b.unread()
		if n == last && n > 0 {
			if same++; same == 40 { // 200 ms unchanged
				return n
			}
		} else {
			same = 0
		}
		last = n
		time.Sleep(5 * time.Millisecond)
	}
	b.t.Fatal("the exchange's writes to the stalled broker never settled")
	return 0
}

// readSome reads what arrives within wait into buf, counting it.
func (b *stalledBroker) readSome(buf *bytes.Buffer, chunk int, wait time.Duration) error {
	b.conn.SetReadDeadline(time.Now().Add(wait))
	p := make([]byte, chunk)
	k, err := b.conn.Read(p)
	buf.Write(p[:k])
	b.read += int64(k)
	return err
}

// readAll reads until the connection is quiet for a second or ends.
func (b *stalledBroker) readAll(buf *bytes.Buffer) {
	b.t.Helper()
	for {
		if err := b.readSome(buf, 64<<10, time.Second); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
				b.t.Logf("%s: read ended: %v", b.comp, err)
			}
			return
		}
	}
}

// rawMsg is one whole message of a stream: its type, the journal seq of
// an ExecutionReport (ExecID / matcher.ExecIDStride; 0 otherwise) and
// where it ends in the stream.
type rawMsg struct {
	typ  string
	seq  int64
	end  int64
	text string
}

// splitFIX splits a stream of FIX messages into its whole messages; a
// message cut short at the end is left out.
func splitFIX(t *testing.T, stream []byte) []rawMsg {
	t.Helper()
	var out []rawMsg
	for at := 0; at < len(stream); {
		rest, begin := stream[at:], []byte("8=FIX.4.4\x019=")
		if len(rest) < len(begin) && bytes.HasPrefix(begin, rest) {
			break // a write cut short in the first bytes of a message
		}
		if !bytes.HasPrefix(rest, begin) {
			t.Fatalf("stream offset %d: not the start of a message: %q", at, rest[:min(len(rest), 40)])
		}
		head := len(begin)
		soh := bytes.IndexByte(rest[head:], 1)
		if soh < 0 {
			break
		}
		bodyLen, err := strconv.Atoi(string(rest[head : head+soh]))
		if err != nil {
			t.Fatalf("stream offset %d: BodyLength: %v", at, err)
		}
		n := head + soh + 1 + bodyLen + len("10=000\x01")
		if n > len(rest) {
			break
		}
		m := rawMsg{end: int64(at + n), text: string(rest[:n])}
		for _, f := range strings.Split(m.text, "\x01") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "35":
				m.typ = v
			case "17":
				id, _ := strconv.ParseInt(v, 10, 64)
				m.seq = id / matcher.ExecIDStride
			}
		}
		out = append(out, m)
		at += n
	}
	return out
}

// drainBroker keeps taking a fixtest client's messages until the test
// ends, so that it never stops reading; got returns them.
func drainBroker(t *testing.T, c *fixtest.Client) (got func() []*quickfix.Message) {
	msgs := make(chan []*quickfix.Message, 1)
	msgs <- nil
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			if ms := c.Drain(); len(ms) > 0 {
				all := <-msgs
				msgs <- append(all, ms...)
			}
		}
	}()
	return func() []*quickfix.Message { all := <-msgs; msgs <- all; return all }
}

// TestHandoffCutsTheOldPrimarysWriteToABrokerThatDoesNotRead: a broker
// rests thousands of orders on the primary of a shard led through etcd
// and reads nothing, so its acknowledgements (and the fills of some of
// them by a second broker) fill the socket buffers and the session writer
// blocks in a socket write. The primary hands the shard off
// ('ringex promote b'); the new primary acknowledges its first record to a
// third broker; only then does the stalled broker read. Everything it gets
// was in the connection when the handoff returned (the old term fenced):
// no report ends past those bytes, every report is of a seq the handoff's
// target held, and no broker of the old primary gets a report of a later
// seq.
func TestHandoffCutsTheOldPrimarysWriteToABrokerThatDoesNotRead(t *testing.T) {
	etcd := etcdtest.Start(t)
	// A lease long beside the handoff: the guard's deadline, which bounds
	// the blocked write, lies well after the new primary's first report.
	longLease := func(cfg *config.Config) { cfg.Cluster.LeaseTTLMs = 10000 }
	a, aFIX := runFIXShardNode(t, etcd, "a", longLease)
	b, bFIX := runFIXShardNode(t, etcd, "b", longLease)
	a.next(t)
	b.next(t)
	waitUntil(t, "one node leads", func() bool { return a.role() == config.RolePrimary || b.role() == config.RolePrimary })
	prim, primFIX, stby, stbyFIX := a, aFIX, b, bFIX
	if b.role() == config.RolePrimary {
		prim, primFIX, stby, stbyFIX = b, bFIX, a, aFIX
	}

	const resting, swept = 20000, 500
	stalled := dialStalled(t, primFIX, "BROKER01")
	stalled.restSells(resting)
	sweeper := fixtest.Dial(t, primFIX, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer sweeper.Close()
	sweeperGot := drainBroker(t, sweeper)
	waitUntil(t, "the resting orders journaled", func() bool { return lastSeq(prim.cur) >= resting })
	sweeper.Send("D", tag.ClOrdID, "SWEEP", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, strconv.Itoa(swept),
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "3")
	waitUntil(t, "the sweep reported", func() bool { return len(sweeperGot()) >= swept })
	waitUntil(t, "the standby has everything", func() bool { return lastSeq(stby.cur) == lastSeq(prim.cur) })
	blocked := stalled.waitBlocked()

	held, err := prim.cur.Handoff(stby.name)
	if err != nil {
		t.Fatalf("handoff to %s: %v", stby.name, err)
	}
	atFence := stalled.unread() // the broker has read nothing: all the old primary wrote to it
	waitUntil(t, "the standby promoted in place", func() bool { return stby.role() == config.RolePrimary })
	late := fixtest.Dial(t, stbyFIX, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer late.Close()
	late.Send("D", tag.ClOrdID, "NEW1", tag.Symbol, "MSFT", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "50", tag.TimeInForce, "1")
	first := expect(t, "the new primary's first report", late.Next(time.Minute), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "NEW1"})
	firstID, _ := strconv.ParseInt(first[tag.ExecID], 10, 64)
	if firstSeq := firstID / matcher.ExecIDStride; firstSeq <= held {
		t.Fatalf("the new primary's first report is of seq %d, not after the %d the handoff's target held", firstSeq, held)
	}

	var stream bytes.Buffer
	stalled.readAll(&stream)
	msgs := splitFIX(t, stream.Bytes())
	reports := 0
	for _, m := range msgs {
		if m.typ != "8" {
			continue
		}
		reports++
		if m.end > atFence {
			t.Fatalf("the stalled broker got a report ending at byte %d of its stream, after the fence (the old primary had written %d bytes then): %q",
				m.end, atFence, m.text)
		}
		if m.seq > held {
			t.Fatalf("the stalled broker got a report of seq %d from the old primary, after the %d the handoff held: %q", m.seq, held, m.text)
		}
	}
	for _, m := range sweeperGot() {
		if f := fixtest.Fields(m); f[tag.MsgType] == "8" {
			id, _ := strconv.ParseInt(f[tag.ExecID], 10, 64)
			if id/matcher.ExecIDStride > held {
				t.Fatalf("the sweeping broker got a report of seq %d from the old primary, after the %d the handoff held: %v", id/matcher.ExecIDStride, held, f)
			}
		}
	}
	if reports >= resting+swept {
		t.Fatalf("the stalled broker got all %d reports (%d bytes; %d unread when blocked): its writer was never blocked, the test shows nothing",
			reports, stalled.read, blocked)
	}
	t.Logf("blocked with %d bytes unread, %d at the fence; the stalled broker read %d bytes, %d whole reports of %d (seq ≤ %d held)",
		blocked, atFence, stalled.read, reports, resting+swept, held)
}

// written is one sample of what the exchange had written into the stalled
// broker's connection by an instant: the bytes read and those unread.
type written struct {
	at    time.Time
	bytes int64
}

// readSlowly reads the stalled broker's connection 1 KiB at a time, every
// 5 ms, sampling what the exchange had written after each read (until a
// sample fails), until fast is closed; then it reads the rest at once. It
// returns the stream and the samples when the connection ends or is quiet
// for a second.
func (b *stalledBroker) readSlowly(fast <-chan struct{}) <-chan slowRead {
	done := make(chan slowRead, 1)
	go func() {
		var r slowRead
		defer func() { done <- r }()
		for {
			select {
			case <-fast:
				b.readAll(&r.stream)
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := b.readSome(&r.stream, 1024, time.Second); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				<-fast
				return
			}
			if r.err != nil {
				continue // read on; the samples end here
			}
			n, err := b.settledUnread()
			if err != nil {
				r.err = err
				continue
			}
			r.samples = append(r.samples, written{time.Now(), b.read + n})
		}
	}()
	return done
}

type slowRead struct {
	stream  bytes.Buffer
	samples []written
	err     error
}

// TestLeaseLostStopsTheWriteToABrokerThatReadsSlowlyBeforeTheLeaseExpires:
// the primary of a shard led through etcd has megabytes of reports queued
// for a broker that reads slowly (1 KiB every 5 ms), so its session writer
// sits blocked in a socket write when etcd stops. The guard's deadline
// (the lease's earliest expiry, as the keep-alive failure line logs it,
// less the margin) bounds that write: the broker reads on slowly until a
// second after that expiry, then all that comes, to the end of its
// stream, and no report it gets ends past the bytes the primary had
// written into the connection at the expiry.
func TestLeaseLostStopsTheWriteToABrokerThatReadsSlowlyBeforeTheLeaseExpires(t *testing.T) {
	etcd := etcdtest.Start(t)
	// A lease of 3 s: under -race on a small machine a keep-alive of a 1 s
	// lease can come too late before etcd stops.
	a, aFIX := runFIXShardNode(t, etcd, "a", func(cfg *config.Config) {
		cfg.Replication.Mode, cfg.Cluster.LeaseTTLMs = config.ModeAsync, 3000
	})
	a.next(t)
	waitUntil(t, "the node leads", func() bool { return a.role() == config.RolePrimary })

	const resting = 20000
	stalled := dialStalled(t, aFIX, "BROKER01")
	stalled.restSells(resting)
	waitUntil(t, "the resting orders journaled", func() bool { return lastSeq(a.cur) >= resting })
	blocked := stalled.waitBlocked()

	fast := make(chan struct{})
	defer func() {
		select {
		case <-fast:
		default:
			close(fast)
		}
	}()
	reading := stalled.readSlowly(fast)
	time.Sleep(300 * time.Millisecond)
	before := len(a.logs.All()) // a keep-alive late before the stop is no loss of etcd
	stopped := make(chan struct{})
	go func() { etcd.Stop(); close(stopped) }()
	var expiry time.Time
	waitUntil(t, "a keep-alive fails", func() bool {
		var ok bool
		expiry, ok = expiryLogged(t, a.logs.All()[before:])
		return ok
	})
	time.Sleep(time.Until(expiry) + time.Second) // the broker reads on, slowly
	close(fast)
	r := <-reading
	<-stopped
	if r.err != nil {
		t.Logf("sampling the connection ended: %v", r.err)
	}

	atExpiry := int64(-1)
	for _, s := range r.samples {
		if !s.at.Before(expiry) {
			atExpiry = s.bytes
			break
		}
	}
	if atExpiry < 0 {
		t.Fatalf("no sample of the connection after the lease's earliest expiry %s (%d samples)", expiry.Format(time.RFC3339Nano), len(r.samples))
	}
	reports := 0
	for _, m := range splitFIX(t, r.stream.Bytes()) {
		if m.typ != "8" {
			continue
		}
		reports++
		if m.end > atExpiry {
			t.Fatalf("the broker got a report ending at byte %d of its stream, written after the lease's earliest expiry (%d bytes written then): %q",
				m.end, atExpiry, m.text)
		}
	}
	if reports >= resting {
		t.Fatalf("the broker got all %d reports (%d bytes): the writer was not blocked when the lease ran out, the test shows nothing", reports, stalled.read)
	}
	t.Logf("blocked with %d bytes unread; %d bytes written at the lease's earliest expiry; the broker read %d bytes, %d whole reports of %d; %d samples",
		blocked, atExpiry, stalled.read, reports, resting, len(r.samples))
}

// expiryLogged is the instant the first keep-alive failure line of lines
// says the lease may expire at.
func expiryLogged(t *testing.T, lines []string) (time.Time, bool) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(l, "keep-alive failed") {
			continue
		}
		_, at, _ := strings.Cut(l, " expires=")
		at, _, _ = strings.Cut(at, " ")
		ts, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			t.Fatalf("keep-alive failure line %q: %v", l, err)
		}
		return ts, true
	}
	return time.Time{}, false
}
