package audit

import (
	"encoding/binary"
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

// bookOf reads symbol's book out of an engine snapshot. The matcher's
// read-only view (Engine.Resting, matcher/view.go) leaves out the ClOrdID,
// cum and notional that a Book shows, so this walks the documented,
// versioned snapshot layout (matcher/snapshot.go): the header, then the
// books, levels best first, orders oldest first. Versions 1 to 4 differ
// only in what follows the books (the retired records, the account
// bindings, the orders' trading accounts), which this does not read.
func bookOf(snap []byte, symbol uint32) (Book, error) {
	bk := Book{Symbol: symbol}
	r := &byteReader{b: snap}
	magic, version := string(r.take(4)), r.u32()
	if magic != "RGXM" || version < 1 || version > 4 {
		return bk, fmt.Errorf("engine snapshot: unknown magic or version (this replay reads versions 1 to 4)")
	}
	r.take(1 + 4 + 4 + 4 + 8) // stp, symbols, max orders, retired generation, last seq
	nb := r.u32()
	for range nb {
		sym := r.u32()
		lastPx := int64(r.u64())
		bids := r.side()
		asks := r.side()
		if r.err != nil {
			break
		}
		if sym == symbol {
			bk.LastTradePx, bk.Bids, bk.Asks = lastPx, bids, asks
			return bk, nil
		}
	}
	if r.err != nil {
		return bk, fmt.Errorf("engine snapshot: %v", r.err)
	}
	return bk, nil // an empty book is not written
}

type byteReader struct {
	b   []byte
	off int
	err error
}

func (r *byteReader) take(n int) []byte {
	if r.err != nil || len(r.b)-r.off < n {
		if r.err == nil {
			r.err = fmt.Errorf("truncated at offset %d", r.off)
		}
		return make([]byte, n)
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *byteReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *byteReader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }

func (r *byteReader) side() []Level {
	nl := r.u32()
	var out []Level
	for range nl {
		if r.err != nil {
			return nil
		}
		lv := Level{Price: int64(r.u64())}
		no := r.u32()
		if uint64(no)*58 > uint64(len(r.b)-r.off) {
			r.err = fmt.Errorf("level of %d orders at offset %d exceeds the data", no, r.off)
			return nil
		}
		for range no {
			o := RestingOrder{OrderID: int64(r.u64()), Qty: int64(r.u64()), Leaves: int64(r.u64()),
				Cum: int64(r.u64()), Notional: int64(r.u64()), Account: r.u32()}
			copy(o.ClOrdID[:], r.take(matcher.IDLen))
			r.take(1) // ord type: only limit orders rest
			o.TIF = matcher.TIF(r.take(1)[0])
			lv.Qty += o.Leaves
			lv.Orders = append(lv.Orders, o)
		}
		out = append(out, lv)
	}
	return out
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
