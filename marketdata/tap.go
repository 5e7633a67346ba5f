package marketdata

import (
	"github.com/ringex/ringex/matcher"
)

// levelKey names one price level of one side of one symbol's book.
type levelKey struct {
	sym  uint32
	side matcher.Side
	px   int64
}

// restingOrder is what the tap keeps of a resting order: where it rests
// and how much it adds there.
type restingOrder struct {
	key    levelKey
	leaves int64
}

// Trade is one trade: both sides of it, as the matcher reports it, once.
type Trade struct {
	Symbol    uint32
	Px, Qty   int64 // ticks, lots
	Aggressor matcher.Side
	TimeNs    int64
}

// tap is the publish stage's copy of the books, rebuilt from the events:
// every resting order (by order id) and every level's quantity. It knows
// which levels a batch touched and which trades it made. Only the publish
// stage uses it (and Seed before the pipeline starts).
type tap struct {
	orders map[int64]restingOrder
	levels map[levelKey]int64
	dirty  []levelKey
	trades []Trade
	seq    int64 // the command whose events come now
	fills  int   // EvFills of that command so far: the matcher emits a trade's two in a row
}

func newTap() tap {
	return tap{orders: map[int64]restingOrder{}, levels: map[levelKey]int64{}}
}

// rests reports whether an order that is accepted with these terms may
// come to rest: the matcher rests only limit orders that are Day or GTC.
func rests(ev *matcher.Event) bool {
	return ev.OrdType == matcher.Limit && (ev.TIF == matcher.Day || ev.TIF == matcher.GTC)
}

// apply takes one event, in publish order. An incoming order is counted in
// its level from its EvAccepted; its fills take it out again within the
// same command, so at the end of a command (and of a batch) every level
// holds what the matcher's does. Hot path: no allocation once the maps
// and slices have grown to the working set.
func (t *tap) apply(ev *matcher.Event) {
	if ev.Seq != t.seq {
		t.seq, t.fills = ev.Seq, 0
	}
	switch ev.Type {
	case matcher.EvAccepted:
		if rests(ev) && ev.LeavesQty > 0 {
			t.add(ev.OrderID, levelKey{ev.Symbol, ev.Side, ev.Price}, ev.LeavesQty)
		}
	case matcher.EvFill:
		t.fills++
		if t.fills%2 == 0 { // the resting side: the trade is reported once
			aggressor := matcher.Buy
			if ev.Side == matcher.Buy {
				aggressor = matcher.Sell
			}
			t.trades = append(t.trades, Trade{Symbol: ev.Symbol, Px: ev.LastPx, Qty: ev.LastQty, Aggressor: aggressor, TimeNs: ev.TimeNs})
		}
		if o, ok := t.orders[ev.OrderID]; ok {
			t.remove(ev.OrderID, o)
			if ev.LeavesQty > 0 {
				t.add(ev.OrderID, o.key, ev.LeavesQty)
			}
		}
	case matcher.EvCancelled, matcher.EvExpired:
		if o, ok := t.orders[ev.OrderID]; ok {
			t.remove(ev.OrderID, o)
		}
	case matcher.EvReplaced:
		if o, ok := t.orders[ev.OrderID]; ok {
			t.remove(ev.OrderID, o)
		}
		if rests(ev) && ev.LeavesQty > 0 {
			t.add(ev.OrderID, levelKey{ev.Symbol, ev.Side, ev.Price}, ev.LeavesQty)
		}
	}
}

func (t *tap) add(id int64, k levelKey, leaves int64) {
	t.orders[id] = restingOrder{key: k, leaves: leaves}
	t.levels[k] += leaves
	t.dirty = append(t.dirty, k)
}

func (t *tap) remove(id int64, o restingOrder) {
	delete(t.orders, id)
	if q := t.levels[o.key] - o.leaves; q > 0 {
		t.levels[o.key] = q
	} else {
		delete(t.levels, o.key)
	}
	t.dirty = append(t.dirty, o.key)
}

// seed adds an order resting before the pipeline starts. Cold path.
func (t *tap) seed(o matcher.Resting) {
	t.add(o.OrderID, levelKey{o.Symbol, o.Side, o.Price}, o.Leaves)
}
