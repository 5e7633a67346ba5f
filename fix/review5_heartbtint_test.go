package fix

import (
	"strings"
	"testing"
	"time"
)

// TestReview5NegativeHeartBtIntRefused: a Logon whose HeartBtInt(108) is
// negative (-30) is bad input: FIX requires 0 or more, and QuickFIX
// refuses it with a Logout ("HeartBtInt must not be negative"). Today
// acceptLogon reads it with GetInt, whose failure it ignores, so -30
// becomes 0: the Logon is answered with 108=0 and the session is logged
// on with heartbeats off (no Heartbeat, no TestRequest: onTimer returns
// at hb <= 0), which the broker never asked for, without a word. The
// test wants the Logon refused with a Logout whose Text names HeartBtInt.
func TestReview5NegativeHeartBtIntRefused(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=-30|")
	m, err := c.read(10 * time.Second)
	if err != nil {
		t.Fatalf("no answer to a Logon with HeartBtInt -30: %v", err)
	}
	if string(m.MsgType()) != "5" || !strings.Contains(fieldOf(m, tagText), "HeartBtInt") {
		t.Fatalf("Logon with HeartBtInt -30 answered %s; want a Logout whose Text names HeartBtInt", printable(m.Bytes()))
	}
}
