package matcher

import "fmt"

// Funds records move an account's cash or inventory in and out of the
// venue: the operator's deposits, withdrawals and adjustments (risk mode
// spot). They go through the ring and the journal like any command, so
// the balances are rebuilt by replay. The risk stage decides and applies
// them (a withdrawal beyond what is free is refused); no match partition
// applies them (Route: RouteNone) and the engines ignore them.
const (
	KindDeposit  Kind = 10 // add Amount to the account's cash (Symbol 0) or inventory of Symbol
	KindWithdraw Kind = 11 // take Amount from it, if that much is free (not held by an order)
)

// MaxFundsAmount bounds one deposit or withdrawal: a balance of many such
// stays far from overflowing an int64 (MaxPriceTicks × MaxQtyLots = 2^62
// bounds one order's notional).
const MaxFundsAmount = 1 << 50

// Funds is the content of a KindDeposit or KindWithdraw record: Amount
// (1 to MaxFundsAmount) of account Account's cash when Symbol is 0, in
// the venue's cash unit, or of its inventory of Symbol, in lots. Account
// 0 is the venue's fee account, whose cash (the fees collected) the
// operator may withdraw; it takes nothing else.
//
//	Command field   Kind                     Account  Symbol  Qty     ClOrdID  OrigClOrdID
//	holds           KindDeposit/KindWithdraw Account  Symbol  Amount  Ref      Key
//
// Ref is the node's reference for the record, which its answer goes by
// (unique in the process that wrote it, not in the journal); Key is the
// operator's request reference (`ringex account --ref`), which makes a
// retry safe: the risk state refuses a second keyed record of one
// account with the Key of one it remembers (ReasonOperatorRepeat, or
// ReasonOperatorRefConflict when the two ask different things). A zero
// Key is none: records written before it existed are never deduplicated.
// Every other field is zero (Seq and TimeNs are set at ingress).
type Funds struct {
	Withdraw bool
	Account  uint32
	Symbol   uint32
	Amount   int64
	Ref      ClOrdID
	Key      ClOrdID
}

// Check reports what makes f unfit for a record, or nil.
func (f Funds) Check() error {
	switch {
	case f.Account == 0 && (!f.Withdraw || f.Symbol != 0):
		return fmt.Errorf("matcher: funds record: account id 0 (the venue's fee account) takes cash withdrawals only")
	case f.Symbol > MaxSymbolID:
		return fmt.Errorf("matcher: funds record for account %d: symbol id %d over %d", f.Account, f.Symbol, MaxSymbolID)
	case f.Amount < 1 || f.Amount > MaxFundsAmount:
		return fmt.Errorf("matcher: funds record for account %d: amount %d outside 1..%d", f.Account, f.Amount, int64(MaxFundsAmount))
	}
	return nil
}

// Command is the record that journals f; it fails when f is unfit (Check).
func (f Funds) Command() (Command, error) {
	if err := f.Check(); err != nil {
		return Command{}, err
	}
	k := KindDeposit
	if f.Withdraw {
		k = KindWithdraw
	}
	return Command{Kind: k, Account: f.Account, Symbol: f.Symbol, Qty: f.Amount, ClOrdID: f.Ref, OrigClOrdID: f.Key}, nil
}

// FundsOf reads a KindDeposit or KindWithdraw record; ok is false for
// another kind or a record Funds.Command does not write. Hot path (the
// risk stage reads them through it).
func FundsOf(c *Command) (f Funds, ok bool) {
	if (c.Kind != KindDeposit && c.Kind != KindWithdraw) || c.OrderID != 0 || c.Price != 0 ||
		c.Side != 0 || c.Type != 0 || c.TIF != 0 {
		return f, false
	}
	f = Funds{Withdraw: c.Kind == KindWithdraw, Account: c.Account, Symbol: c.Symbol, Amount: c.Qty, Ref: c.ClOrdID, Key: c.OrigClOrdID}
	return f, f.Check() == nil
}
