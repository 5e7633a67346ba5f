package marketdata

import (
	"math/rand/v2"
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

// TestLongPassSplitsIntoSeveralX: a pass with more entries than one
// incremental refresh carries goes out as several, each counted right,
// and two subscriptions that get the same entries get the same messages.
func TestLongPassSplitsIntoSeveralX(t *testing.T) {
	f := testFeed(t)
	f.pass()
	a, b := &recorder{begin: "FIX.4.4"}, &recorder{begin: "FIX.4.4"}
	f.request(a, requestMsg(t, "FIX.4.4", vBody("a", '1', 0, 1, "012", "AAA", "BBB")))
	f.request(b, requestMsg(t, "FIX.4.4", vBody("b", '1', 0, 1, "012", "AAA", "BBB")))
	books := map[*recorder]*rebuilt{a: newRebuilt(), b: newRebuilt()}
	for r, bk := range books {
		for _, m := range r.take() {
			bk.apply(t, m)
		}
	}
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}})
	var evs []matcher.Event
	for i := range 600 {
		cmd := matcher.Command{Seq: int64(i + 1), Kind: matcher.KindNew, Symbol: 1 + uint32(i%2), Account: 1, Side: matcher.Buy,
			Type: matcher.Limit, TIF: matcher.Day, Price: int64(100 + i), Qty: 1}
		cmd.ClOrdID, _ = matcher.MakeClOrdID("o" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		evs = e.Apply(&cmd, evs[:0])
		for k := range evs {
			f.Apply(&evs[k])
		}
	}
	f.EndBatch()
	f.pass()
	ma, mb := a.take(), b.take()
	if len(ma) != 3 || len(mb) != 3 {
		t.Fatalf("%d and %d messages for 600 entries, want 3 each (256 an X)", len(ma), len(mb))
	}
	for i := range ma {
		if n := value(ma[i].fields, tagNoMDEntries); n != [...]string{"256", "256", "88"}[i] {
			t.Errorf("X %d has NoMDEntries %s", i, n)
		}
		books[a].apply(t, ma[i])
		books[b].apply(t, mb[i])
	}
	for id, name := range testSymbols {
		checkBook(t, 600, &viewer{name: "a", book: books[a]}, name, e, uint32(id+1))
		checkBook(t, 600, &viewer{name: "b", book: books[b]}, name, e, uint32(id+1))
	}
}

// TestSubscriberBehindIsConflatedThenSnapshot: a subscriber whose socket
// has more than Options.BehindBytes waiting gets no updates, so market
// data never makes its session a slow consumer; once it has drained, it
// gets a snapshot of each symbol and updates again, and its book is the
// matcher's.
func TestSubscriberBehindIsConflatedThenSnapshot(t *testing.T) {
	f := testFeed(t)
	f.pass()
	slow, other := &recorder{}, &recorder{}
	f.request(slow, requestMsg(t, "FIX.4.4", vBody("s", '1', 0, 1, "012", "AAA", "BBB")))
	f.request(other, requestMsg(t, "FIX.4.4", vBody("o", '1', 0, 1, "012", "AAA")))
	book := newRebuilt()
	for _, m := range slow.take() {
		book.apply(t, m)
	}
	other.take()
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}})
	g := &orderGen{rng: rand.New(rand.NewPCG(3, 4))}
	var evs []matcher.Event
	step := func(n int) {
		for range n {
			g.seq++
			cmd := g.next(g.seq)
			evs = e.Apply(&cmd, evs[:0])
			g.observe(evs)
			for k := range evs {
				f.Apply(&evs[k])
			}
		}
		f.EndBatch()
		f.pass()
	}
	slow.queued = DefaultBehindBytes + 1
	for range 20 {
		step(5)
	}
	if m := slow.take(); len(m) != 0 {
		t.Fatalf("a subscriber behind was sent %d messages", len(m))
	}
	if len(other.take()) == 0 {
		t.Fatal("the other subscriber was held back too")
	}
	slow.queued = DefaultBehindBytes/2 + 1
	step(5)
	if m := slow.take(); len(m) != 0 {
		t.Fatalf("a subscriber not yet caught up was sent %d messages", len(m))
	}
	slow.queued = 0
	step(5)
	got := slow.take()
	if len(got) < 2 || got[0].msgType != "W" || got[1].msgType != "W" {
		t.Fatalf("after catching up: %d messages, want a W per symbol first", len(got))
	}
	for _, m := range got {
		book.apply(t, m)
	}
	for id, name := range testSymbols {
		checkBook(t, int(g.seq), &viewer{name: "slow", book: book}, name, e, uint32(id+1))
	}
}
