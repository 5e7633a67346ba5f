package fix

import (
	"testing"
	"time"
)

// TestHeldReportDroppedAtStopIsNotDelivered: Stop while MayDeliver says no
// (node.stopFIX when a lease expired) writes only the Logout and waits
// for the broker's TCP stack to acknowledge it. The held report of mark
// 10, dropped from that write (adminOnly), never reached the broker; yet
// flush records the write as carrying it (delivery.wrote with the whole
// queue's runs and mark after delivery.lost), so the Logout's
// acknowledgement counts it delivered: Delivered (and the acknowledged
// watermark kept for the next start) says the broker has a report it
// never got, and a reset logon would not carry it over.
func TestHeldReportDroppedAtStopIsNotDelivered(t *testing.T) {
	allow, _, c, s, a := heldSession(t)
	allow.Store(false)
	var body Fields
	body.AddString(37, "O1")
	if err := s.SendMarked("8", nil, &body, 10); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() { // the broker reads the Logout and keeps its socket open
		defer close(read)
		for {
			m, err := c.read(5 * time.Second)
			if err != nil {
				return
			}
			if string(m.MsgType()) == "8" {
				t.Errorf("the held report reached the broker: %s", printable(m.Bytes()))
			}
		}
	}()
	a.StopWith("lease expired")
	<-read // Stop closed the connection
	if d := s.Delivered(); d >= 10 {
		t.Errorf("Delivered() = %d after Stop, but the report of mark 10 was held and dropped unsent (only the Logout went out)", d)
	}
}
