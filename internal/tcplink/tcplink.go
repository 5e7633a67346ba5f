// Package tcplink is a test helper: one direction of the network between
// two nodes on loopback, which a test cuts and heals to make a partition.
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
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

// Start listens on a free loopback port and forwards to target until the
// test ends.
func Start(t testing.TB, target string) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{ln: ln, target: target}
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
		l.conns = append(l.conns, c, u)
		l.mu.Unlock()
		go func() { io.Copy(u, c); u.Close(); c.Close() }()
		go func() { io.Copy(c, u); u.Close(); c.Close() }()
	}
}

// Addr is where to connect to reach the target through the link.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Cut closes every forwarded connection and refuses new ones.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// Heal forwards new connections again.
func (l *Link) Heal() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}
