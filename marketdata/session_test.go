package marketdata

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestSubscriptionsEndWithTheSession: when a session's connection ends
// (Logout, a drop, a slow consumer disconnected), its subscriptions go
// with it: nothing more is sent to it, and another session's stay.
func TestSubscriptionsEndWithTheSession(t *testing.T) {
	f := testFeed(t)
	f.pass()
	gone, stays := &recorder{begin: "FIX.4.4"}, &recorder{begin: "FIX.4.2"}
	f.request(gone, requestMsg(t, "FIX.4.4", vBody("a", '1', 0, 1, "01", "AAA")))
	f.request(gone, requestMsg(t, "FIX.4.4", vBody("b", '1', 1, 1, "01", "AAA", "BBB")))
	f.request(stays, requestMsg(t, "FIX.4.2", vBody("a", '1', 0, 1, "01", "AAA")))
	if n := f.Subscriptions(); n != 3 {
		t.Fatalf("%d subscriptions, want 3", n)
	}
	f.sessionEnded(gone)
	if n := f.Subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions after the session ended, want 1", n)
	}
	gone.take()
	stays.take()
	ev := matcher.Event{Seq: 1, OrderID: 1, Type: matcher.EvAccepted, Symbol: 1, Side: matcher.Buy, OrdType: matcher.Limit,
		TIF: matcher.Day, Price: 1000, OrderQty: 5, LeavesQty: 5}
	f.Apply(&ev)
	f.EndBatch()
	f.pass()
	if m := gone.take(); len(m) != 0 {
		t.Errorf("the ended session was sent %v", m)
	}
	if m := stays.take(); len(m) != 1 || m[0].msgType != "X" {
		t.Errorf("the other session got %v, want one X", m)
	}
}
