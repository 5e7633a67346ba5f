package fix

import (
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRejectsLoggedAsCounts: a broker whose engine sends 30 orders without
// OrdType(40) and 20 with a repeated tag gets 50 session Rejects, and the
// log gets the first with its message, then the other 49 as counts per
// reason (at the latest when the connection ends): not a line per order,
// and none lost.
func TestRejectsLoggedAsCounts(t *testing.T) {
	logs := newLineCounter()
	a := startAcceptor(t, Config{Log: slog.New(logs), Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	noOrdType := strings.Replace(nos, "40=2|", "", 1)
	const missing, repeated = 30, 20
	for i := range missing + repeated {
		body := noOrdType
		if i >= missing {
			body = nos + "35=D|"
		}
		c.queue("D", nil, fields(&c.body, body).b)
	}
	c.flush()
	for i := range missing + repeated {
		if m := c.next(); string(m.MsgType()) != "3" {
			t.Fatalf("message %d answered with %s, want a Reject", i, printable(m.Bytes()))
		}
	}
	c.send("5", "")
	c.expectClosed("5")
	for range 3000 { // the summary is logged as the connection ends, before "logged out"
		if n, _ := logs.lines("logged out"); n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, line := logs.lines(`msg="message rejected"`); n != 1 {
		t.Errorf("%d lines for one message each (%q), want 1: the first", n, line)
	}
	count := regexp.MustCompile(`msg="messages rejected" .*?reason="([^"]+)" count=(\d+)`)
	logs.mu.Lock()
	all := logs.buf.String()
	logs.mu.Unlock()
	got := map[string]int{}
	for _, m := range count.FindAllStringSubmatch(all, -1) {
		n, _ := strconv.Atoi(m[2])
		got[m[1]] += n
	}
	want := map[string]int{reasonText(ReasonRequiredTagMissing): missing - 1, reasonText(ReasonTagRepeated): repeated}
	if len(got) != len(want) || got[reasonText(ReasonRequiredTagMissing)] != missing-1 || got[reasonText(ReasonTagRepeated)] != repeated {
		t.Errorf("counts logged: %v, want %v; log:\n%s", got, want, all)
	}
}
