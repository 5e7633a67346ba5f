package marketdata

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// TestTradesConflatedAwaySendSnapshot: when more than
// Options.MaxTradesPending trades wait for the market-data goroutine, the
// rest are conflated away. An incremental subscriber to the trades of
// their symbol must be told: after the pass's updates it gets a snapshot
// (W) of the symbol, which within a subscription says that what came
// before it was not all sent. A subscriber to the book alone lost nothing
// (the books are exact) and gets no snapshot.
func TestTradesConflatedAwaySendSnapshot(t *testing.T) {
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	f := New(Options{Symbols: []Symbol{{Name: "AAA", Tick: cent, Lot: gateway.ScaleOf(1)}}, MaxTradesPending: 2, Log: logtest.Discard()})
	f.pass()
	sub, book := &recorder{begin: "FIX.4.4"}, &recorder{begin: "FIX.4.4"}
	f.request(sub, requestMsg(t, "FIX.4.4", vBody("all", '1', 0, 1, "012", "AAA")))
	f.request(book, requestMsg(t, "FIX.4.4", vBody("book", '1', 0, 1, "01", "AAA")))
	if w := sub.take(); len(w) != 1 || w[0].msgType != "W" {
		t.Fatalf("subscribe: %v, want one W", w)
	}
	book.take()

	// The five sells rest (one batch, one pass), then one buy sweeps
	// them in one batch: five trades, more than MaxTradesPending (2).
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}}})
	var evs []matcher.Event
	trades, seq := 0, int64(0)
	batch := func(cmds ...matcher.Command) {
		for _, c := range cmds {
			seq++
			c.Seq = seq
			c.ClOrdID, _ = matcher.MakeClOrdID(fmt.Sprintf("o%d", seq))
			evs = e.Apply(&c, evs[:0])
			for k := range evs {
				if evs[k].Type == matcher.EvFill && evs[k].Side == matcher.Sell {
					trades++
				}
				f.Apply(&evs[k])
			}
		}
		f.EndBatch()
		f.pass()
	}
	var sells []matcher.Command
	for i := range 5 {
		sells = append(sells, matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, Side: matcher.Sell,
			Type: matcher.Limit, TIF: matcher.Day, Price: int64(1000 + i), Qty: 1})
	}
	batch(sells...)
	if m := sub.take(); len(m) != 1 || m[0].msgType != "X" {
		t.Fatalf("the sells rest: %v, want one X", m)
	}
	book.take()
	batch(matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 2, Side: matcher.Buy,
		Type: matcher.Limit, TIF: matcher.Day, Price: 1004, Qty: 5})
	if trades != 5 {
		t.Fatalf("the stream made %d trades, want 5", trades)
	}
	got := sub.take()
	tradeEntries := 0
	for _, m := range got {
		for _, g := range groups(m.fields, tagMDUpdateAction) {
			if value(g, tagMDEntryType) == "2" {
				tradeEntries++
			}
		}
	}
	if tradeEntries != 2 {
		t.Fatalf("%d trade entries sent, want MaxTradesPending (2): the test no longer conflates trades away", tradeEntries)
	}
	if n := len(got); n == 0 || got[n-1].msgType != "W" {
		t.Fatalf("%d trades, %d trade entries sent, and no snapshot after them: the %d trades conflated away are lost without a trace to the subscriber (%v)",
			trades, tradeEntries, trades-tradeEntries, got)
	}
	w := got[len(got)-1]
	if value(w.fields, tagMDReqID) != "all" || value(w.fields, tagSymbol) != "AAA" || value(w.fields, tagNoMDEntries) != "1" ||
		value(w.fields, tagMDEntryType) != "2" || value(w.fields, tagMDEntryPx) != "10.04" {
		t.Fatalf("snapshot after the lost trades: %v, want AAA's empty book and its last trade at 10.04", w.fields)
	}
	for _, m := range book.take() {
		if m.msgType != "X" {
			t.Fatalf("the subscriber to the book alone got %s %v: it lost nothing", m.msgType, m.fields)
		}
	}
}
