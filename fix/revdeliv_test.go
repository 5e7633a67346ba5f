package fix

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFenceEndsAWriteBlockedOnABrokerThatDoesNotRead: the guard was
// extended far ahead (keep-alives answered), and the writer is in one
// socket write to a broker that does not read when the leadership ends
// (the guard is fenced: MayDeliver says no from now on, as node's
// mayDeliver does with the zero Time). Nothing goes out once the term has
// ended: the broker, reading again after the fence, gets no more than the
// socket buffers (shrunk to a few KiB) held then, and none of the reports
// counts as delivered.
func TestFenceEndsAWriteBlockedOnABrokerThatDoesNotRead(t *testing.T) {
	allow, _, c, s, _ := heldSession(t)
	const reports = 2000 // about 520 KB, 60 times the shrunk socket buffers
	c.nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)
	s.mu.Lock()
	wireOf(s.conn).SetWriteBuffer(4096)
	s.mu.Unlock()
	s.flushMu.Lock() // the writer takes all of them in one write
	for i := 1; i <= reports; i++ {
		var body Fields
		body.AddString(37, "O"+strconv.Itoa(i))
		body.AddString(58, strings.Repeat("x", 200))
		if err := s.SendMarked("8", nil, &body, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	allow.openFor(time.Hour) // extended by keep-alives
	s.flushMu.Unlock()
	waitFor(t, "the writer blocked in its socket write", func() bool {
		if !s.flushMu.TryLock() {
			return true
		}
		s.flushMu.Unlock()
		return false
	})
	time.Sleep(200 * time.Millisecond)
	allow.Store(false) // fenced: the term has ended
	time.Sleep(300 * time.Millisecond)
	n := 0
	for {
		m, err := c.read(time.Second)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("broker reading after the fence: %v", err)
			}
			break
		}
		if string(m.MsgType()) == "8" {
			n++
		}
	}
	t.Logf("reports read after the fence: %d of %d", n, reports)
	if n > reports/2 {
		t.Fatalf("the broker got %d of %d reports after the guard was fenced: the blocked write went on "+
			"under the deadline it started with", n, reports)
	}
}
