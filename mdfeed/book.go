package mdfeed

import (
	"fmt"
	"slices"

	"github.com/ringex/ringex/matcher"
)

// Book is the books a receiver rebuilds from messages: every resting
// order, in time priority within its price level. Not safe for concurrent
// use.
type Book struct {
	orders map[int64]*bookOrder
	levels map[levelKey]*level
}

type levelKey struct {
	sym   uint32
	side  matcher.Side
	price int64
}

type bookOrder struct {
	id         int64
	key        levelKey
	qty        int64
	prev, next *bookOrder
}

// level is a FIFO of orders.
type level struct{ head, tail *bookOrder }

// NewBook returns empty books.
func NewBook() *Book {
	return &Book{orders: map[int64]*bookOrder{}, levels: map[levelKey]*level{}}
}

// Apply applies one message. A message that does not fit the books (an
// add of an order already there, anything else of one that is not, an
// execution or reduction beyond what rests) is an error naming it, and
// changes nothing.
func (b *Book) Apply(m *Msg) error {
	o := b.orders[m.OrderID]
	switch {
	case m.Type == TypeSystem:
		return nil
	case m.Type == TypeAdd && o != nil:
		return fmt.Errorf("mdfeed: add of order %d (command %d), which rests already", m.OrderID, m.CmdSeq)
	case m.Type == TypeAdd:
		b.push(&bookOrder{id: m.OrderID, key: levelKey{m.Symbol, m.Side, m.Price}, qty: m.Qty})
		return nil
	case o == nil:
		return fmt.Errorf("mdfeed: message %c of order %d (command %d), which does not rest", m.Type, m.OrderID, m.CmdSeq)
	}
	switch m.Type {
	case TypeExecuted, TypeReduce:
		if m.Qty <= 0 || m.Qty > o.qty {
			return fmt.Errorf("mdfeed: message %c of %d lots of order %d (command %d), which has %d", m.Type, m.Qty, m.OrderID, m.CmdSeq, o.qty)
		}
		if o.qty -= m.Qty; o.qty == 0 {
			b.unlink(o)
		}
	case TypeDelete:
		b.unlink(o)
	case TypeReplace:
		b.unlink(o)
		b.push(&bookOrder{id: m.OrderID, key: levelKey{o.key.sym, o.key.side, m.Price}, qty: m.Qty})
	}
	return nil
}

func (b *Book) push(o *bookOrder) {
	lv := b.levels[o.key]
	if lv == nil {
		lv = &level{}
		b.levels[o.key] = lv
	}
	o.prev = lv.tail
	if lv.tail != nil {
		lv.tail.next = o
	} else {
		lv.head = o
	}
	lv.tail = o
	b.orders[o.id] = o
}

func (b *Book) unlink(o *bookOrder) {
	lv := b.levels[o.key]
	if o.prev != nil {
		o.prev.next = o.next
	} else {
		lv.head = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else {
		lv.tail = o.prev
	}
	if lv.head == nil {
		delete(b.levels, o.key)
	}
	delete(b.orders, o.id)
}

// Orders appends the resting orders of symbol's side to dst, best level
// first, oldest first within a level, as matcher.Engine.EachResting gives
// them. Cold path.
func (b *Book) Orders(symbol uint32, side matcher.Side, dst []matcher.Resting) []matcher.Resting {
	var prices []int64
	for k := range b.levels {
		if k.sym == symbol && k.side == side {
			prices = append(prices, k.price)
		}
	}
	slices.Sort(prices)
	if side == matcher.Buy {
		slices.Reverse(prices)
	}
	for _, px := range prices {
		for o := b.levels[levelKey{symbol, side, px}].head; o != nil; o = o.next {
			dst = append(dst, matcher.Resting{OrderID: o.id, Symbol: symbol, Side: side, Price: px, Leaves: o.qty})
		}
	}
	return dst
}
