package matcher

// The engine's read-only view of its books, for whoever rebuilds a copy of
// them (market data at start, the binary feed's snapshots) and for tests
// that compare such a copy with the engine. It reads the engine, so only
// the goroutine that owns the engine may call it, or any goroutine while
// nothing applies commands to it. Not a hot path: each call walks a book
// side or a whole book; none allocates except to grow dst.

// Level is one price level of a book side: its price in ticks and the
// leaves of its resting orders, summed, in lots.
type Level struct {
	Price int64
	Qty   int64
}

// RestingOrder is one order resting in a book, as Engine.Resting shows it.
type RestingOrder struct {
	OrderID int64
	Symbol  uint32
	Side    Side
	Price   int64 // ticks
	Qty     int64 // total quantity, lots
	Leaves  int64 // lots still resting
	Account uint32
	TIF     TIF
}

func (o *order) resting() RestingOrder {
	return RestingOrder{OrderID: o.id, Symbol: o.symbol, Side: o.side, Price: o.price,
		Qty: o.qty, Leaves: o.leaves, Account: o.account, TIF: o.tif}
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

// Resting appends symbol's resting orders to dst and returns it: the bids,
// best price first, then the asks, best price first, each price level
// oldest first (time priority). An unknown symbol has none.
func (e *Engine) Resting(symbol uint32, dst []RestingOrder) []RestingOrder {
	b := e.book(symbol)
	if b == nil {
		return dst
	}
	for _, s := range [2]*side{&b.bids, &b.asks} {
		for key, li := s.best(); li != 0; key, li = s.below(key) {
			for oi := e.levels[li].head; oi != 0; oi = e.orders[oi].next {
				dst = append(dst, e.orders[oi].resting())
			}
		}
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
