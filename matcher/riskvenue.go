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
