package matcher

import (
	"encoding/binary"
	"fmt"
)

// KindBand sets one symbol's price band from its place in the sequence
// on: a limit price further than BandTicks from the last trade is
// rejected (ReasonPriceBand), and a market order trades no further from
// it (Engine.Apply). It is journaled like the risk stage's rules
// (KindRiskSymbol in riskvenue.go), so that a replay decides every order
// by the band in force when it ran, whatever the config of the node
// replaying: the node journals one, before FIX opens, for each symbol
// whose configured band or reference price differs from the one in force.
// The partition that owns Symbol applies it (Route); it causes no event.
const KindBand Kind = 19

// Band is the content of a KindBand record: BandTicks 0 is no band; a
// RefPrice other than 0 and other than the one in force becomes the
// band's anchor, as the last trade price, until the next trade (an
// operator's new reference); the same RefPrice, or 0, keeps the anchor
// (the last trade, or the reference), so a record that changes only the
// band's width moves nothing else.
//
//	Command field   Symbol  Qty        Price
//	holds           Symbol  BandTicks  RefPrice
//
// Every other field is zero (Seq and TimeNs are set at ingress).
type Band struct {
	Symbol    uint32
	BandTicks int64
	RefPrice  int64
}

// Command is the record that journals b; it fails when b is unfit.
func (b Band) Command() (Command, error) {
	if b.Symbol == 0 || b.Symbol > MaxSymbolID || b.BandTicks < 0 || b.BandTicks > MaxPriceTicks ||
		b.RefPrice < 0 || b.RefPrice > MaxPriceTicks {
		return Command{}, fmt.Errorf("matcher: band record: symbol %d, band %d ticks, reference price %d", b.Symbol, b.BandTicks, b.RefPrice)
	}
	return Command{Kind: KindBand, Symbol: b.Symbol, Qty: b.BandTicks, Price: b.RefPrice}, nil
}

// BandOf reads a KindBand record; ok is false for another kind or a
// record Band.Command does not write.
func BandOf(c *Command) (b Band, ok bool) {
	if c.Kind != KindBand || c.Account != 0 || c.OrderID != 0 || c.Side != 0 || c.Type != 0 || c.TIF != 0 ||
		c.ClOrdID != (ClOrdID{}) || c.OrigClOrdID != (ClOrdID{}) {
		return b, false
	}
	b = Band{Symbol: c.Symbol, BandTicks: c.Qty, RefPrice: c.Price}
	_, err := b.Command()
	return b, err == nil
}

// Band is symbol's band and reference price in force (the Config's until
// a KindBand record changes them); ok is false for a symbol the engine
// does not have. Cold path: call it only while no command is being
// applied to the engine.
func (e *Engine) Band(symbol uint32) (b Band, ok bool) {
	bk := e.book(symbol)
	if bk == nil {
		return b, false
	}
	return Band{Symbol: symbol, BandTicks: bk.spec.BandTicks, RefPrice: bk.spec.RefPrice}, true
}

// applyBand puts a KindBand record in force; a record that is unfit, or
// names a symbol the engine does not have, changes nothing.
func (e *Engine) applyBand(cmd *Command) {
	b, ok := BandOf(cmd)
	bk := e.book(b.Symbol)
	if !ok || bk == nil {
		return
	}
	if b.RefPrice != 0 && b.RefPrice != bk.spec.RefPrice {
		bk.lastPx = b.RefPrice
	}
	bk.spec.BandTicks, bk.spec.RefPrice = b.BandTicks, b.RefPrice
}

// banded reports whether book i's band or reference price differs from
// its Config's: such books make the snapshot version 7 (snapVersionBands).
func (e *Engine) banded(i int) bool {
	s, c := &e.books[i].spec, &e.cfg.Symbols[i]
	return s.BandTicks != c.BandTicks || s.RefPrice != c.RefPrice
}

// appendBands writes the bands section of a version 7 snapshot: the
// books whose band or reference price a record changed, ascending by
// symbol id, n of them (1 or more).
//
//	u32 n | n × (u32 symbol | i64 band ticks | i64 reference price)
func (e *Engine) appendBands(dst []byte, n int) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	for sym, bi := range e.bySym {
		if bi == 0 || !e.banded(int(bi-1)) {
			continue
		}
		s := &e.books[bi-1].spec
		dst = le.AppendUint32(dst, uint32(sym))
		dst = le.AppendUint64(dst, uint64(s.BandTicks))
		dst = le.AppendUint64(dst, uint64(s.RefPrice))
	}
	return dst
}

// bandedBooks counts the books appendBands writes. Cold path.
func (e *Engine) bandedBooks() int {
	n := 0
	for i := range e.books {
		if e.banded(i) {
			n++
		}
	}
	return n
}

// loadBands reads the bands section of a version 7 or 8 snapshot (8 may
// have none), before the
// books section: each book listed starts with its reference price as its
// last price, as applyBand leaves it, and the books section then gives
// the last price of each book that traded since.
func (e *Engine) loadBands(r *snapReader, version uint32) error {
	n := r.count(4 + 8 + 8)
	if r.err == nil && n == 0 && version == snapVersionBands {
		return r.fail("no band in a version %d snapshot", snapVersionBands)
	}
	prev := uint32(0)
	for range n {
		sym, band, ref := r.u32(), r.i64(), r.i64()
		if r.err != nil {
			return r.err
		}
		b := e.book(sym)
		_, err := Band{Symbol: sym, BandTicks: band, RefPrice: ref}.Command()
		if b == nil || sym <= prev || err != nil {
			return r.fail("band of symbol %d: unknown symbol, out of order, or band %d reference %d", sym, band, ref)
		}
		prev = sym
		b.spec.BandTicks, b.spec.RefPrice, b.lastPx = band, ref, ref
		if !e.banded(int(e.bySym[sym] - 1)) {
			return r.fail("band of symbol %d: the config's own written", sym)
		}
	}
	return r.err
}
