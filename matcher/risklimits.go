package matcher

import "fmt"

// KindRiskLimits sets one account's pre-trade limits from its place in the
// sequence on: the risk stage's rules are journaled, so that a replay
// decides every command by the rules in force when it ran, whatever the
// config of the node replaying. The node journals one, before FIX opens,
// for each account whose configured limits differ from those in force. No
// match partition applies it (Route: RouteNone); the engines ignore it.
const KindRiskLimits Kind = 14

// RiskLimits is the content of a KindRiskLimits record; a limit of 0 is
// none.
//
//	Command field   Account  Qty          Price             OrderID
//	holds           Account  MaxOrderQty  MaxOrderNotional  MaxOpenOrders
//
// Every other field is zero (Seq and TimeNs are set at ingress).
type RiskLimits struct {
	Account          uint32
	MaxOrderQty      int64
	MaxOrderNotional int64
	MaxOpenOrders    int64
}

// Check reports what makes l unfit for a record, or nil.
func (l RiskLimits) Check() error {
	if l.Account == 0 || l.MaxOrderQty < 0 || l.MaxOrderNotional < 0 || l.MaxOpenOrders < 0 {
		return fmt.Errorf("matcher: risk limits of account %d: account 0 or a negative limit in %+v", l.Account, l)
	}
	return nil
}

// Command is the record that journals l; it fails when l is unfit.
func (l RiskLimits) Command() (Command, error) {
	if err := l.Check(); err != nil {
		return Command{}, err
	}
	return Command{Kind: KindRiskLimits, Account: l.Account, Qty: l.MaxOrderQty, Price: l.MaxOrderNotional, OrderID: l.MaxOpenOrders}, nil
}

// RiskLimitsOf reads a KindRiskLimits record; ok is false for another kind
// or a record RiskLimits.Command does not write.
func RiskLimitsOf(c *Command) (l RiskLimits, ok bool) {
	if c.Kind != KindRiskLimits || c.Symbol != 0 || c.Side != 0 || c.Type != 0 || c.TIF != 0 ||
		c.ClOrdID != (ClOrdID{}) || c.OrigClOrdID != (ClOrdID{}) {
		return l, false
	}
	l = RiskLimits{Account: c.Account, MaxOrderQty: c.Qty, MaxOrderNotional: c.Price, MaxOpenOrders: c.OrderID}
	return l, l.Check() == nil
}
