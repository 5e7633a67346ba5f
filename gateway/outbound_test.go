package gateway

import (
	"strconv"
	"testing"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// publisher is a gateway of n sessions, none logged on, with file stores:
// Publish does all its work (mark, report, the session's queue) and the
// sessions' writers put the reports in their stores.
func publisher(tb testing.TB, n int) *Gateway {
	tb.Helper()
	opts := Options{Listen: "127.0.0.1:0", SenderCompID: "RINGEX", StoreDir: tb.TempDir(), Log: logtest.New(tb),
		Symbols: []Symbol{{Name: "AAPL", Tick: ScaleOf(1), Lot: ScaleOf(1)}}}
	for i := range n {
		opts.Sessions = append(opts.Sessions, Session{BeginString: "FIX.4.4", TargetCompID: "BROKER" + strconv.Itoa(i+1)})
	}
	g, err := New(opts, noSubmit{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(g.Stop)
	return g
}

// publishFill publishes the i-th of a run of fills, each command's going
// to the next account in turn.
func publishFill(g *Gateway, ev *matcher.Event, i int) {
	accounts := len(g.opts.Sessions)
	ev.Seq = int64(i + 1)
	ev.Account = uint32(i%accounts + 1)
	ev.OrderID, ev.ExecID = ev.Seq, ev.Seq*matcher.ExecIDStride
	g.Publish(ev)
}

var fillEvent = matcher.Event{Symbol: 1, Type: matcher.EvFill, OrderQty: 10, CumQty: 4, LeavesQty: 6,
	LastQty: 4, LastPx: 10000, CumNotional: 40000, Price: 10000}

// TestPublishAllocatesNothing: the publish stage's per-event work, from
// the delivery mark to the session's queue, allocates nothing once the
// queues have grown.
func TestPublishAllocatesNothing(t *testing.T) {
	g := publisher(t, 4)
	ev := fillEvent
	i := 0
	for range 1000 {
		publishFill(g, &ev, i)
		i++
	}
	if n := testing.AllocsPerRun(1000, func() { publishFill(g, &ev, i); i++ }); n != 0 {
		t.Errorf("Publish allocates %v times an event", n)
	}
}

// BenchmarkPublish measures Publish for fills spread over 8 sessions:
//
//	go test ./gateway -run XXX -bench Publish -benchmem
func BenchmarkPublish(b *testing.B) {
	g := publisher(b, 8)
	ev := fillEvent
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		publishFill(g, &ev, i)
		i++
	}
}
