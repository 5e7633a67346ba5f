package matcher

// A read-only view of the books, for whoever rebuilds a copy of them from
// the events (market data) and for tests that compare such a copy with the
// engine. It reads the engine, so only the goroutine that owns the engine
// may call it, or any goroutine while nothing applies commands to it.

// Level is one price level of a book side: its price in ticks and the
// leaves of its resting orders, summed, in lots.
type Level struct {
	Price int64
	Qty   int64
}

// Resting is one resting order as a book copy needs it.
type Resting struct {
	OrderID int64
	Symbol  uint32
	Side    Side
	Price   int64 // ticks
	Qty     int64 // the order's total quantity, lots
	Leaves  int64 // what rests of it, lots
}

// Depth appends the price levels of symbol's side, best first, to dst: at
// most max of them (0: all). An unknown symbol has none.
func (e *Engine) Depth(symbol uint32, sd Side, max int, dst []Level) []Level {
	b := e.book(symbol)
	if b == nil {
		return dst
	}
	s := b.sideOf(sd)
	n := 0
	for key, li := s.best(); li != 0 && (max == 0 || n < max); key, li = s.below(key) {
		lv := &e.levels[li]
		dst = append(dst, Level{Price: lv.price, Qty: lv.qty})
		n++
	}
	return dst
}

// LastTradePx is symbol's last trade price in ticks, or its RefPrice before
// the first trade (0 when it has none).
func (e *Engine) LastTradePx(symbol uint32) int64 {
	if b := e.book(symbol); b != nil {
		return b.lastPx
	}
	return 0
}

// EachResting calls f with every resting order of every book: symbol by
// symbol in Config order, bids then asks, best level first, oldest order
// first within a level. Cold path (a start, a test).
func (e *Engine) EachResting(f func(o Resting)) {
	for i := range e.books {
		b := &e.books[i]
		for _, sd := range [...]Side{Buy, Sell} {
			s := b.sideOf(sd)
			for key, li := s.best(); li != 0; key, li = s.below(key) {
				for oi := e.levels[li].head; oi != 0; oi = e.orders[oi].next {
					o := &e.orders[oi]
					f(Resting{OrderID: o.id, Symbol: o.symbol, Side: o.side, Price: o.price, Qty: o.qty, Leaves: o.leaves})
				}
			}
		}
	}
}
