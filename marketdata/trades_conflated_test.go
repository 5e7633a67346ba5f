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
	s := NewConflationStream(f, f.pass)
	s.RestFiveSells()
	if m := sub.take(); len(m) != 1 || m[0].msgType != "X" {
		t.Fatalf("the sells rest: %v, want one X", m)
	}
	book.take()
	s.SweepFiveSells()
	trades := s.Trades
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

// ConflationStream is the stream of the tests of trades conflated away
// (this file's, and TestRptSeqGapOnTradesConflatedAway in package
// marketdata_test, hence exported): commands of symbol 1 run through a
// matcher into a feed, one batch a call, as the publish stage hands them
// on, with the trades counted.
type ConflationStream struct {
	Trades int // the fills of the sell side: one a trade

	feed  *Feed
	after func() // run after each batch's EndBatch, if not nil
	e     *matcher.Engine
	evs   []matcher.Event
	seq   int64
}

// NewConflationStream is a stream into f, after run after each batch.
func NewConflationStream(f *Feed, after func()) *ConflationStream {
	return &ConflationStream{feed: f, after: after, e: matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}}})}
}

// Batch runs cmds, numbered on (Seq, and ClOrdID "o" and Seq), and ends
// the feed's batch.
func (s *ConflationStream) Batch(cmds ...matcher.Command) {
	for _, c := range cmds {
		s.seq++
		c.Seq = s.seq
		c.ClOrdID, _ = matcher.MakeClOrdID(fmt.Sprintf("o%d", s.seq))
		s.evs = s.e.Apply(&c, s.evs[:0])
		for k := range s.evs {
			if s.evs[k].Type == matcher.EvFill && s.evs[k].Side == matcher.Sell {
				s.Trades++
			}
			s.feed.Apply(&s.evs[k])
		}
	}
	s.feed.EndBatch()
	if s.after != nil {
		s.after()
	}
}

// RestFiveSells rests five sells of one lot (account 1) at 1000 to 1004
// ticks, in one batch.
func (s *ConflationStream) RestFiveSells() {
	var sells []matcher.Command
	for i := range 5 {
		sells = append(sells, matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, Side: matcher.Sell,
			Type: matcher.Limit, TIF: matcher.Day, Price: int64(1000 + i), Qty: 1})
	}
	s.Batch(sells...)
}

// SweepFiveSells sends one buy of five lots (account 2) at 1004 ticks, in
// one batch: after RestFiveSells, five trades.
func (s *ConflationStream) SweepFiveSells() {
	s.Batch(matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 2, Side: matcher.Buy,
		Type: matcher.Limit, TIF: matcher.Day, Price: 1004, Qty: 5})
}
