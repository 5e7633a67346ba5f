package marketdata

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestWholeBookSubscriptionSeesOnlyItsEntryTypes: a whole-book subscriber
// to every entry type hears an offer and then a bid; one to bids alone
// hears the bid and nothing of the offer.
func TestWholeBookSubscriptionSeesOnlyItsEntryTypes(t *testing.T) {
	f := testFeed(t)
	f.pass()
	all, bids := &recorder{begin: "FIX.4.4"}, &recorder{begin: "FIX.4.4"}
	f.request(all, requestMsg(t, "FIX.4.4", vBody("all", '1', 0, 1, "012", "AAA")))
	f.request(bids, requestMsg(t, "FIX.4.4", vBody("bids", '1', 0, 1, "0", "AAA")))
	all.take()
	bids.take()
	for i, side := range []matcher.Side{matcher.Sell, matcher.Buy} {
		ev := matcher.Event{Seq: int64(i + 1), OrderID: int64(i + 1), Type: matcher.EvAccepted, Symbol: 1, Side: side,
			OrdType: matcher.Limit, TIF: matcher.Day, Price: 1000 + int64(i)*-10, OrderQty: 5, LeavesQty: 5}
		f.Apply(&ev)
		f.EndBatch()
		f.pass()
	}
	typesOf := func(r *recorder) string {
		s := ""
		for _, m := range r.take() {
			for _, g := range groups(m.fields, tagMDUpdateAction) {
				s += value(g, tagMDEntryType)
			}
		}
		return s
	}
	if got := typesOf(all); got != "10" {
		t.Errorf("the subscriber to every entry type heard MDEntryTypes %q, want the offer then the bid (\"10\")", got)
	}
	if got := typesOf(bids); got != "0" {
		t.Errorf("the bids-only subscriber heard MDEntryTypes %q, want the bid alone (\"0\")", got)
	}
}
