package marketdata

import (
	"cmp"
	"slices"
)

// The book by order is kept beside the book by price when Options.
// ByOrderSessions names a session: each side's prices, best first, each
// with its resting orders in time priority. An order is named by its
// exchange order id (OrderID 37, as in its reports). A
// subscriber is told, per order: new (it joins the back of its price's
// queue), change (its size, in place: a partial fill, or a replace that
// keeps its priority) and delete (cancelled, filled, expired, or a replace
// that loses its priority, which is a delete and then a new).

// orderRef is one resting order in a price's queue.
type orderRef struct {
	id, stamp, leaves int64
}

// orderLevel is one price of one side, its orders in time priority
// (ascending stamp).
type orderLevel struct {
	px     int64
	orders []orderRef
}

// orderChange is an order's latest state handed to a pass.
type orderChange struct {
	id  int64
	now restingOrder
}

// comparePx orders prices on side i: negative when a comes before b.
func comparePx(i int, a, b int64) int {
	switch {
	case a == b:
		return 0
	case better(i, a, b):
		return -1
	}
	return 1
}

// findQueue returns where px is, or would be, on side i of the book by
// order, and whether it is there.
func (b *book) findQueue(i int, px int64) (int, bool) {
	return slices.BinarySearchFunc(b.queues[i], px, func(l orderLevel, px int64) int { return comparePx(i, l.px, px) })
}

func findStamp(q *orderLevel, stamp int64) (int, bool) {
	return slices.BinarySearchFunc(q.orders, stamp, func(o orderRef, s int64) int { return cmp.Compare(o.stamp, s) })
}

// putOrder places order id, now o, in its price's queue by its stamp:
// at the back, as every order that newly takes a place is later than
// those already there.
func (b *book) putOrder(id int64, o restingOrder) {
	i, px := sideIndex(o.key.side()), o.key.px()
	at, found := b.findQueue(i, px)
	if !found {
		b.queues[i] = slices.Insert(b.queues[i], at, orderLevel{px: px})
	}
	q := &b.queues[i][at]
	n, _ := findStamp(q, o.stamp)
	q.orders = slices.Insert(q.orders, n, orderRef{id: id, stamp: o.stamp, leaves: o.leaves})
}

// dropOrder takes the order that was o out of its queue, and the price
// with it when it was the last.
func (b *book) dropOrder(o restingOrder) {
	i, px := sideIndex(o.key.side()), o.key.px()
	at, found := b.findQueue(i, px)
	if !found {
		return
	}
	q := &b.queues[i][at]
	if n, ok := findStamp(q, o.stamp); ok {
		q.orders = slices.Delete(q.orders, n, n+1)
	}
	if len(q.orders) == 0 {
		b.queues[i] = slices.Delete(b.queues[i], at, at+1)
	}
}

// resizeOrder sets the leaves of the order that is o, in place.
func (b *book) resizeOrder(o restingOrder, leaves int64) {
	i := sideIndex(o.key.side())
	if at, found := b.findQueue(i, o.key.px()); found {
		q := &b.queues[i][at]
		if n, ok := findStamp(q, o.stamp); ok {
			q.orders[n].leaves = leaves
		}
	}
}

// orderEntries applies one symbol's order changes of a pass (sorted by
// stamp) to book b and appends to dst what they are to a subscriber of the
// book by order. Under subMu.
func (f *Feed) orderEntries(b *book, dst []entry, cs []orderChange) []entry {
	for _, c := range cs {
		was, had := f.orderAt[c.id]
		now := c.now
		if had && now.leaves > 0 && was.key == now.key && was.stamp == now.stamp {
			if was.leaves != now.leaves {
				b.resizeOrder(was, now.leaves)
				f.orderAt[c.id] = now
				dst = append(dst, b.orderEntry(actionChange, c.id, now))
			}
			continue
		}
		if had {
			b.dropOrder(was)
			delete(f.orderAt, c.id)
			dst = append(dst, b.orderEntry(actionDelete, c.id, was))
		}
		if now.leaves > 0 {
			b.putOrder(c.id, now)
			f.orderAt[c.id] = now
			dst = append(dst, b.orderEntry(actionNew, c.id, now))
		}
	}
	return dst
}

func (b *book) orderEntry(action byte, id int64, o restingOrder) entry {
	e := entry{action: action, typ: byte('0' + sideIndex(o.key.side())), px: o.key.px(), id: id}
	if action != actionDelete {
		e.qty = o.leaves
	}
	return e
}

// orderCount is how many orders rest on side i.
func (b *book) orderCount(i int) int {
	n := 0
	for k := range b.queues[i] {
		n += len(b.queues[i][k].orders)
	}
	return n
}
