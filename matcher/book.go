package matcher

import mbits "math/bits"

// order is a live order in the engine's pool. Links are pool indices, 0 is nil.
type order struct {
	id       int64 // = Seq of the command that created it
	price    int64 // 0 for market orders
	qty      int64 // total order quantity
	leaves   int64
	cum      int64
	notional int64  // sum of fill qty × fill price
	clh      uint64 // clHash64(account, clOrd)
	clOrd    ClOrdID
	account  uint32
	symbol   uint32
	owner    uint32 // the trading account (Command.OwnerID): self-trade prevention, kill switch
	group    uint32 // SelfMatchPreventionID (Command.STPGroup); 0 none
	prev     int32  // time order within the price level
	next     int32
	aprev    int32 // the account's list, acceptance order
	anext    int32
	level    int32 // 0 while not resting
	side     Side
	typ      OrdType
	tif      TIF
	indexed  bool // in the live indexes (ClOrdID, order id, account): from when it first rests
}

// level is one price of one side: a FIFO of orders.
type level struct {
	price int64
	qty   int64 // sum of the orders' leaves
	head  int32
	tail  int32
	count int32
	_     int32
}

// side is one side of a book. The key of a price is the price on the bid
// side and its negation on the ask side, so "better" is always "greater".
//
// Levels whose key lies in a window of winTicks keys [base, base+winTicks)
// are found by direct index (win[key-base]); an occupancy bitmap, with a
// summary word over it, finds the best level and the next worse one with
// two bit scans. The window is placed so that the best key sits a quarter
// of the way from its top. Levels outside it, in a book wider than the
// window or one whose prices moved away, are kept in sorted arrays (keys,
// lvls: best last, so the levels that change most are the cheapest to
// insert and remove); when those grow past farLimit, or the window holds
// no level, the window is moved to the best key and the levels are
// redistributed. A side takes its window from the engine's pool when it
// gets its first level and gives it back when it empties.
type side struct {
	win      *window // nil while the side has no level
	base     int64   // key of win.lvls[0]
	nwin     int     // levels in the window
	farLimit int     // len(keys) that makes the next far insert rebuild the side
	sell     bool    // the ask side: keys are negated prices
	keys     []int64 // levels outside the window, sorted by key
	lvls     []int32
}

const (
	winTicks    = 2048 // keys a side's window covers
	winWords    = winTicks / 64
	farSlack    = 64 // far levels tolerated before a rebuild, beyond twice those left by the last one
	winHeadroom = winTicks / 4
)

// window is the direct-indexed part of a side: 8 KiB of level refs and a
// 256-byte bitmap.
type window struct {
	sum  uint64 // bit w set when occ[w] != 0
	occ  [winWords]uint64
	lvls [winTicks]int32
}

// A summary word covers the whole bitmap.
var _ = [1]struct{}{}[winWords/65]

type book struct {
	spec   SymbolSpec
	lastPx int64 // last trade price, the band's anchor; RefPrice before the first trade
	bids   side
	asks   side
}

func sideKey(s Side, px int64) int64 {
	if s == Buy {
		return px
	}
	return -px
}

func (b *book) sideOf(s Side) *side {
	if s == Buy {
		return &b.bids
	}
	return &b.asks
}

func (b *book) opposite(s Side) *side {
	if s == Buy {
		return &b.asks
	}
	return &b.bids
}

// levels returns how many price levels the side holds.
func (s *side) levels() int { return s.nwin + len(s.keys) }

// find returns the level of key, or 0.
func (s *side) find(key int64) int32 {
	if k := uint64(key - s.base); k < winTicks && s.win != nil {
		return s.win.lvls[k]
	}
	if i, found := s.search(key); found {
		return s.lvls[i]
	}
	return 0
}

// best returns the best level and its key; li is 0 when the side is empty.
func (s *side) best() (key int64, li int32) {
	if w := s.win; w != nil && w.sum != 0 {
		i := 63 - mbits.LeadingZeros64(w.sum)
		k := i<<6 + 63 - mbits.LeadingZeros64(w.occ[i])
		key, li = s.base+int64(k), w.lvls[k]
	}
	if n := len(s.keys); n > 0 && (li == 0 || s.keys[n-1] > key) {
		key, li = s.keys[n-1], s.lvls[n-1]
	}
	return key, li
}

// below returns the best level worse than key, and its key; li is 0 when
// there is none.
func (s *side) below(key int64) (bkey int64, li int32) {
	if w := s.win; w != nil && s.nwin > 0 && key > s.base {
		j := uint64(min(key-s.base, winTicks) - 1) // the highest window index to look at
		i := j >> 6
		k := -1
		if m := w.occ[i] & (2<<(j&63) - 1); m != 0 {
			k = int(i<<6) + 63 - mbits.LeadingZeros64(m)
		} else if m := w.sum & (1<<i - 1); m != 0 {
			i := 63 - mbits.LeadingZeros64(m)
			k = i<<6 + 63 - mbits.LeadingZeros64(w.occ[i])
		}
		if k >= 0 {
			bkey, li = s.base+int64(k), w.lvls[k]
		}
	}
	if i, _ := s.search(key); i > 0 && (li == 0 || s.keys[i-1] > bkey) {
		bkey, li = s.keys[i-1], s.lvls[i-1]
	}
	return bkey, li
}

// insert adds level li, at key, which the side must not hold.
func (e *Engine) insertLevel(s *side, key int64, li int32) {
	if s.win == nil {
		s.win = e.takeWindow()
		s.base, s.farLimit = key-(winTicks-winHeadroom), farSlack
	}
	if k := uint64(key - s.base); k < winTicks {
		s.setWin(k, li)
		return
	}
	i, _ := s.search(key)
	s.insertAt(i, key, li)
	if s.nwin == 0 || len(s.keys) > s.farLimit {
		e.rebuildSide(s)
	}
}

func (s *side) setWin(k uint64, li int32) {
	w := s.win
	w.lvls[k] = li
	w.occ[k>>6] |= 1 << (k & 63)
	w.sum |= 1 << (k >> 6)
	s.nwin++
}

// removeLevel takes level li, at key, out of the side.
func (e *Engine) removeLevel(s *side, key int64, li int32) {
	if k := uint64(key - s.base); k < winTicks && s.win != nil {
		w := s.win
		if w.lvls[k] != li {
			panic("matcher: price level missing from its side")
		}
		w.lvls[k] = 0
		if w.occ[k>>6] &^= 1 << (k & 63); w.occ[k>>6] == 0 {
			w.sum &^= 1 << (k >> 6)
		}
		s.nwin--
	} else {
		i, found := s.search(key)
		if !found || s.lvls[i] != li {
			panic("matcher: price level missing from its side")
		}
		s.removeAt(i)
	}
	if s.levels() == 0 {
		e.freeWins = append(e.freeWins, s.win) // the pool has room: see takeWindow
		s.win = nil
	}
}

// takeWindow returns an empty window. The pool's slice is grown with room
// for every window ever made, so giving one back never allocates.
func (e *Engine) takeWindow() *window {
	if n := len(e.freeWins); n > 0 {
		w := e.freeWins[n-1]
		e.freeWins = e.freeWins[:n-1]
		return w
	}
	e.windows++
	if cap(e.freeWins) < e.windows {
		e.freeWins = make([]*window, 0, 2*e.windows)
	}
	return new(window)
}

// rebuildSide moves the window of s so that its best key sits winHeadroom
// below the window's top, and redistributes the levels. Not a hot path:
// it runs when far levels pile up, which takes farSlack inserts outside the
// window since the last time.
func (e *Engine) rebuildSide(s *side) {
	all := e.lvScratch[:0]
	for key, li := s.best(); li != 0; key, li = s.below(key) {
		all = append(all, li)
	}
	e.lvScratch = all
	w := s.win
	for i := range w.occ {
		for m := w.occ[i]; m != 0; m &= m - 1 {
			w.lvls[i<<6+mbits.TrailingZeros64(m)] = 0
		}
		w.occ[i] = 0
	}
	w.sum, s.nwin = 0, 0
	s.keys, s.lvls = s.keys[:0], s.lvls[:0]
	best := s.keyOf(e, all[0])
	s.base = best - (winTicks - winHeadroom)
	for i := len(all) - 1; i >= 0; i-- { // worst first: far keys are appended in order
		key := s.keyOf(e, all[i])
		if k := uint64(key - s.base); k < winTicks {
			s.setWin(k, all[i])
		} else {
			s.keys = append(s.keys, key)
			s.lvls = append(s.lvls, all[i])
		}
	}
	s.farLimit = 2*len(s.keys) + farSlack
}

func (s *side) keyOf(e *Engine, li int32) int64 {
	if s.sell {
		return -e.levels[li].price
	}
	return e.levels[li].price
}

// search returns the index of key among the far levels, or the index where
// it would be inserted.
func (s *side) search(key int64) (int, bool) {
	n := len(s.keys)
	if n == 0 {
		return 0, false
	}
	last := s.keys[n-1]
	if key == last {
		return n - 1, true
	}
	if key > last {
		return n, false
	}
	// Branch-free lower bound: the comparisons are unpredictable, so a
	// conditional move beats a branch.
	keys := s.keys
	base, size := 0, n
	for size > 1 {
		half := size >> 1
		if keys[base+half-1] < key {
			base += half
		}
		size -= half
	}
	if size == 1 && keys[base] < key {
		base++
	}
	return base, base < n && keys[base] == key
}

func (s *side) insertAt(i int, key int64, lv int32) {
	s.keys = append(s.keys, 0)
	s.lvls = append(s.lvls, 0)
	copy(s.keys[i+1:], s.keys[i:])
	copy(s.lvls[i+1:], s.lvls[i:])
	s.keys[i], s.lvls[i] = key, lv
}

func (s *side) removeAt(i int) {
	n := len(s.keys)
	copy(s.keys[i:], s.keys[i+1:])
	copy(s.lvls[i:], s.lvls[i+1:])
	s.keys, s.lvls = s.keys[:n-1], s.lvls[:n-1]
}

func (e *Engine) allocOrder() int32 {
	if i := e.freeOrder; i != 0 {
		e.freeOrder = e.orders[i].next
		e.live++
		return i
	}
	e.orders = append(e.orders, order{})
	e.live++
	return int32(len(e.orders) - 1)
}

func (e *Engine) allocLevel() int32 {
	if i := e.freeLevel; i != 0 {
		e.freeLevel = e.levels[i].head
		return i
	}
	e.levels = append(e.levels, level{})
	return int32(len(e.levels) - 1)
}

// rest puts order oi at the back of its price level.
func (e *Engine) rest(b *book, oi int32) {
	o := &e.orders[oi]
	s := b.sideOf(o.side)
	key := sideKey(o.side, o.price)
	li := s.find(key)
	if li == 0 {
		li = e.allocLevel()
		e.levels[li] = level{price: o.price}
		e.insertLevel(s, key, li)
	}
	lv := &e.levels[li]
	o.level, o.prev, o.next = li, lv.tail, 0
	if lv.tail != 0 {
		e.orders[lv.tail].next = oi
	} else {
		lv.head = oi
	}
	lv.tail = oi
	lv.count++
	lv.qty += o.leaves
}

// unlinkLevel takes order oi out of its price level (if it rests in one),
// removing the level when it empties.
func (e *Engine) unlinkLevel(b *book, oi int32) {
	o := &e.orders[oi]
	li := o.level
	if li == 0 {
		return
	}
	lv := &e.levels[li]
	if o.prev != 0 {
		e.orders[o.prev].next = o.next
	} else {
		lv.head = o.next
	}
	if o.next != 0 {
		e.orders[o.next].prev = o.prev
	} else {
		lv.tail = o.prev
	}
	lv.qty -= o.leaves
	lv.count--
	o.level, o.prev, o.next = 0, 0, 0
	if lv.count > 0 {
		return
	}
	if lv.qty != 0 || lv.head != 0 {
		panic("matcher: empty price level with quantity")
	}
	e.removeLevel(b.sideOf(o.side), sideKey(o.side, lv.price), li)
	lv.head = e.freeLevel
	e.freeLevel = li
}

// finish retires order oi, which ended for reason end (ReasonNone: it
// filled): it leaves the pool, the indexes and the account's list, and is
// remembered as finished, with its final state, until the retired store
// forgets it.
func (e *Engine) finish(oi int32, end Reason) {
	o := &e.orders[oi]
	if o.level != 0 {
		panic("matcher: finishing an order that still rests")
	}
	if o.indexed {
		e.accts.remove(e.orders, oi)
		e.cl.remove(o, oi)
		e.byID.del(o.id, oi)
	}
	e.ret.add(o, &o.clOrd, finishedState(o, end), o.clh)
	o.next = e.freeOrder
	e.freeOrder = oi
	e.live--
}

// match trades taker ti against the opposite side of b, best price first,
// oldest first within a price, while the best opposite key is at least
// limit. Hot path. It returns false when self-trade prevention cancels the
// taker (the caller then cancels what is left of it).
func (e *Engine) match(b *book, ti int32, limit int64) bool {
	t := &e.orders[ti]
	opp := b.opposite(t.side)
	stp := e.takerSTP(t)
	for t.leaves > 0 {
		key, li := opp.best()
		if li == 0 || key < limit {
			break
		}
		lv := &e.levels[li]
		ri := lv.head
		r := &e.orders[ri]
		if stp != STPNone && e.selfMatch(t, r) {
			if stp == STPDecrement {
				if !e.decrement(b, ti, ri) {
					return false
				}
				continue
			}
			if stp != STPCancelIncoming {
				e.unlinkLevel(b, ri)
				r.leaves = 0
				e.emit(EvCancelled, ReasonSelfTrade, r)
				e.finish(ri, ReasonSelfTrade)
			}
			if stp == STPCancelResting {
				continue
			}
			return false
		}
		q := min(t.leaves, r.leaves)
		px := r.price
		t.leaves -= q
		t.cum += q
		t.notional += q * px
		r.leaves -= q
		r.cum += q
		r.notional += q * px
		lv.qty -= q
		b.lastPx = px
		e.emitFill(t, q, px)
		e.emitFill(r, q, px)
		if r.leaves == 0 {
			e.unlinkLevel(b, ri)
			e.finish(ri, ReasonNone)
		}
	}
	return true
}

// decrement applies STPDecrement to taker ti and resting order ri of the
// same account: the smaller leaves quantity is cancelled (EvCancelled,
// ReasonSelfTrade) and the larger order's quantity and leaves go down by it
// (EvReplaced, ReasonSelfTrade, same ClOrdID and price, so a resting order
// keeps its place); equal quantities cancel both, the resting order first.
// No trade happens. It returns false when the taker's leaves are used up
// (the caller then cancels it). Hot path.
func (e *Engine) decrement(b *book, ti, ri int32) bool {
	t, r := &e.orders[ti], &e.orders[ri]
	q := min(t.leaves, r.leaves)
	if r.leaves == q {
		e.unlinkLevel(b, ri)
		r.leaves = 0
		e.emit(EvCancelled, ReasonSelfTrade, r)
		e.finish(ri, ReasonSelfTrade)
	} else {
		r.qty -= q
		r.leaves -= q
		e.levels[r.level].qty -= q
		e.emit(EvReplaced, ReasonSelfTrade, r)
	}
	if t.leaves == q {
		return false
	}
	t.qty -= q
	t.leaves -= q
	e.emit(EvReplaced, ReasonSelfTrade, t)
	return true
}

func (e *Engine) emitFill(o *order, q, px int64) {
	ev := e.emit(EvFill, ReasonNone, o)
	ev.LastQty, ev.LastPx = q, px
}

// fokFillable reports whether taker t would fill completely against the
// opposite side down to limit, given self-trade prevention.
func (e *Engine) fokFillable(b *book, t *order, limit int64) bool {
	need := t.leaves
	opp := b.opposite(t.side)
	stp := e.takerSTP(t)
	for key, li := opp.best(); li != 0 && key >= limit; key, li = opp.below(key) {
		lv := &e.levels[li]
		if stp == STPNone {
			if lv.qty >= need {
				return true
			}
			need -= lv.qty
			continue
		}
		for ri := lv.head; ri != 0; ri = e.orders[ri].next {
			r := &e.orders[ri]
			if e.selfMatch(t, r) {
				if stp == STPCancelResting {
					continue
				}
				return false
			}
			if r.leaves >= need {
				return true
			}
			need -= r.leaves
		}
	}
	return false
}
