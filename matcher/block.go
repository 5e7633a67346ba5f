package matcher

import "fmt"

// Block records are the operator's kill switch for one account (risk modes
// limits and spot): from a KindBlock on, the risk stage refuses the
// account's new orders and replaces, until a KindUnblock. A KindBlock
// that the risk stage accepts is applied by every match partition
// (RouteAll): each cancels every working order of the account that it
// holds, GTC included, as a kill switch's mass cancel does (its session's
// orders and those any session placed for it; EvCancelled,
// ReasonMassCancel, ExecID EndOfDayExecID). So one record both blocks and
// cancels: no order of the account trades after it, whatever crash
// follows, and a replay does the same. A KindUnblock no partition applies
// (RouteNone). They go through the ring and the journal like any command.
//
// An account has two blocks, independent of each other: its own (the
// operator's block of the account by name) and its firm's (a record the
// node journals for each member of a firm it blocks, AccountBlock.Firm).
// A record sets or lifts only the block it names; the risk stage refuses
// the account's orders while either holds. A record written before Firm
// existed has a zero Type, so it reads as the account's own block, as
// every block then was.
const (
	KindBlock   Kind = 12
	KindUnblock Kind = 13
)

// OriginKillSwitch: the operator blocked the account (AccountBlock); the
// mass cancel takes every working order, with no report.
const OriginKillSwitch MassCancelOrigin = 3

// AccountBlock is the content of a KindBlock or KindUnblock record.
//
//	Command field   Kind                   Account  Type                  ClOrdID  OrigClOrdID
//	holds           KindBlock/KindUnblock  Account  0 own, blockByFirm    Ref      Key
//
// Ref and Key are a Funds record's (the node's answer reference; the
// operator's request reference, zero for none); Type is 0 for the
// account's own block and blockByFirm for its firm's (Firm); every other
// field is zero (Seq and TimeNs are set at ingress).
type AccountBlock struct {
	Unblock bool
	Account uint32
	Firm    bool // the block of the account's firm, not its own
	Ref     ClOrdID
	Key     ClOrdID
}

// blockByFirm is the Type of a firm's block record (AccountBlock.Firm).
const blockByFirm OrdType = 1

// Command is the record that journals b; it fails for account 0.
func (b AccountBlock) Command() (Command, error) {
	if b.Account == 0 {
		return Command{}, fmt.Errorf("matcher: block record: account id 0")
	}
	k := KindBlock
	if b.Unblock {
		k = KindUnblock
	}
	c := Command{Kind: k, Account: b.Account, ClOrdID: b.Ref, OrigClOrdID: b.Key}
	if b.Firm {
		c.Type = blockByFirm
	}
	return c, nil
}

// applyBlock cancels, oldest (lowest order id) first, every resting order
// of block record c's account: those its session placed and those any
// session placed for it as their trading account. Every partition applies
// the record at once, so each cancel's ExecID is EndOfDayExecID (an order
// ends only once). Cold path: the operator's; it scans the pool and
// allocates only to grow dayOrders, which it borrows.
func (e *Engine) applyBlock(c *Command) {
	b, ok := BlockOf(c)
	if !ok || b.Unblock {
		return
	}
	e.dayOrders = e.dayOrders[:0]
	for oi := int32(1); oi < int32(len(e.orders)); oi++ {
		if o := &e.orders[oi]; o.level != 0 && (o.account == b.Account || o.owner == b.Account) {
			e.dayOrders = append(e.dayOrders, oi)
		}
	}
	e.endCollected(EvCancelled, ReasonMassCancel, ReasonMassCancel)
}

// BlockOf reads a KindBlock or KindUnblock record; ok is false for another
// kind or a record AccountBlock.Command does not write.
func BlockOf(c *Command) (b AccountBlock, ok bool) {
	if (c.Kind != KindBlock && c.Kind != KindUnblock) || c.Account == 0 || c.OrderID != 0 || c.Price != 0 ||
		c.Qty != 0 || c.Symbol != 0 || c.Side != 0 || (c.Type != 0 && c.Type != blockByFirm) || c.TIF != 0 {
		return b, false
	}
	return AccountBlock{Unblock: c.Kind == KindUnblock, Account: c.Account, Firm: c.Type == blockByFirm, Ref: c.ClOrdID, Key: c.OrigClOrdID}, true
}
