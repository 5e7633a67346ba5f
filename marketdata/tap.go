package marketdata

import (
	"github.com/ringex/ringex/matcher"
)

// levelKey names one price level of one side of one symbol's book, packed
// in a word so the tap's maps hash one: the symbol id (below
// matcher.MaxSymbolID, 2^20) in bits 37-56, the side in bit 36, the price
// (at most matcher.MaxPriceTicks, 2^36) below.
type levelKey uint64

const (
	keySideBit = 36
	keySymBit  = 37
)

func keyOf(sym uint32, side matcher.Side, px int64) levelKey {
	k := levelKey(sym)<<keySymBit | levelKey(px)&(1<<keySideBit-1)
	if side == matcher.Sell {
		k |= 1 << keySideBit
	}
	return k
}

func (k levelKey) sym() uint32 { return uint32(k >> keySymBit) }

func (k levelKey) side() matcher.Side {
	if k&(1<<keySideBit) != 0 {
		return matcher.Sell
	}
	return matcher.Buy
}

func (k levelKey) px() int64 { return int64(k & (1<<keySideBit - 1)) }

// restingOrder is what the tap keeps of a resting order: where it rests,
// how much it adds there, and its place in time priority: the stamp of the
// moment it took its place in the level's queue (tap.stamp), so a level's
// orders sorted by stamp are in the matcher's priority. Leaves 0: it no
// longer rests (in a hand-off to the goroutine).
type restingOrder struct {
	key    levelKey
	leaves int64
	stamp  int64
}

// orderNote is an order's state after a change, for the hand-off.
type orderNote struct {
	id  int64
	now restingOrder
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

	byOrder    bool        // keep orderDirty: some session may ask for books by order
	stamp      int64       // the last priority stamp given (restingOrder.stamp)
	orderDirty []orderNote // the orders changed since the last hand-off, in order, if byOrder
	days       []dayStats  // by symbol id: the open trading day's open, high, low, the last day's close
	lastPx     []int64     // by symbol id: the last trade price, the matcher's (RefPrice before any)
	dayDirty   []uint32    // symbols whose dayStats changed since the last hand-off
}

func newTap(symbols int, byOrder bool) tap {
	return tap{orders: map[int64]restingOrder{}, levels: map[levelKey]int64{}, byOrder: byOrder,
		days: make([]dayStats, symbols+1), lastPx: make([]int64, symbols+1)}
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
	switch ev.Type {
	case matcher.EvAccepted:
		if rests(ev) && ev.LeavesQty > 0 {
			t.add(ev.OrderID, keyOf(ev.Symbol, ev.Side, ev.Price), ev.LeavesQty)
		}
	case matcher.EvFill:
		t.fill(ev)
	case matcher.EvCancelled, matcher.EvExpired:
		t.remove(ev.OrderID)
	case matcher.EvReplaced:
		t.replace(ev)
	}
}

// replace takes a cancel/replace, or a self-trade decrement: an order that
// keeps its price and does not grow keeps its time priority (the matcher
// amends it in place), any other goes to the back of its new level.
func (t *tap) replace(ev *matcher.Event) {
	k := keyOf(ev.Symbol, ev.Side, ev.Price)
	if o, ok := t.orders[ev.OrderID]; ok && o.key == k && ev.LeavesQty <= o.leaves && ev.LeavesQty > 0 {
		t.set(ev.OrderID, restingOrder{key: k, leaves: ev.LeavesQty, stamp: o.stamp})
		t.addLevel(k, ev.LeavesQty-o.leaves)
		return
	}
	t.remove(ev.OrderID)
	if rests(ev) && ev.LeavesQty > 0 {
		t.add(ev.OrderID, k, ev.LeavesQty)
	}
}

// fill takes one side of a trade: the matcher emits the incoming order's
// EvFill, then the resting order's, so every second EvFill of a command
// reports the trade.
func (t *tap) fill(ev *matcher.Event) {
	if t.completesTrade(ev) {
		aggressor := matcher.Buy
		if ev.Side == matcher.Buy {
			aggressor = matcher.Sell
		}
		t.trades = append(t.trades, Trade{Symbol: ev.Symbol, Px: ev.LastPx, Qty: ev.LastQty, Aggressor: aggressor, TimeNs: ev.TimeNs})
		t.traded(ev.Symbol, ev.LastPx)
	}
	o, ok := t.orders[ev.OrderID]
	if !ok {
		return // an order that does not rest (IOC, FOK, market)
	}
	if ev.LeavesQty > 0 {
		t.set(ev.OrderID, restingOrder{key: o.key, leaves: ev.LeavesQty, stamp: o.stamp})
	} else {
		t.unset(ev.OrderID, o)
	}
	t.addLevel(o.key, -ev.LastQty)
}

// completesTrade counts ev, an EvFill, and reports whether it is the
// second of its trade's two.
func (t *tap) completesTrade(ev *matcher.Event) bool {
	if ev.Seq != t.seq {
		t.seq, t.fills = ev.Seq, 0
	}
	t.fills++
	return t.fills%2 == 0
}

// add puts order id at the back of level k's queue.
func (t *tap) add(id int64, k levelKey, leaves int64) {
	t.stamp++
	t.set(id, restingOrder{key: k, leaves: leaves, stamp: t.stamp})
	t.addLevel(k, leaves)
}

// remove takes order id, if it rests, out of its level.
func (t *tap) remove(id int64) {
	if o, ok := t.orders[id]; ok {
		t.unset(id, o)
		t.addLevel(o.key, -o.leaves)
	}
}

// set records order id's state, and notes it for the books by order.
func (t *tap) set(id int64, o restingOrder) {
	t.orders[id] = o
	if t.byOrder {
		t.orderDirty = append(t.orderDirty, orderNote{id, o})
	}
}

// unset forgets order id, which was o, and notes that it is gone.
func (t *tap) unset(id int64, o restingOrder) {
	delete(t.orders, id)
	if t.byOrder {
		o.leaves = 0
		t.orderDirty = append(t.orderDirty, orderNote{id, o})
	}
}

// addLevel adds qty (lots, negative to take away) to level k.
func (t *tap) addLevel(k levelKey, qty int64) {
	if q := t.levels[k] + qty; q > 0 {
		t.levels[k] = q
	} else {
		delete(t.levels, k)
	}
	t.dirty = append(t.dirty, k)
}

// seed adds an order resting before the pipeline starts. Cold path.
func (t *tap) seed(o matcher.RestingOrder) {
	t.add(o.OrderID, keyOf(o.Symbol, o.Side, o.Price), o.Leaves)
}
