package feed

import (
	"fmt"
	"slices"
)

// Book is every symbol's book by order, as a receiver rebuilds it from
// messages: price levels, each a queue of orders oldest first. It is the
// receiver's, the recovery test's and `ringex md`'s; not a hot path.
type Book struct {
	orders map[int64]*bookOrder
	syms   map[uint32]*symBook
}

// Order is one resting order as the feed shows it.
type Order struct {
	OrderID int64
	Side    byte
	Price   int64
	Qty     int64 // lots still resting
}

type bookOrder struct {
	Order
	symbol uint32
}

type symBook struct {
	sides [2]map[int64][]*bookOrder // bids, asks: price -> queue
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{orders: map[int64]*bookOrder{}, syms: map[uint32]*symBook{}}
}

// Reset empties the book (a snapshot is coming).
func (b *Book) Reset() { *b = *NewBook() }

// Len is the number of resting orders.
func (b *Book) Len() int { return len(b.orders) }

func (b *Book) queue(sym uint32, side byte) map[int64][]*bookOrder {
	sb := b.syms[sym]
	if sb == nil {
		sb = &symBook{sides: [2]map[int64][]*bookOrder{{}, {}}}
		b.syms[sym] = sb
	}
	if side == SideBuy {
		return sb.sides[0]
	}
	return sb.sides[1]
}

// Apply changes the book as m says. A message that names an order the book
// does not hold (or adds one it holds, or takes more than rests) is an
// error and changes nothing.
func (b *Book) Apply(m *Message) error {
	switch m.Type {
	case TypeAdd:
		if b.orders[m.OrderID] != nil {
			return fmt.Errorf("feed seq %d: add of order %d, which rests already", m.Seq, m.OrderID)
		}
		b.insert(&bookOrder{Order: Order{OrderID: m.OrderID, Side: m.Side, Price: m.Price, Qty: m.Qty}, symbol: m.Symbol})
	case TypeExecuted, TypeReduce, TypeDelete, TypeReplace:
		o := b.orders[m.OrderID]
		if o == nil || o.symbol != m.Symbol {
			return fmt.Errorf("feed seq %d: %c of order %d, which does not rest in symbol %d", m.Seq, m.Type, m.OrderID, m.Symbol)
		}
		return b.change(o, m)
	}
	return nil
}

func (b *Book) change(o *bookOrder, m *Message) error {
	switch m.Type {
	case TypeExecuted, TypeReduce:
		if m.Qty > o.Qty {
			return fmt.Errorf("feed seq %d: %c of %d lots from order %d, which has %d", m.Seq, m.Type, m.Qty, o.OrderID, o.Qty)
		}
		if o.Qty -= m.Qty; o.Qty == 0 {
			b.remove(o)
		}
	case TypeDelete:
		b.remove(o)
	case TypeReplace:
		b.remove(o)
		o.Price, o.Qty = m.Price, m.Qty
		b.insert(o)
	}
	return nil
}

func (b *Book) insert(o *bookOrder) {
	q := b.queue(o.symbol, o.Side)
	q[o.Price] = append(q[o.Price], o)
	b.orders[o.OrderID] = o
}

func (b *Book) remove(o *bookOrder) {
	q := b.queue(o.symbol, o.Side)
	lv := q[o.Price]
	i := slices.Index(lv, o)
	if lv = slices.Delete(lv, i, i+1); len(lv) == 0 {
		delete(q, o.Price)
	} else {
		q[o.Price] = lv
	}
	delete(b.orders, o.OrderID)
}

// Orders appends symbol's resting orders to dst: the bids, best price
// first, then the asks, best price first, each level oldest first (the
// order matcher.Engine.Resting gives).
func (b *Book) Orders(symbol uint32, dst []Order) []Order {
	sb := b.syms[symbol]
	if sb == nil {
		return dst
	}
	for s, q := range sb.sides {
		prices := make([]int64, 0, len(q))
		for px := range q {
			prices = append(prices, px)
		}
		slices.Sort(prices)
		if s == 0 {
			slices.Reverse(prices)
		}
		for _, px := range prices {
			for _, o := range q[px] {
				dst = append(dst, o.Order)
			}
		}
	}
	return dst
}

// Symbols returns the symbols with resting orders, in ascending order.
func (b *Book) Symbols() []uint32 {
	var out []uint32
	for s, sb := range b.syms {
		if len(sb.sides[0])+len(sb.sides[1]) > 0 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
