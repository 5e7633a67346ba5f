package fix

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestReviewProbeWaitStartsWhenTheBrokerCouldSeeIt: a broker that reads
// steadily but slowly (a busy link, a slow host) and answers every
// TestRequest the moment it reads it, sending its Heartbeats all along,
// does everything FIX asks. A venue may call it a slow consumer
// (OutQueueMaxBytes), but must not log it out for "TestRequest C<n>
// unanswered": the broker never had the TestRequest in hand for
// probeWait.
//
// ringex: delivery.wrote stamps probeAt when the socket write that carried
// the probe returns, i.e. when its bytes are in this host's kernel, not
// when the broker's TCP stack acknowledged them. Behind a burst of
// reports, the probe sits in the socket buffers (send queue plus the
// broker's receive window, MBs on loopback and on a fast WAN) for as long
// as the broker takes to read them, and the reader's probeOverdue logs
// the broker out once that exceeds probeWait (5 s at HeartBtInt 1). The
// wait could begin when the probe's end byte is acknowledged (the
// delivery already knows each write's end and the kernel's outq).
func TestReviewProbeWaitStartsWhenTheBrokerCouldSeeIt(t *testing.T) {
	app := newSendApp()
	a := startAcceptor(t, Config{OutQueueMaxBytes: 64 << 20, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=1|")
	if m := c.next(); string(m.MsgType()) != "A" {
		t.Fatalf("logon answered with %s", printable(m.Bytes()))
	}
	s := <-app.logons
	const n = 3000
	var body Fields
	pad := strings.Repeat("x", 1000)
	for mark := int64(1); mark <= n; mark++ { // ~3 MB of reports
		body.Reset()
		body.AddString(17, fmt.Sprintf("E%d", mark))
		body.AddString(58, pad)
		if err := s.SendMarked("8", nil, &body, mark); err != nil {
			t.Fatalf("SendMarked %d: %v", mark, err)
		}
	}
	// The broker reads ~100 reports (~100 KB) a second, answers every
	// TestRequest as it reads it, and sends a Heartbeat of its own every
	// 500 ms, so it is never silent.
	c.unprocessed = true
	trySend := func(msgType, b string) error {
		c.queue(msgType, nil, fields(&c.body, b).b)
		_, err := c.nc.Write(c.out)
		c.out = c.out[:0]
		return err
	}
	ended := func(reports int, probeSeen time.Time, why string) {
		seen := "had not reached the broker yet"
		if !probeSeen.IsZero() {
			seen = fmt.Sprintf("reached the broker %v before (answered at once)", time.Since(probeSeen).Round(time.Millisecond))
		}
		t.Fatalf("%s after %d of %d reports; the probe %s: a broker answering every TestRequest as it reads it was logged out", why, reports, n, seen)
	}
	deadline := time.Now().Add(90 * time.Second)
	lastHB := time.Now()
	reports := 0
	var probeSeen time.Time
	for reports < n {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d reports in 90 s", reports, n)
		}
		if time.Since(lastHB) >= 500*time.Millisecond {
			if err := trySend("0", ""); err != nil {
				ended(reports, probeSeen, "connection ended ("+err.Error()+")")
			}
			lastHB = time.Now()
		}
		m, err := c.read(100 * time.Millisecond)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			ended(reports, probeSeen, "connection ended ("+err.Error()+")")
		}
		switch string(m.MsgType()) {
		case "8":
			reports++
			time.Sleep(10 * time.Millisecond)
		case "1":
			id := fieldOf(m, tagTestReqID)
			if strings.HasPrefix(id, probeIDPrefix) && probeSeen.IsZero() {
				probeSeen = time.Now()
			}
			if err := trySend("0", "112="+id+"|"); err != nil {
				ended(reports, probeSeen, "connection ended ("+err.Error()+")")
			}
		case "5":
			ended(reports, probeSeen, fmt.Sprintf("Logout %q", fieldOf(m, tagText)))
		}
	}
	c.unprocessed = false
	waitDelivered(t, c, s, "every report delivered", n)
}
