package matcher

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// KindSymbolScale records the name of a symbol id and the tick and lot
// sizes its journaled prices and quantities are whole numbers of
// (SymbolScale): every price in the journal is a count of ticks and every
// quantity a count of lots, so another tick or lot would rescale them
// all, and another name at that id would hand its orders to another
// symbol. A venue journals one for each symbol before FIX opens when
// neither the journal nor the snapshot it starts from says it yet; a
// start, a standby, `ringex replay` and `ringex verify` refuse a config
// that says otherwise (node/symbolscale.go). The partition that owns the
// symbol applies it (Route, as an order): the engine keeps the last one
// of each symbol it lists (Engine.Scale), in its snapshot (version 9)
// and hash, so that a journal caught up from a snapshot still says it.
// It causes no event; the risk stage ignores it.
const KindSymbolScale Kind = 22 // SymbolScale; 21 is kept for another branch's kind

// MaxSymbolName is the longest symbol name a symbol scale record holds
// (its OrigClOrdID field); config refuses a longer one.
const MaxSymbolName = IDLen

// SymbolScale is the content of a KindSymbolScale record: Name is the
// symbol's name (1 to MaxSymbolName bytes, no zero byte; empty in a
// record written before names were, which says nothing of the name),
// Tick the tick size as a decimal with no leading or trailing zeros
// ("0.01", "5"), Lot the lot size.
//
//	Command field   Symbol  Qty  ClOrdID  OrigClOrdID
//	holds           Symbol  Lot  Tick     Name (zero-padded)
//
// Every other field is zero (Seq and TimeNs are set at ingress).
type SymbolScale struct {
	Symbol uint32
	Name   string
	Tick   string
	Lot    int64
}

// Check reports what makes s unfit for a record, or nil.
func (s SymbolScale) Check() error {
	if s.Symbol == 0 || s.Symbol > MaxSymbolID || s.Lot <= 0 || !canonicalDecimal(s.Tick) || len(s.Tick) > IDLen ||
		len(s.Name) > MaxSymbolName || strings.IndexByte(s.Name, 0) >= 0 {
		return fmt.Errorf("matcher: symbol scale record: symbol %d %q, tick %q, lot %d", s.Symbol, s.Name, s.Tick, s.Lot)
	}
	return nil
}

// Command is the record that journals s; it fails when s is unfit (Check).
func (s SymbolScale) Command() (Command, error) {
	if err := s.Check(); err != nil {
		return Command{}, err
	}
	c := Command{Kind: KindSymbolScale, Symbol: s.Symbol, Qty: s.Lot}
	copy(c.ClOrdID[:], s.Tick)
	copy(c.OrigClOrdID[:], s.Name)
	return c, nil
}

// SymbolScaleOf reads a KindSymbolScale record; ok is false for another
// kind or a record SymbolScale.Command does not write.
func SymbolScaleOf(c *Command) (s SymbolScale, ok bool) {
	if c.Kind != KindSymbolScale || c.Account != 0 || c.Price != 0 || c.OrderID != 0 || c.Side != 0 || c.Type != 0 ||
		c.TIF != 0 {
		return s, false
	}
	name, ok := paddedName(c.OrigClOrdID[:])
	if !ok {
		return s, false
	}
	s = SymbolScale{Symbol: c.Symbol, Name: name, Tick: c.ClOrdID.String(), Lot: c.Qty}
	want, err := s.Command()
	return s, err == nil && want.ClOrdID == c.ClOrdID
}

// canonicalDecimal reports whether d is a positive decimal written one
// way only: digits with at most one point, no leading zero before a
// nonzero integer digit, no trailing zero after the point ("0.01", "5",
// "12.5"; not "0.010", "05", "1.", ".5" or "0").
func canonicalDecimal(d string) bool {
	intPart, frac, dot := strings.Cut(d, ".")
	if intPart == "" || (dot && (frac == "" || strings.HasSuffix(frac, "0"))) ||
		(len(intPart) > 1 && intPart[0] == '0') || strings.Trim(intPart+frac, "0123456789") != "" {
		return false
	}
	return strings.Trim(intPart+frac, "0") != ""
}

// applyScale keeps a KindSymbolScale record of a symbol e lists as the
// one in force; an unfit record, or one of a symbol e does not list, is
// ignored. Cold path: one per symbol at a start.
func (e *Engine) applyScale(c *Command) {
	s, ok := SymbolScaleOf(c)
	if !ok || e.book(s.Symbol) == nil {
		return
	}
	e.scales[e.bySym[s.Symbol]-1] = s
	if !e.byRecord {
		e.listed, e.byRecord = 0, true
	}
	e.listed = max(e.listed, int(s.Symbol))
}

// listedSymbols is the symbol count the snapshot header says: the
// Config's until a symbol scale record is applied, then the highest
// symbol those records named, or the count a snapshot restored said,
// and never below the highest symbol the snapshot lists anything of. So
// a symbol appended to the Config changes neither the snapshot nor the
// hash until its record is journaled, the same in a replay from the
// journal's first record as on a start from a snapshot, and a snapshot
// of fewer symbols than the Config restores (Engine.load). Cold path.
func (e *Engine) listedSymbols() int {
	n := e.listed
	for sym, bi := range e.bySym {
		if bi != 0 && sym > n && (e.books[bi-1].worthSaving() || e.banded(int(bi-1)) || e.scales[bi-1].Symbol != 0) {
			n = sym
		}
	}
	return min(n, len(e.books))
}

// Scale is the symbol scale record in force for symbol: the last one
// applied, or restored from a snapshot; ok is false when there is none
// (a journal written before the records were, or a symbol listed since
// the snapshot and not yet journaled).
func (e *Engine) Scale(symbol uint32) (s SymbolScale, ok bool) {
	if e.book(symbol) == nil {
		return s, false
	}
	s = e.scales[e.bySym[symbol]-1]
	return s, s.Symbol != 0
}

// scaledSymbols counts the symbols whose scale is in force; a snapshot
// with any is version 9.
func (e *Engine) scaledSymbols() int {
	n := 0
	for _, s := range e.scales {
		if s.Symbol != 0 {
			n++
		}
	}
	return n
}

// appendScales writes the scales section of a version 9 snapshot: n
// (scaledSymbols) records, ascending by symbol id.
func (e *Engine) appendScales(dst []byte, n int) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	for _, bi := range e.bySym {
		if bi == 0 || e.scales[bi-1].Symbol == 0 {
			continue
		}
		s := e.scales[bi-1]
		dst = le.AppendUint32(dst, s.Symbol)
		dst = append(append(dst, byte(len(s.Name))), s.Name...)
		dst = append(append(dst, byte(len(s.Tick))), s.Tick...)
		dst = le.AppendUint64(dst, uint64(s.Lot))
	}
	return dst
}

// scales reads the scales section of a version 9 snapshot, checking each
// record as SymbolScale.Check does, their order and their count (1 or
// more); keep, when not nil, is given each one.
func (r *snapReader) scales(keep func(SymbolScale) error) (n int, err error) {
	prev := uint32(0)
	n = r.count(4 + 1 + 1 + 1 + 8)
	if r.err == nil && n == 0 {
		return 0, r.fail("no symbol scale in a version %d snapshot", snapVersionScales)
	}
	for range n {
		var s SymbolScale
		s.Symbol = r.u32()
		s.Name = string(r.take(int(r.u8())))
		s.Tick = string(r.take(int(r.u8())))
		s.Lot = r.i64()
		if r.err != nil {
			return n, r.err
		}
		if s.Check() != nil || s.Symbol <= prev {
			return n, r.fail("symbol scale of symbol %d (%q, tick %q, lot %d): unfit or out of order", s.Symbol, s.Name, s.Tick, s.Lot)
		}
		prev = s.Symbol
		if keep != nil {
			if err := keep(s); err != nil {
				return n, err
			}
		}
	}
	return n, r.err
}

// loadScales reads the scales section of a version 9 snapshot into e; a
// symbol e does not list is refused (a snapshot of more symbols is
// refused before).
func (e *Engine) loadScales(r *snapReader) error {
	_, err := r.scales(func(s SymbolScale) error {
		if e.book(s.Symbol) == nil {
			return r.fail("symbol scale of symbol %d %q: no such symbol", s.Symbol, s.Name)
		}
		e.scales[e.bySym[s.Symbol]-1] = s
		return nil
	})
	return err
}
