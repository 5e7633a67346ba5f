package marketdata

import (
	"slices"

	"github.com/ringex/ringex/matcher"
)

// book is the market-data goroutine's copy of one symbol's book,
// aggregated by price: the levels of each side, best first; by order, when
// kept (byorder.go); and what subscribers are told of it.
type book struct {
	sides   [2][]matcher.Level // bids (highest first), asks (lowest first)
	queues  [2][]orderLevel    // the same by order, each price's orders in time priority
	lastPx  int64              // last trade, ticks; 0: none known
	lastQty int64              // its quantity, lots; 0: not known (it traded before this node started)
	day     dayStats           // the day's prices, as the tap handed them
	subs    []view             // subscriptions that name this symbol
}

// view is a subscription of one book's symbol, with the symbol's position
// in its list (subscription.syms), where it counts the symbol's RptSeq: a
// pass finds the counter without searching the list.
type view struct {
	*subscription
	at int
}

// sideIndex is a side's index in book.sides.
func sideIndex(s matcher.Side) int {
	if s == matcher.Sell {
		return 1
	}
	return 0
}

// better reports whether price a comes before price b on side i.
func better(i int, a, b int64) bool {
	if i == 0 {
		return a > b
	}
	return a < b
}

// find returns where px is, or would be, on side i, and whether it is there.
func (b *book) find(i int, px int64) (int, bool) {
	return slices.BinarySearchFunc(b.sides[i], px, func(l matcher.Level, px int64) int { return comparePx(i, l.Price, px) })
}

// Update actions, MDUpdateAction(279).
const (
	actionNew    = '0'
	actionChange = '1'
	actionDelete = '2'
)

// set makes the level px of side i hold qty (0: no level) and returns what
// that was to a subscriber of the whole book: a new level, a change, a
// delete, or 0 when nothing changed.
func (b *book) set(i int, px, qty int64) byte {
	at, found := b.find(i, px)
	switch {
	case found && qty == 0:
		b.sides[i] = slices.Delete(b.sides[i], at, at+1)
		return actionDelete
	case found && b.sides[i][at].Qty == qty:
		return 0
	case found:
		b.sides[i][at].Qty = qty
		return actionChange
	case qty == 0:
		return 0
	}
	b.sides[i] = slices.Insert(b.sides[i], at, matcher.Level{Price: px, Qty: qty})
	return actionNew
}

// top is the first depth levels of side i (depth 0: all).
func (b *book) top(i, depth int) []matcher.Level {
	lv := b.sides[i]
	if depth > 0 && len(lv) > depth {
		return lv[:depth]
	}
	return lv
}

// maxDepth is the deepest limited view a subscription of this symbol
// takes, or 0 when none is limited.
func (b *book) maxDepth() int {
	d := 0
	for _, s := range b.subs {
		if s.incremental && s.depth > 0 {
			d = max(d, s.depth)
		}
	}
	return d
}

// entry is one change of a symbol for an incremental refresh.
type entry struct {
	sym     uint32
	action  byte
	typ     byte  // MDEntryType: '0' bid, '1' offer, '2' trade, '4' open, '5' close, '7' high, '8' low
	px, qty int64 // qty 0: none sent (a delete, a day's price)
	id      int64 // the order, in a book by order (its OrderID); 0: none
	rptSeq  int64 // RptSeq(83) in the view it is queued for (subscription.rpt); 0: none sent
}

// diffTop appends to dst what turns the view before (a side's first
// levels, best first) into after, keyed by price: a delete for each
// price gone, a change for each quantity changed, a new for each price
// come. Both are sorted, so one merge pass does.
func diffTop(dst []entry, i int, before, after []matcher.Level) []entry {
	typ := byte('0' + i)
	for len(before) > 0 || len(after) > 0 {
		switch {
		case len(after) == 0 || (len(before) > 0 && better(i, before[0].Price, after[0].Price)):
			dst = append(dst, entry{action: actionDelete, typ: typ, px: before[0].Price})
			before = before[1:]
		case len(before) == 0 || better(i, after[0].Price, before[0].Price):
			dst = append(dst, entry{action: actionNew, typ: typ, px: after[0].Price, qty: after[0].Qty})
			after = after[1:]
		default:
			if before[0].Qty != after[0].Qty {
				dst = append(dst, entry{action: actionChange, typ: typ, px: after[0].Price, qty: after[0].Qty})
			}
			before, after = before[1:], after[1:]
		}
	}
	return dst
}
