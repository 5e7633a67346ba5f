package matcher

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
	prev     int32 // time order within the price level
	next     int32
	aprev    int32 // the account's list, acceptance order
	anext    int32
	level    int32 // 0 while not resting
	side     Side
	typ      OrdType
	tif      TIF
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

// side is one side of a book: its levels sorted by key, best last, so the
// levels that change most (near the top) are the cheapest to insert and remove.
// The key of a price is the price on the bid side and its negation on the ask
// side, so "better" is always "greater".
type side struct {
	keys []int64
	lvls []int32
}

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

// search returns the index of key, or the index where it would be inserted.
func (s *side) search(key int64) (int, bool) {
	n := len(s.keys)
	if n > 0 {
		last := s.keys[n-1]
		if key == last {
			return n - 1, true
		}
		if key > last {
			return n, false
		}
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
	i, found := s.search(key)
	var li int32
	if found {
		li = s.lvls[i]
	} else {
		li = e.allocLevel()
		e.levels[li] = level{price: o.price}
		s.insertAt(i, key, li)
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
	s := b.sideOf(o.side)
	i, found := s.search(sideKey(o.side, lv.price))
	if !found || s.lvls[i] != li {
		panic("matcher: price level missing from its side")
	}
	s.removeAt(i)
	lv.head = e.freeLevel
	e.freeLevel = li
}

// finish retires order oi: it leaves the pool, the indexes and the
// account's list, and is remembered as finished until the retired store
// forgets it.
func (e *Engine) finish(oi int32) {
	o := &e.orders[oi]
	if o.level != 0 {
		panic("matcher: finishing an order that still rests")
	}
	e.accts.remove(e.orders, oi)
	e.cl.remove(o, oi)
	e.byID.del(o.id)
	e.ret.add(&retRec{orderID: o.id, account: o.account, symbol: o.symbol, id: o.clOrd, finished: true}, o.clh)
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
	for t.leaves > 0 {
		n := len(opp.keys)
		if n == 0 || opp.keys[n-1] < limit {
			break
		}
		li := opp.lvls[n-1]
		lv := &e.levels[li]
		ri := lv.head
		r := &e.orders[ri]
		if e.stp != STPNone && r.account == t.account {
			if e.stp != STPCancelIncoming {
				e.unlinkLevel(b, ri)
				r.leaves = 0
				e.emit(EvCancelled, ReasonSelfTrade, r)
				e.finish(ri)
			}
			if e.stp == STPCancelResting {
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
			e.finish(ri)
		}
	}
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
	for i := len(opp.keys) - 1; i >= 0 && opp.keys[i] >= limit; i-- {
		lv := &e.levels[opp.lvls[i]]
		if e.stp == STPNone {
			if lv.qty >= need {
				return true
			}
			need -= lv.qty
			continue
		}
		for ri := lv.head; ri != 0; ri = e.orders[ri].next {
			r := &e.orders[ri]
			if r.account == t.account {
				if e.stp == STPCancelResting {
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
