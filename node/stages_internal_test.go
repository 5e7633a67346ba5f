package node

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// recorder is a Publisher that keeps a copy of every event.
type recorder struct{ evs []matcher.Event }

func (r *recorder) Publish(ev *matcher.Event) { r.evs = append(r.evs, *ev) }

// TestStagesHandleOneSlot drives the match and publish stages one slot at a
// time, without a ring: each partition applies only the slots of its own
// symbols, and publish hands on a slot's events, inline then spilled, in
// the order the engine produced them; the first order opens the day.
func TestStagesHandleOneSlot(t *testing.T) {
	const partitions = 2
	n := &Node{}
	rec := &recorder{}
	n.publisher = rec
	for i := range partitions {
		n.partitions = append(n.partitions, &partition{index: i, engine: matcher.New(EngineConfig(config.Default()))})
	}
	order := func(seq int64, account uint32, side matcher.Side, qty int64) *slot {
		cl, _ := matcher.MakeClOrdID(fmt.Sprintf("C%d", seq))
		return &slot{cmd: matcher.Command{Seq: seq, TimeNs: seq * 1000, Kind: matcher.KindNew, Symbol: 2, Account: account,
			Side: side, Type: matcher.Limit, TIF: matcher.GTC, Price: 10000, Qty: qty, ClOrdID: cl}}
	}
	// Symbol 2 belongs to partition 0 of 2. Five resting sells, then a buy
	// that takes all five: 1 accepted + 5×2 fills, more than a slot holds.
	for seq := int64(1); seq <= 6; seq++ {
		s := order(seq, 1, matcher.Sell, 1)
		if seq == 6 {
			s = order(seq, 2, matcher.Buy, 5)
		}
		n.partitions[1].match(s, seq, partitions)
		if s.nEvents != 0 {
			t.Fatalf("seq %d: partition 1 applied a command of symbol 2 (%d events)", seq, s.nEvents)
		}
		n.partitions[0].match(s, seq, partitions)
		rec.evs = rec.evs[:0]
		n.publishSlot(s, seq, 0)
		want := 1
		if seq == 6 {
			want = 11
		}
		if int(s.nEvents) != want || len(rec.evs) != want {
			t.Fatalf("seq %d: slot counts %d events, publish handed on %d, want %d", seq, s.nEvents, len(rec.evs), want)
		}
		if rec.evs[0].Type != matcher.EvAccepted || rec.evs[0].Seq != seq {
			t.Fatalf("seq %d: first event %+v, want the command's EvAccepted", seq, rec.evs[0])
		}
	}
	for i, ev := range rec.evs[1:] {
		if ev.Type != matcher.EvFill || ev.Seq != 6 {
			t.Fatalf("event %d after the buy's acceptance: %+v, want a fill of seq 6", i+1, ev)
		}
	}
	if n.dayOpenNs != 1000 {
		t.Fatalf("the trading day opened at %d ns, want 1000, the first order's ingress time", n.dayOpenNs)
	}
}
