package audit

import (
	"fmt"
	"io"

	"github.com/ringex/ringex/matcher"
)

// Book is the depth of one symbol's book at a moment: every level, best
// first, with its resting orders in time priority.
type Book struct {
	Symbol      uint32
	Seq         int64 // the state after this record
	TimeNs      int64 // its ingress time
	LastTradePx int64 // ticks; 0: no trade yet
	Bids, Asks  []Level
}

// Level is one price level.
type Level struct {
	Price  int64 // ticks
	Qty    int64 // lots: the orders' leaves summed
	Orders []RestingOrder
}

// RestingOrder is one order in a level, oldest first.
type RestingOrder struct {
	OrderID  int64
	Account  uint32
	ClOrdID  matcher.ClOrdID
	Qty      int64 // total quantity
	Leaves   int64
	Cum      int64
	Notional int64
	TIF      matcher.TIF
}

// bookOf reads symbol's book out of an engine snapshot through the
// matcher's own decoder (matcher.SnapshotBook): the matcher's read-only
// view (Engine.Resting) leaves out the ClOrdID, cum and notional that a
// Book shows. Orders come bids then asks, best price first, oldest first.
func bookOf(snap []byte, symbol uint32) (Book, error) {
	bk := Book{Symbol: symbol}
	lastPx, orders, err := matcher.SnapshotBook(snap, symbol, nil)
	if err != nil {
		return bk, fmt.Errorf("engine snapshot: %w", err)
	}
	bk.LastTradePx = lastPx
	for _, o := range orders {
		levels := &bk.Bids
		if o.Side == matcher.Sell {
			levels = &bk.Asks
		}
		if n := len(*levels); n == 0 || (*levels)[n-1].Price != o.Price {
			*levels = append(*levels, Level{Price: o.Price})
		}
		lv := &(*levels)[len(*levels)-1]
		lv.Qty += o.Leaves
		lv.Orders = append(lv.Orders, RestingOrder{OrderID: o.OrderID, Account: o.Account, ClOrdID: o.ClOrdID,
			Qty: o.Qty, Leaves: o.Leaves, Cum: o.Cum, Notional: o.Notional, TIF: o.TIF})
	}
	return bk, nil
}

// Moment says which journal to replay, how, and to when: the part of
// BookOptions and AccountOptions that stateAt reads.
type Moment struct {
	Dir          string
	Venue        *Venue
	Partitions   int // 0: Venue.Partitions
	FromSnapshot bool
	AtSeq        int64     // the state after this record; 0: use AtNs
	AtNs         int64     // the state before the first record stamped later; 0 (and AtSeq 0): the end
	Progress     io.Writer // a terminal for the progress line; nil: none
}

// BookOptions say which book to rebuild and when.
type BookOptions struct {
	Moment
	Symbol uint32
}

// BookAt rebuilds a symbol's book at a moment by replaying the journal:
// after record AtSeq, or after every record before the first one stamped
// later than AtNs.
func BookAt(o BookOptions) (Book, error) {
	e, seq, timeNs, err := stateAt(o.Moment, "book")
	if err != nil {
		return Book{}, err
	}
	bk, err := bookOf(e.engineOf(o.Symbol).Snapshot(nil), o.Symbol)
	bk.Seq, bk.TimeNs = seq, timeNs
	return bk, err
}

// stateAt replays the journal in m.Dir to a moment: after record m.AtSeq,
// or after every record before the first one stamped later than m.AtNs, or
// to the end. It returns the state then, and the seq and ingress time of
// the last record applied.
func stateAt(m Moment, label string) (*engines, int64, int64, error) {
	p := m.Partitions
	src, err := openSource(m.Dir)
	if err != nil {
		return nil, 0, 0, err
	}
	if p == 0 {
		p = m.Venue.Partitions
	}
	b := bound{toSeq: m.AtSeq, toNs: m.AtNs}
	if m.AtSeq != 0 {
		b.toNs = 0
	}
	from, err := startAt(src, m.Venue, p, m.FromSnapshot, func(sf *snapFile) bool {
		if b.toSeq != 0 || b.toNs == 0 {
			return b.toNs == 0 && (b.toSeq == 0 || sf.seq <= b.toSeq)
		}
		ns := recordTime(src, sf.seq)
		return ns != 0 && ns <= b.toNs
	})
	if err != nil {
		return nil, 0, 0, err
	}
	seq, timeNs := from.seq-1, int64(0)
	if from.snap != nil {
		timeNs = recordTime(src, from.snap.seq)
	}
	prog := src.progress(m.Progress, label)
	_, err = run(src, from, runOpts{bound: b}, func(c *matcher.Command, _ []matcher.Event, _ *captured) error {
		prog.tick(c.Seq)
		seq, timeNs = c.Seq, c.TimeNs
		return nil
	})
	prog.done()
	if err != nil {
		return nil, 0, 0, err
	}
	if m.AtSeq != 0 && seq < m.AtSeq {
		return nil, 0, 0, fmt.Errorf("the journal ends at seq %d, before seq %d", seq, m.AtSeq)
	}
	return from.engines, seq, timeNs, nil
}
