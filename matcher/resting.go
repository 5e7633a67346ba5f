package matcher

// RestingOrder is one order resting in a book, as Engine.Resting shows it.
type RestingOrder struct {
	OrderID int64
	Side    Side
	Price   int64 // ticks
	Qty     int64 // total quantity, lots
	Leaves  int64 // lots still resting
	Account uint32
	TIF     TIF
}

// Resting appends symbol's resting orders to dst and returns it: the bids,
// best price first, then the asks, best price first, each price level
// oldest first (time priority). It is the engine's own read-only view of
// a book, for market-data snapshots and for tests that check a book rebuilt
// elsewhere. Not a hot path: it walks the whole book; it allocates only to
// grow dst.
func (e *Engine) Resting(symbol uint32, dst []RestingOrder) []RestingOrder {
	b := e.book(symbol)
	if b == nil {
		return dst
	}
	for _, s := range [2]*side{&b.bids, &b.asks} {
		for key, li := s.best(); li != 0; key, li = s.below(key) {
			for oi := e.levels[li].head; oi != 0; oi = e.orders[oi].next {
				o := &e.orders[oi]
				dst = append(dst, RestingOrder{OrderID: o.id, Side: o.side, Price: o.price,
					Qty: o.qty, Leaves: o.leaves, Account: o.account, TIF: o.tif})
			}
		}
	}
	return dst
}
