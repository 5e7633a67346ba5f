package fix

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBrokerThatNeverAnswersTheProbeIsLoggedOut: a broker whose engine
// goes on sending orders and Heartbeats of its own, and answers the
// TestRequest the reader sends after a silence, but never the writer's
// probe, is logged out once the probe has waited probeWait: a Logout whose
// Text names the probe and the wait (at least the bound), one log line
// saying so, then the connection ends. Its reports stay unconfirmed
// (Delivered 0), and its next Logon with ResetSeqNumFlag=Y gets every one
// carried over, PossResend=Y, in order; that connection's engine answers
// the probes, and a new report is delivered.
func TestBrokerThatNeverAnswersTheProbeIsLoggedOut(t *testing.T) {
	logs := newLineCounter()
	app := newSendApp()
	a := startAcceptor(t, Config{Log: slog.New(logs), Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.unprocessed = true // read returns the TestRequests: the loop below answers those it chooses
	c.send("A", "98=0|108=1|")
	if m := c.next(); string(m.MsgType()) != "A" {
		t.Fatalf("logon answered with %s", printable(m.Bytes()))
	}
	s := <-app.logons
	const n = 5
	var body Fields
	for mark := int64(1); mark <= n; mark++ {
		body.Reset()
		body.AddString(17, fmt.Sprintf("E%d", mark))
		s.SendMarked("8", nil, &body, mark)
	}

	// The broker: reads for 100 ms at a time, and after each quiet read
	// sends an order or a Heartbeat of its own, so the acceptor never
	// finds it silent; it answers TestRequests other than probes.
	bound := probeWait(time.Second)
	deadline := time.Now().Add(bound + 60*time.Second)
	probeID, text := "", ""
	for own := 0; text == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for the Logout (probe %q, bound %v)", bound+60*time.Second, probeID, bound)
		}
		m, err := c.read(100 * time.Millisecond)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if own++; own%2 == 0 {
				c.send("0", "")
			} else {
				c.send("D", strings.Replace(nos, "11=ID1", "11=B"+strconv.Itoa(own), 1))
			}
			continue
		}
		if err != nil {
			t.Fatalf("read: %v (the connection ended before a Logout with the reason)", err)
		}
		switch id := fieldOf(m, tagTestReqID); {
		case string(m.MsgType()) == "1" && strings.HasPrefix(id, probeIDPrefix):
			if probeID != "" && id != probeID {
				t.Fatalf("a second probe %s while %s is unanswered", id, probeID)
			}
			probeID = id
		case string(m.MsgType()) == "1":
			c.send("0", "112="+id+"|")
		case string(m.MsgType()) == "5":
			text = fieldOf(m, tagText)
		}
	}
	if probeID == "" {
		t.Fatalf("logged out (%q) without a probe", text)
	}
	got := regexp.MustCompile(`^TestRequest (\S+) unanswered for (\d+)s$`).FindStringSubmatch(text)
	if got == nil || got[1] != probeID {
		t.Fatalf("Logout Text %q, want \"TestRequest %s unanswered for Ns\"", text, probeID)
	}
	if secs, _ := strconv.Atoi(got[2]); time.Duration(secs)*time.Second < bound {
		t.Fatalf("Logout Text %q: logged out before the bound %v", text, bound)
	}
	c.send("5", "")
	c.expectClosed("0", "1")
	<-app.logouts
	if k, line := logs.lines("delivery probe unanswered"); k != 1 || !strings.Contains(line, "test_req_id="+probeID) {
		t.Fatalf("%d log lines about the unanswered probe, want 1 naming %s; last: %s", k, probeID, line)
	}
	if got := s.Delivered(); got != 0 {
		t.Fatalf("Delivered %d: the broker's engine answered no probe", got)
	}

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.logon("141=Y|")
	for mark := 1; mark <= n; {
		m := c2.next()
		if !m.PossResend() {
			t.Fatalf("got %s, want the reports carried over with PossResend=Y", printable(m.Bytes()))
		}
		if string(m.MsgType()) != "8" {
			continue // an answer to one of its orders, unconfirmed too
		}
		if fieldOf(m, 17) != fmt.Sprintf("E%d", mark) {
			t.Fatalf("got %s, want the report of mark %d carried over", printable(m.Bytes()), mark)
		}
		mark++
	}
	<-app.logons
	body.Reset()
	body.AddString(17, "E6")
	s.SendMarked("8", nil, &body, n+1)
	waitDelivered(t, c2, s, "Delivered to reach the new mark once the broker's engine answers the probes", n+1)
}

// TestAResendOverTheProbeSendsAnother: a broker that asks for a resend
// from before the outstanding probe gets a GapFill in its place, which
// its engine may take instead of the probe (it never answers it): the
// writer sends another probe after the resend, whose answer moves the
// marks on; the first probe's answer, should it come, confirms nothing.
func TestAResendOverTheProbeSendsAnother(t *testing.T) {
	_, _, c, s := loggedOn(t, 0, 0)
	c.unprocessed = true
	var body Fields
	body.AddString(17, "E1")
	s.SendMarked("8", nil, &body, 3)
	if m := c.next(); string(m.MsgType()) != "8" {
		t.Fatalf("got %s, want the report", printable(m.Bytes()))
	}
	first := c.next()
	if string(first.MsgType()) != "1" || !strings.HasPrefix(fieldOf(first, tagTestReqID), probeIDPrefix) {
		t.Fatalf("got %s, want the probe", printable(first.Bytes()))
	}
	firstID, firstSeq := fieldOf(first, tagTestReqID), first.SeqNum()
	c.send("2", "7=1|16=0|")
	second := ""
	for second == "" {
		m := c.next()
		switch {
		case string(m.MsgType()) == "1":
			second = fieldOf(m, tagTestReqID)
		case string(m.MsgType()) == "4" && m.SeqNum() <= firstSeq: // GapFills, the probe's among them
		case string(m.MsgType()) == "8" && m.PossDup():
		default:
			t.Fatalf("got %s, want the resend, then a probe", printable(m.Bytes()))
		}
	}
	if second == firstID || !strings.HasPrefix(second, probeIDPrefix) {
		t.Fatalf("after the resend the probe is %q, want a new one (the first was %s)", second, firstID)
	}
	c.send("0", "112="+firstID+"|")
	c.send("1", "112=mine|") // a round trip: the Heartbeat above is taken
	if m := c.next(); string(m.MsgType()) != "0" || fieldOf(m, tagTestReqID) != "mine" {
		t.Fatalf("got %s, want the Heartbeat answering ours", printable(m.Bytes()))
	}
	if got := s.Delivered(); got != 0 {
		t.Fatalf("Delivered %d on the answer to the probe the resend replaced", got)
	}
	c.send("0", "112="+second+"|")
	waitDelivered(t, c, s, "Delivered to reach 3 once the new probe is answered", 3)
}
