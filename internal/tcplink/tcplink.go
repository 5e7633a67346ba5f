// Package tcplink is a test helper: one direction of the network between
// two nodes on loopback, which a test cuts and heals to make a partition,
// or narrows and stalls to make a peer that stops reading.
package tcplink

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Link forwards TCP connections to a fixed address while it is up; while
// it is cut it closes every connection it holds and every one it is
// offered.
type Link struct {
	ln     net.Listener
	target string
	buf    int // socket buffers of the link's own sockets; 0: the system's
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
	// budget is how many more bytes the link passes from the target to
	// the dialer, over all its connections (Stall); -1: no limit.
	budget int64
	moved  *sync.Cond // on mu: budget or down changed
}

// Start listens on a free loopback port and forwards to target until the
// test ends.
func Start(t testing.TB, target string) *Link {
	return StartNarrow(t, target, 0)
}

// StartNarrow is Start with socket buffers of buf bytes on the link's own
// sockets (the kernel doubles them), so that once the link stops reading
// (Stall) the target's writes wait on its socket after little more than
// its own send buffer.
func StartNarrow(t testing.TB, target string, buf int) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{ln: ln, target: target, buf: buf, budget: -1}
	l.moved = sync.NewCond(&l.mu)
	t.Cleanup(func() { ln.Close(); l.Cut() })
	go l.accept()
	return l
}

func (l *Link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		var u net.Conn
		if !l.down {
			u, err = net.Dial("tcp", l.target)
		}
		if l.down || err != nil {
			l.mu.Unlock()
			c.Close()
			continue
		}
		if l.buf > 0 {
			u.(*net.TCPConn).SetReadBuffer(l.buf)
			c.(*net.TCPConn).SetWriteBuffer(l.buf)
		}
		l.conns = append(l.conns, c, u)
		l.mu.Unlock()
		go func() { io.Copy(u, c); u.Close(); c.Close() }()
		go func() { l.back(c, u); u.Close(); c.Close() }()
	}
}

// back forwards what the target sends on u to the dialer on c, within the
// budget, until either side ends or the link is cut.
func (l *Link) back(c, u net.Conn) {
	buf := make([]byte, 16<<10)
	for {
		l.mu.Lock()
		for l.budget == 0 && !l.down {
			l.moved.Wait()
		}
		n := len(buf)
		if l.budget >= 0 {
			n = int(min(int64(n), l.budget))
		}
		down := l.down
		l.mu.Unlock()
		if down {
			return
		}
		k, err := u.Read(buf[:n])
		if k > 0 {
			l.mu.Lock()
			if l.budget >= 0 {
				l.budget -= int64(k)
			}
			l.mu.Unlock()
			if _, werr := c.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Addr is where to connect to reach the target through the link.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Stall lets n more bytes through from the target to the dialer, over all
// the link's connections, then stops reading from the target (which the
// dialer sees as nothing more arriving) until Flow or Cut.
func (l *Link) Stall(n int64) {
	l.mu.Lock()
	l.budget = max(n, 0)
	l.moved.Broadcast()
	l.mu.Unlock()
}

// Stalled reports whether a Stall has let its last byte through.
func (l *Link) Stalled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.budget == 0
}

// Flow ends a Stall: the link passes everything on again.
func (l *Link) Flow() {
	l.mu.Lock()
	l.budget = -1
	l.moved.Broadcast()
	l.mu.Unlock()
}

// Cut closes every forwarded connection and refuses new ones.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
	l.moved.Broadcast()
}

// Heal forwards new connections again.
func (l *Link) Heal() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}
