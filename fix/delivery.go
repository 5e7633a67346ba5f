package fix

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
)

// Delivery marks: how far a session's messages have reached the
// counterparty, for what must survive the loss of this process (a hot
// standby taking over resends what the counterparty may lack).
//
// The application tags a message with a mark (SendMarked), a number that
// only grows within a session. A mark is delivered once every byte up to
// the end of its message has been acknowledged by the counterparty's TCP
// stack: written to the socket is not enough, since the kernel drops what
// it still holds when the machine dies, and a killed process's socket may
// be reset before its send queue drains. Acknowledged bytes are the bytes
// written to the socket (wireConn counts them, below any TLS) less those
// still in its send queue (the kernel's unacknowledged count, outq);
// without that count (not Linux) what is written counts as delivered.

// wireListener hands out accepted TCP connections as wireConns, with
// Nagle off. It sits below the TLS listener, so that wireConn counts the
// bytes on the wire.
type wireListener struct{ net.Listener }

func (l wireListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		return &wireConn{TCPConn: tc}, nil
	}
	return c, err
}

// wireConn counts the bytes written to a TCP connection.
type wireConn struct {
	*net.TCPConn
	written atomic.Int64
}

func (c *wireConn) Write(b []byte) (int, error) {
	n, err := c.TCPConn.Write(b)
	c.written.Add(int64(n))
	return n, err
}

// acked is how many of the bytes written the counterparty's TCP stack has
// acknowledged. written is read before the send queue, so a write between
// the two can only make the answer smaller than the truth.
// ok is false when the socket cannot say (closed).
func (c *wireConn) acked() (n int64, ok bool) {
	w := c.written.Load()
	q, err := outq(c.TCPConn)
	if err != nil {
		return 0, false
	}
	return w - q, true
}

// wireOf finds the wireConn under nc; nil when there is none (a connection
// handed to the session by a test, say), and then what is written counts
// as delivered.
func wireOf(nc net.Conn) *wireConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	w, _ := nc.(*wireConn)
	return w
}

// delivery follows one session's marks from the socket to the
// counterparty. The writer (flush, resend) records each marked write;
// Delivered, called now and then (a replication heartbeat), asks the
// socket what has been acknowledged.
type delivery struct {
	mu        sync.Mutex
	conn      net.Conn  // the connection followed; nil: none
	wire      *wireConn // conn's; nil: none, or not a wireConn
	direct    bool      // a connection with no wireConn: written counts as delivered
	sent      [sentMax]sentMark
	head, n   int   // sent[head], ... n entries, oldest first
	delivered int64 // the highest delivered mark
}

// sentMark: mark's message ended at byte end of the connection.
type sentMark struct{ end, mark int64 }

// sentMax bounds the marked writes awaiting acknowledgement; past it, a
// write's mark replaces the newest one's, which then waits for the later
// end (later than needed, never earlier).
const sentMax = 256

// attach follows nc from now on; marks still waiting on the previous
// connection are dropped (not known to be delivered).
func (d *delivery) attach(nc net.Conn) {
	d.mu.Lock()
	d.conn = nc
	d.wire = wireOf(nc)
	d.direct = d.wire == nil
	d.head, d.n = 0, 0
	d.mu.Unlock()
}

// detach settles what the connection's peer has acknowledged before it
// closes, then stops following it.
func (d *delivery) detach() {
	d.mu.Lock()
	d.settleLocked()
	d.conn, d.wire, d.direct, d.head, d.n = nil, nil, false, 0, 0
	d.mu.Unlock()
}

// wrote records that a write to nc ending with mark's message has
// returned. A write to a connection no longer followed (one that returned
// after its connection detached) counts for nothing.
func (d *delivery) wrote(nc net.Conn, mark int64) {
	if mark == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case nc != d.conn:
	case d.direct:
		d.delivered = max(d.delivered, mark)
	case d.wire == nil:
	case d.n == sentMax:
		d.sent[(d.head+d.n-1)%sentMax] = sentMark{end: d.wire.written.Load(), mark: mark}
	default:
		d.sent[(d.head+d.n)%sentMax] = sentMark{end: d.wire.written.Load(), mark: mark}
		d.n++
	}
}

func (d *delivery) settleLocked() {
	if d.wire == nil || d.n == 0 {
		return
	}
	acked, ok := d.wire.acked()
	for ok && d.n > 0 && d.sent[d.head].end <= acked {
		d.delivered = max(d.delivered, d.sent[d.head].mark)
		d.head = (d.head + 1) % sentMax
		d.n--
	}
}

// Delivered is the highest mark (SendMarked) whose message, and every
// message before it, the counterparty's TCP stack has acknowledged; 0 when
// none. Any goroutine; one system call per call while marks are waiting.
func (s *Session) Delivered() int64 {
	d := &s.delivery
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	return d.delivered
}
