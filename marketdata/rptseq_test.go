package marketdata

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestWholeBookRptSeqIsPerSymbolAcrossEntryTypes: FIX's RptSeq(83) is
// per instrument, one count across entry types. A whole-book subscriber
// to every entry type sees each RptSeq, in order, no gap: a gap would mean
// lost updates. A whole-book subscriber to bids alone skips the offer's
// update; its bid carries the symbol's RptSeq, the same as the full
// subscriber's, so its gap is the offer it did not ask for, not a loss.
func TestWholeBookRptSeqIsPerSymbolAcrossEntryTypes(t *testing.T) {
	f := testFeed(t)
	f.pass()
	all, bids := &recorder{begin: "FIX.4.4"}, &recorder{begin: "FIX.4.4"}
	f.request(all, requestMsg(t, "FIX.4.4", vBody("all", '1', 0, 1, "012", "AAA")))
	f.request(bids, requestMsg(t, "FIX.4.4", vBody("bids", '1', 0, 1, "0", "AAA")))
	last := value(all.take()[0].fields, tagRptSeq)
	bids.take()
	for i, side := range []matcher.Side{matcher.Sell, matcher.Buy} {
		ev := matcher.Event{Seq: int64(i + 1), OrderID: int64(i + 1), Type: matcher.EvAccepted, Symbol: 1, Side: side,
			OrdType: matcher.Limit, TIF: matcher.Day, Price: 1000 + int64(i)*-10, OrderQty: 5, LeavesQty: 5}
		f.Apply(&ev)
		f.EndBatch()
		f.pass()
	}
	bidSeq := map[string]string{} // MDEntryPx of a bid -> its RptSeq, as the full subscriber saw it
	for _, m := range all.take() {
		for _, g := range groups(m.fields, tagMDUpdateAction) {
			got := value(g, tagRptSeq)
			if want := fmt.Sprint(mustInt(t, last) + 1); got != want {
				t.Fatalf("RptSeq %s after %s: a whole-book subscriber to every entry type sees a gap with nothing lost", got, last)
			}
			last = got
			if value(g, tagMDEntryType) == "0" {
				bidSeq[value(g, tagMDEntryPx)] = got
			}
		}
	}
	n := 0
	for _, m := range bids.take() {
		for _, g := range groups(m.fields, tagMDUpdateAction) {
			n++
			if typ := value(g, tagMDEntryType); typ != "0" {
				t.Fatalf("MDEntryType %s sent to a bids-only subscription", typ)
			}
			if got, want := value(g, tagRptSeq), bidSeq[value(g, tagMDEntryPx)]; got != want {
				t.Fatalf("bid at %s: RptSeq %s to the bids-only subscriber, %s to the full one: RptSeq is the symbol's", value(g, tagMDEntryPx), got, want)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d bid entries to the bids-only subscriber, want 1", n)
	}
}

func mustInt(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
