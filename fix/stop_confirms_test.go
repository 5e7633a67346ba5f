package fix

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestCleanStopConfirmsReportsWrittenAfterTheOutstandingProbe: a clean
// Stop asks each broker's engine to confirm its last reports, so that the
// next start carries over only what a broker may lack (acceptor.go Stop,
// confirmBeforeStop). A report written after a probe that was already
// outstanding is confirmed too: once that probe is answered,
// confirmBeforeStop sends the next one before the Logout, so the broker,
// which answers every TestRequest at once, is not sent the report again
// after the restart, and the mark a standby is given is the last report's.
func TestCleanStopConfirmsReportsWrittenAfterTheOutstandingProbe(t *testing.T) {
	a, _, c, s := loggedOn(t, 0, 0)
	c.unprocessed = true
	var body Fields
	body.AddString(17, "E1")
	s.SendMarked("8", nil, &body, 1)
	if m := c.next(); string(m.MsgType()) != "8" {
		t.Fatalf("got %s, want the first report", printable(m.Bytes()))
	}
	probe := c.next()
	if string(probe.MsgType()) != "1" || !strings.HasPrefix(fieldOf(probe, tagTestReqID), probeIDPrefix) {
		t.Fatalf("got %s, want the probe", printable(probe.Bytes()))
	}
	firstID := fieldOf(probe, tagTestReqID)
	body.Reset()
	body.AddString(17, "E2")
	s.SendMarked("8", nil, &body, 2)
	if m := c.next(); string(m.MsgType()) != "8" {
		t.Fatalf("got %s, want the second report", printable(m.Bytes()))
	}

	done := make(chan struct{})
	go func() { a.Stop(); close(done) }()
	// Stop has begun once the listener refuses; its probes go out right
	// after (a slow start here could only make the test pass, not fail).
	for i := 0; i < 1000; i++ {
		nc, err := net.DialTimeout("tcp", a.addr, time.Second)
		if err != nil {
			break
		}
		nc.Close()
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)

	// The broker's engine now answers the outstanding probe, then every
	// TestRequest as it reads it, and the Logout.
	c.send("0", "112="+firstID+"|")
	c.unprocessed = false
	go func() {
		for {
			m, err := c.read(30 * time.Second)
			if err != nil {
				return
			}
			if string(m.MsgType()) == "5" {
				c.queue("5", nil, nil)
				c.nc.Write(c.out)
				c.out = c.out[:0]
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Stop did not return in 30 s")
	}
	if got := s.Delivered(); got != 2 {
		t.Fatalf("Delivered %d after a clean Stop, want 2: the broker answered every TestRequest, but the report written after the outstanding probe was never confirmed", got)
	}
}
