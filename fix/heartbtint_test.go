package fix

import (
	"strings"
	"testing"
	"time"
)

// TestLogonHeartBtIntOutOfRangeRefused: a Logon whose HeartBtInt(108) is
// negative, too long to read as a number, or past an hour is bad input:
// it is refused with a Logout whose Text names HeartBtInt, not taken as 0
// (heartbeats off) without a word.
func TestLogonHeartBtIntOutOfRangeRefused(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}, newEchoApp())
	for _, hb := range []string{"-30", "10000000000", "3601"} {
		c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
		c.send("A", "98=0|108="+hb+"|")
		m, err := c.read(10 * time.Second)
		if err != nil {
			t.Fatalf("no answer to a Logon with HeartBtInt %s: %v", hb, err)
		}
		if string(m.MsgType()) != "5" || !strings.Contains(fieldOf(m, tagText), "HeartBtInt") {
			t.Fatalf("Logon with HeartBtInt %s answered %s; want a Logout whose Text names HeartBtInt", hb, printable(m.Bytes()))
		}
	}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=3600|")
	if m, err := c.read(10 * time.Second); err != nil || string(m.MsgType()) != "A" {
		t.Fatalf("Logon with HeartBtInt 3600: %v %v, want a Logon back", m, err)
	}
}
