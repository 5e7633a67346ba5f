package fix

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// client is a FIX initiator on a raw TCP (or TLS) connection built on this
// package's codec: the test counterparty, and the load generator of the
// benchmarks (quickfixgo's initiator is the slower side otherwise).
type client struct {
	tb           testing.TB
	nc           net.Conn
	begin        string
	sender       string // ours, the acceptor's TargetCompID
	target       string
	seq          int // next outbound MsgSeqNum
	buf          []byte
	r, w         int
	msg          Message
	out          []byte
	body, header Fields
	// unprocessed: the client's engine reads but processes nothing, so it
	// answers no TestRequest; by default it answers each one as it reads
	// it, as a FIX engine must, and does not return it.
	unprocessed bool
	answer      Fields
	backlog     [][]byte // read by pump, not yet returned by read
}

func dialClient(tb testing.TB, addr, begin, sender string, tlsConf *tls.Config) *client {
	tb.Helper()
	var nc net.Conn
	var err error
	if tlsConf != nil {
		nc, err = tls.Dial("tcp", addr, tlsConf)
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	return &client{tb: tb, nc: nc, begin: begin, sender: sender, target: "ISLD", seq: 1, buf: make([]byte, 1<<20)}
}

// fields turns "11=a|38=1|" into f.
func fields(f *Fields, s string) *Fields {
	f.Reset()
	for _, kv := range strings.Split(strings.TrimSuffix(s, "|"), "|") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		f.b = append(f.b, k...)
		f.b = append(f.b, '=')
		f.b = append(f.b, v...)
		f.b = append(f.b, soh)
	}
	return f
}

// queue encodes one message with the next MsgSeqNum into the output buffer.
func (c *client) queue(msgType string, header, body []byte) {
	c.out = appendMessage(c.out, c.begin, c.sender, c.target, msgType, c.seq, time.Now(), nil, header, body)
	c.seq++
}

func (c *client) flush() {
	if _, err := c.nc.Write(c.out); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
	c.out = c.out[:0]
}

// send sends one message; body is "tag=value|..." text.
func (c *client) send(msgType, body string) {
	c.queue(msgType, nil, fields(&c.body, body).b)
	c.flush()
}

// next returns the next message from the acceptor, failing the test after
// a generous wait.
func (c *client) next() *Message {
	c.tb.Helper()
	m, err := c.read(30 * time.Second)
	if err != nil {
		c.tb.Fatalf("read: %v", err)
	}
	return m
}

func (c *client) read(wait time.Duration) (*Message, error) {
	if len(c.backlog) > 0 {
		raw := c.backlog[0]
		c.backlog = c.backlog[1:]
		if err := c.msg.parse(raw); err != nil {
			return nil, err
		}
		return &c.msg, nil
	}
	for {
		status, n, why := frame(c.buf[c.r:c.w], 1<<16)
		switch status {
		case frameOK:
			raw := c.buf[c.r : c.r+n]
			c.r += n
			if err := c.msg.parse(raw); err != nil {
				return nil, err
			}
			if string(c.msg.MsgType()) == "1" && !c.unprocessed {
				id, _ := c.msg.Get(tagTestReqID)
				c.answer.Reset()
				c.answer.AddBytes(tagTestReqID, id)
				c.queue("0", nil, c.answer.b)
				if _, err := c.nc.Write(c.out); err != nil {
					return nil, err
				}
				c.out = c.out[:0]
				continue
			}
			return &c.msg, nil
		case frameGarbled:
			return nil, errors.New("acceptor sent garbage: " + why)
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		} else if c.w > len(c.buf)/2 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		c.nc.SetReadDeadline(time.Now().Add(wait))
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// waitDelivered waits, as waitFor, until s.Delivered() is want, reading
// meanwhile what the acceptor sends to c: c's engine answers the probes
// among it, and keeps the rest for read.
func waitDelivered(t *testing.T, c *client, s *Session, what string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.Delivered() != want {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s: Delivered is %d, want %d", what, s.Delivered(), want)
		}
		backlog := c.backlog
		c.backlog = nil
		m, err := c.read(time.Millisecond)
		if err == nil {
			backlog = append(backlog, append([]byte(nil), m.Bytes()...))
		}
		c.backlog = append(backlog, c.backlog...)
	}
}

// readOn reads, and drops, what the acceptor sends until the connection
// ends, answering the TestRequests (probes) among it: a broker's engine
// that goes on processing while the test waits for Delivered.
func (c *client) readOn() {
	go func() {
		for {
			if _, err := c.read(30 * time.Second); err != nil {
				return
			}
		}
	}()
}

// expectClosed reads until the acceptor closes the connection, failing on
// any message other than the allowed types.
func (c *client) expectClosed(allowed ...string) {
	c.tb.Helper()
	for {
		m, err := c.read(30 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
				return
			}
			c.tb.Fatalf("waiting for close: %v", err)
		}
		ok := false
		for _, t := range allowed {
			ok = ok || string(m.MsgType()) == t
		}
		if !ok {
			c.tb.Fatalf("got %s before close", printable(m.Bytes()))
		}
	}
}

func (c *client) logon(extra string) *Message {
	c.tb.Helper()
	c.send("A", "98=0|108=30|"+extra)
	m := c.next()
	if string(m.MsgType()) != "A" {
		c.tb.Fatalf("logon answered with %s", printable(m.Bytes()))
	}
	return m
}

func printable(b []byte) string { return strings.ReplaceAll(string(b), "\x01", "|") }

func fieldOf(m *Message, tag int) string {
	v, _ := m.Get(tag)
	return string(v)
}
