package marketdata

import (
	"math/rand/v2"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// BenchmarkPublishStage is the feed's cost on the publish stage: Apply for
// every event of a random order stream of 20,000 commands, which ends with
// every order cancelled, and EndBatch every 8 commands; the goroutine's
// passes are left out (the pending levels are dropped as a pass would take
// them). One op is the whole stream; ns/event is per event. Once the maps
// have grown it allocates nothing. by_price is a node whose sessions ask
// for books by price only (the default), by_order one where a session may
// ask for books by order, so the tap hands on every order's change.
func BenchmarkPublishStage(b *testing.B) {
	b.Run("by_price", func(b *testing.B) { benchPublishStage(b, testFeedByOrder(b, nil)) })
	b.Run("by_order", func(b *testing.B) { benchPublishStage(b, testFeed(b)) })
}

func benchPublishStage(b *testing.B, f *Feed) {
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}})
	g := &orderGen{rng: rand.New(rand.NewPCG(1, 2))}
	var stream [][]matcher.Event
	events := 0
	for i := range 20000 {
		cmd := g.next(int64(i + 1))
		if cmd.Kind == matcher.KindEndOfDay {
			continue
		}
		stream = append(stream, e.Apply(&cmd, nil))
		g.observe(stream[len(stream)-1])
	}
	for acct := uint32(1); acct <= 3; acct++ {
		for sym := uint32(1); sym <= 2; sym++ {
			cmd := matcher.MassCancel{Account: acct, Symbol: sym, Scope: matcher.ScopeAllOrders}.Command()
			cmd.Seq = int64(len(stream) + 1)
			stream = append(stream, e.Apply(&cmd, nil))
		}
	}
	for _, evs := range stream {
		events += len(evs)
	}
	run := func() {
		for i, evs := range stream {
			for k := range evs {
				f.Apply(&evs[k])
			}
			if i%8 == 7 {
				f.EndBatch()
				f.mu.Lock()
				clear(f.pend.levels)
				clear(f.pend.orders)
				clear(f.pend.days)
				f.pend.trades = f.pend.trades[:0]
				f.mu.Unlock()
			}
		}
		f.EndBatch()
	}
	run() // grow the maps
	if len(f.tap.orders) != 0 || len(f.tap.levels) != 0 {
		b.Fatalf("the stream leaves %d orders in %d levels", len(f.tap.orders), len(f.tap.levels))
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}
