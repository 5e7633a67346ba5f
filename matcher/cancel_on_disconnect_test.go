package matcher

import "testing"

// TestCancelOnDisconnectToldApart: the cancels of a cancel-on-disconnect
// carry ReasonCancelOnDisconnect (its report's Text and the audit trail
// say so), those of a broker's own mass cancel ReasonMassCancel; both
// leave the same state behind, so old journals replay to their hashes.
func TestCancelOnDisconnectToldApart(t *testing.T) {
	cases := []struct {
		name string
		cmd  Command
		want Reason
	}{
		{"session_dropped", CancelOnDisconnect(7, 1), ReasonCancelOnDisconnect},
		{"broker_mass_cancel_day_scope", Command{Kind: KindMassCancel, Symbol: 1, Account: 7, TIF: Day, Qty: 1, Price: 1, ClOrdID: id("MASS")}, ReasonMassCancel},
		{"broker_mass_cancel_request", Command{Kind: KindMassCancel, Symbol: 1, Account: 7, TIF: GTC, Qty: 1, Price: 1, ClOrdID: id("MASS")}, ReasonMassCancel},
	}
	var hashes []uint64
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := New(testConfig())
			var evs []Event
			for i, o := range []Command{limit(7, "D1", Buy, 10, 100), limit(7, "D2", Buy, 10, 99)} {
				o.Seq = int64(i + 1)
				evs = e.Apply(&o, evs[:0])
			}
			cmd := c.cmd
			cmd.Seq = 3
			evs = e.Apply(&cmd, evs[:0])
			cancels := 0
			for _, ev := range evs {
				if ev.Type == EvCancelled {
					cancels++
					if ev.Reason != c.want {
						t.Errorf("cancel of order %d: reason %v, want %v", ev.OrderID, ev.Reason, c.want)
					}
				}
			}
			if cancels != 2 {
				t.Errorf("%d cancels, want 2", cancels)
			}
			hashes = append(hashes, e.Hash())
		})
	}
	for i := range hashes {
		if hashes[i] != hashes[0] {
			t.Errorf("state hash after %s %016x, after %s %016x", cases[i].name, hashes[i], cases[0].name, hashes[0])
		}
	}
	if got := ReasonCancelOnDisconnect.String(); got != "cancel_on_disconnect" {
		t.Errorf("name %q", got)
	}
}
