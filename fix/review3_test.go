package fix

import "testing"

// TestResendRequestBeyondWhatWasSentChangesNoDelivery: a ResendRequest
// whose BeginSeqNo is past every MsgSeqNum sent (a broker's bug: nothing
// lacks there) says nothing of what the broker has. It must not fill the
// hole of a report the broker never got (sent while it was away):
// Delivered stays below that report's mark, so that a standby taking over
// would resend it. Today hadBefore takes min(BeginSeqNo, next) and counts
// every MsgSeqNum sent as had.
func TestResendRequestBeyondWhatWasSentChangesNoDelivery(t *testing.T) {
	a, app, c, s := loggedOn(t, 0, 0)
	var body Fields
	body.AddString(37, "O1")
	c.nc.Close()
	<-app.logouts
	s.SendMarked("8", nil, &body, 20) // MsgSeqNum 2, while away: the broker never gets it

	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.seq = 2
	c2.logon("") // MsgSeqNum 3
	s.SendMarked("8", nil, &body, 30)
	if m := c2.next(); m.SeqNum() != 4 {
		t.Fatalf("got %s, want the report of mark 30", printable(m.Bytes()))
	}
	waitAcked(t, s)
	if got := s.Delivered(); got >= 20 {
		t.Fatalf("Delivered %d before the broker had mark 20's message", got)
	}
	c2.send("2", "7=1000|16=0|") // past everything sent
	c2.send("1", "112=probe|")   // its Heartbeat comes after the ResendRequest is handled
	for range 10 {
		m := c2.next()
		if string(m.MsgType()) == "0" && fieldOf(m, 112) == "probe" {
			break
		}
	}
	if got := s.Delivered(); got >= 20 {
		t.Fatalf("Delivered %d after a ResendRequest from MsgSeqNum 1000 (only 1..4 were sent): mark 20's report, "+
			"sent while the broker was away and never resent, now counts as delivered", got)
	}
}
