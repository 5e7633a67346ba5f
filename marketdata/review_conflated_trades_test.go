package marketdata

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// TestReviewTradesConflatedAwayShowAsRptSeqGap: the package doc defines
// RptSeq(83) as counting "a symbol's updates since this node started:
// each trade and each change of a level is one", and promises that "a
// whole-book subscriber to all entry types sees every one, in order: a
// gap means lost updates" (FIX 4.4 RptSeq: the sequence of updates of an
// instrument, so a receiver detects what it missed). When more than
// Options.MaxTradesPending trades wait for the market-data goroutine, the
// rest are conflated away (the operator's log says so). A subscriber must
// then see a gap in RptSeq where the missing trades were, so it knows its
// trade tape (volume, VWAP) is incomplete. Today the dropped trades take
// no RptSeq: the subscriber gets fewer trade entries than trades, with
// RptSeqs that run on without a gap, and cannot tell anything was lost.
func TestReviewTradesConflatedAwayShowAsRptSeqGap(t *testing.T) {
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	f := New(Options{Symbols: []Symbol{{Name: "AAA", Tick: cent, Lot: gateway.ScaleOf(1)}}, MaxTradesPending: 2, Log: logtest.Discard()})
	f.pass()
	sub := &recorder{begin: "FIX.4.4"}
	f.request(sub, requestMsg(t, "FIX.4.4", vBody("all", '1', 0, 1, "012", "AAA")))
	w := sub.take()
	if len(w) != 1 || w[0].msgType != "W" {
		t.Fatalf("subscribe: %v, want one W", w)
	}
	before := mustInt(t, value(w[0].fields, tagRptSeq))

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
	seen := map[int]bool{}
	for _, m := range sub.take() {
		for _, g := range groups(m.fields, tagMDUpdateAction) {
			seen[mustInt(t, value(g, tagRptSeq))] = true
		}
	}
	batch(matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 2, Side: matcher.Buy,
		Type: matcher.Limit, TIF: matcher.Day, Price: 1004, Qty: 5})
	if trades != 5 {
		t.Fatalf("the stream made %d trades, want 5", trades)
	}
	tradeEntries, last := 0, before
	for _, m := range sub.take() {
		for _, g := range groups(m.fields, tagMDUpdateAction) {
			if value(g, tagMDEntryType) == "2" {
				tradeEntries++
			}
			rpt := mustInt(t, value(g, tagRptSeq))
			seen[rpt] = true
			last = max(last, rpt)
		}
	}
	gap := false
	for k := before + 1; k <= last; k++ {
		gap = gap || !seen[k]
	}
	if tradeEntries < trades && !gap {
		t.Fatalf("%d trades, %d trade entries sent, and RptSeq ran from %d to %d without a gap: the %d trades conflated away are lost without a trace to the subscriber",
			trades, tradeEntries, before, last, trades-tradeEntries)
	}
}
