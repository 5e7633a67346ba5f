package marketdata

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestSymbolNamedTwiceInOneRequestReportsEachTradeOnce: a MarketDataRequest
// that names one symbol twice in NoRelatedSym (a broker's bug, or two
// lines of one screen) must not make each trade, and each level change,
// appear twice in its incremental refreshes: a subscriber that sums trade
// entries counts twice the volume. Either the
// request is refused (Y) or the symbol counts once.
func TestSymbolNamedTwiceInOneRequestReportsEachTradeOnce(t *testing.T) {
	f := testFeed(t)
	f.pass()
	r := &recorder{begin: "FIX.4.4"}
	f.request(r, requestMsg(t, "FIX.4.4", vBody("dup", '1', 0, 1, "012", "AAA", "AAA")))
	got := r.take()
	if len(got) == 1 && got[0].msgType == "Y" {
		return // refused: fine
	}
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}})
	var evs []matcher.Event
	for i, c := range []matcher.Command{
		{Kind: matcher.KindNew, Symbol: 1, Account: 1, Side: matcher.Sell, Type: matcher.Limit, TIF: matcher.Day, Price: 1000, Qty: 5},
		{Kind: matcher.KindNew, Symbol: 1, Account: 2, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.Day, Price: 1000, Qty: 2},
	} {
		c.Seq = int64(i + 1)
		c.ClOrdID, _ = matcher.MakeClOrdID("o" + string(rune('a'+i)))
		evs = e.Apply(&c, evs[:0])
		for k := range evs {
			f.Apply(&evs[k])
		}
	}
	f.EndBatch()
	f.pass()
	trades := 0
	for _, m := range r.take() {
		if m.msgType != "X" {
			continue
		}
		for _, g := range groups(m.fields, tagMDUpdateAction) {
			if value(g, tagMDEntryType) == "2" {
				trades++
			}
		}
	}
	if trades != 1 {
		t.Errorf("one trade, %d trade entries sent to the subscription that named AAA twice", trades)
	}
}
