package matcher

import "fmt"

// The venue-wide rules of the risk stage, journaled like KindRiskLimits
// (see there): a symbol's market-buy protection price, and the fee. No
// match partition applies them (Route: RouteNone); the engines ignore
// them.
const (
	KindRiskSymbol Kind = 15 // RiskSymbol
	KindRiskFee    Kind = 16 // RiskFee
)

// RiskSymbol is the content of a KindRiskSymbol record: the price, in
// ticks, a market buy of Symbol holds cash at and trades no worse than; 0:
// none (market buys are refused in spot mode).
//
//	Command field   Symbol  Price
//	holds           Symbol  ProtectionPrice
type RiskSymbol struct {
	Symbol          uint32
	ProtectionPrice int64
}

// Command is the record that journals r; it fails when r is unfit.
func (r RiskSymbol) Command() (Command, error) {
	if r.Symbol == 0 || r.Symbol > MaxSymbolID || r.ProtectionPrice < 0 || r.ProtectionPrice > MaxPriceTicks {
		return Command{}, fmt.Errorf("matcher: risk symbol record: symbol %d, protection price %d", r.Symbol, r.ProtectionPrice)
	}
	return Command{Kind: KindRiskSymbol, Symbol: r.Symbol, Price: r.ProtectionPrice}, nil
}

// RiskSymbolOf reads a KindRiskSymbol record; ok is false for another
// kind or a record RiskSymbol.Command does not write.
func RiskSymbolOf(c *Command) (r RiskSymbol, ok bool) {
	if c.Kind != KindRiskSymbol || c.Account != 0 || c.Qty != 0 || c.OrderID != 0 || c.Side != 0 || c.Type != 0 ||
		c.TIF != 0 || c.ClOrdID != (ClOrdID{}) || c.OrigClOrdID != (ClOrdID{}) {
		return r, false
	}
	r = RiskSymbol{Symbol: c.Symbol, ProtectionPrice: c.Price}
	_, err := r.Command()
	return r, err == nil
}

// RiskFee is the content of a KindRiskFee record: the fee, in basis
// points of a fill's notional, that orders accepted from here on pay
// (each order keeps the rate it was accepted at).
//
//	Command field   Qty
//	holds           FeeBps
type RiskFee struct {
	FeeBps int64
}

// Command is the record that journals f; it fails when f is unfit.
func (f RiskFee) Command() (Command, error) {
	if f.FeeBps < 0 || f.FeeBps > 10000 {
		return Command{}, fmt.Errorf("matcher: risk fee record: %d basis points (0 to 10000)", f.FeeBps)
	}
	return Command{Kind: KindRiskFee, Qty: f.FeeBps}, nil
}

// RiskFeeOf reads a KindRiskFee record; ok is false for another kind or a
// record RiskFee.Command does not write.
func RiskFeeOf(c *Command) (f RiskFee, ok bool) {
	if c.Kind != KindRiskFee || c.Account != 0 || c.Symbol != 0 || c.Price != 0 || c.OrderID != 0 || c.Side != 0 ||
		c.Type != 0 || c.TIF != 0 || c.ClOrdID != (ClOrdID{}) || c.OrigClOrdID != (ClOrdID{}) {
		return f, false
	}
	f = RiskFee{FeeBps: c.Qty}
	_, err := f.Command()
	return f, err == nil
}

// KindRiskVenue records the risk mode and the cash unit the journal's
// risk records are written in (RiskVenue). A venue journals one before FIX
// opens when the journal does not say the same yet; a replay, a standby
// and `ringex replay` refuse to go on past one that differs from their
// config (node/riskvenue.go), since every balance, hold and notional limit
// is a whole number of that unit and every decision depends on the mode.
// No match partition applies it; the risk stage ignores it.
const KindRiskVenue Kind = 20 // RiskVenue; 19 is KindBand's (a symbol's price band)

// RiskVenue is the content of a KindRiskVenue record.
//
//	Command field   Type  ClOrdID
//	holds           Mode  CashUnit
//
// Mode is the risk mode (0 none, 1 limits, 2 spot: risk.Mode); CashUnit
// the decimal the venue's cash amounts are whole numbers of, as the
// config writes it with no trailing zeros ("0.01"); "" with mode none, or
// a venue with no cash unit (limits mode: notional in ticks × lots).
type RiskVenue struct {
	Mode     uint8
	CashUnit string
}

// Command is the record that journals v; it fails when v is unfit.
func (v RiskVenue) Command() (Command, error) {
	if v.Mode > 2 || len(v.CashUnit) > IDLen || (v.Mode == 0 && v.CashUnit != "") {
		return Command{}, fmt.Errorf("matcher: risk venue record: mode %d, cash unit %q", v.Mode, v.CashUnit)
	}
	c := Command{Kind: KindRiskVenue, Type: OrdType(v.Mode)}
	copy(c.ClOrdID[:], v.CashUnit)
	return c, nil
}

// RiskVenueOf reads a KindRiskVenue record; ok is false for another kind
// or a record RiskVenue.Command does not write.
func RiskVenueOf(c *Command) (v RiskVenue, ok bool) {
	if c.Kind != KindRiskVenue || c.Account != 0 || c.Symbol != 0 || c.Price != 0 || c.Qty != 0 || c.OrderID != 0 ||
		c.Side != 0 || c.TIF != 0 || c.OrigClOrdID != (ClOrdID{}) {
		return v, false
	}
	v = RiskVenue{Mode: uint8(c.Type), CashUnit: c.ClOrdID.String()}
	want, err := v.Command()
	return v, err == nil && want.ClOrdID == c.ClOrdID
}
