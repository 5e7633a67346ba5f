package matcher

import (
	"fmt"
	"strings"
)

// KindSymbolScale records the name of a symbol id and the tick and lot
// sizes its journaled prices and quantities are whole numbers of
// (SymbolScale): every price in the journal is a count of ticks and every
// quantity a count of lots, so another tick or lot would rescale them
// all, and another name at that id would hand its orders to another
// symbol. A venue journals one for each symbol before FIX opens when
// the journal does not say it yet; a start, a standby, `ringex replay`
// and `ringex verify` refuse a config that says otherwise
// (node/symbolscale.go). No match partition applies it (Route:
// RouteNone); the engines and the risk stage ignore it.
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
