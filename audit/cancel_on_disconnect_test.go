package audit

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestTrailTellsCancelOnDisconnectFromMassCancel: the audit trail gives
// the cancels of a cancel-on-disconnect the reason cancel_on_disconnect,
// those of a broker's own mass cancel mass_cancel.
func TestTrailTellsCancelOnDisconnectFromMassCancel(t *testing.T) {
	dir := t.TempDir()
	day := func(account uint32, id string) matcher.Command {
		cl, _ := matcher.MakeClOrdID(id)
		return matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: account, Side: matcher.Buy, Type: matcher.Limit,
			TIF: matcher.Day, Price: 100, Qty: 1, ClOrdID: cl}
	}
	mass, _ := matcher.MakeClOrdID("MASS")
	cmds := []matcher.Command{
		day(1, "A1"), matcher.CancelOnDisconnect(1, 1),
		day(2, "B1"), {Kind: matcher.KindMassCancel, Symbol: 1, Account: 2, TIF: matcher.GTC, Qty: 1, Price: 1, ClOrdID: mass},
	}
	for i := range cmds {
		cmds[i].Seq = int64(i + 1)
	}
	writeJournal(t, dir, cmds, 1<<20)
	want := map[float64]string{2: "cancel_on_disconnect", 4: "mass_cancel"}
	found := 0
	for _, r := range trailJSON(t, TrailOptions{Dir: dir, Venue: testVenue(t)}) {
		if r["row"] != "event" || r["what"] != "cancelled" {
			continue
		}
		found++
		if seq, _ := r["seq"].(float64); r["reason"] != want[seq] {
			t.Errorf("cancel of command %v: reason %v, want %q", r["seq"], r["reason"], want[seq])
		}
	}
	if found != 2 {
		t.Errorf("%d cancel rows, want 2", found)
	}
}
