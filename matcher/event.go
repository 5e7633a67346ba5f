package matcher

// EventType says what happened to an order.
type EventType uint8

const (
	EvAccepted       EventType = 1 // the order rests or starts matching (FIX ExecType New)
	EvFill           EventType = 2 // one side of a trade (FIX ExecType Trade)
	EvCancelled      EventType = 3 // the order left the book (cancel, mass cancel, self-trade prevention)
	EvReplaced       EventType = 4 // cancel/replace took effect
	EvRejected       EventType = 5 // a new order was refused; nothing changed
	EvCancelRejected EventType = 6 // a cancel or replace was refused; nothing changed
	EvExpired        EventType = 7 // the unfilled rest of an IOC, FOK or market order, or a Day order at the end of the day
	EvStatus         EventType = 8 // answer to KindStatus: the order as it stands or as it ended, or Reason why not (FIX ExecType OrderStatus); see Engine.applyStatus
	// EvMassCancelReport ends a mass cancel that asked for it
	// (MassCancel.Report): the command's own fields, with CumQty the number
	// of orders it cancelled.
	EvMassCancelReport EventType = 9
)

// Reason qualifies a reject, a cancel or an expiry. The gateway maps it to
// FIX OrdRejReason, CxlRejReason and Text.
type Reason uint8

const (
	ReasonNone            Reason = 0
	ReasonUnknownSymbol   Reason = 1
	ReasonUnknownOrder    Reason = 2 // cancel/replace of an order the account does not have
	ReasonTooLate         Reason = 3 // cancel/replace of an order already filled or cancelled
	ReasonDuplicateClOrd  Reason = 4
	ReasonInvalidPrice    Reason = 5 // off tick, not positive, or missing on a limit order
	ReasonInvalidQty      Reason = 6 // not positive, not a lot multiple, under min or over max
	ReasonPriceBand       Reason = 7 // outside the band around the last trade price
	ReasonSelfTrade       Reason = 8 // cancelled by self-trade prevention
	ReasonNoLiquidity     Reason = 9 // a market order met an empty opposite side
	ReasonUserCancel      Reason = 10
	ReasonMassCancel      Reason = 11
	ReasonInvalidOrder    Reason = 12 // unknown side, type, time in force or kind
	ReasonFOKUnfilled     Reason = 13 // FOK could not fill completely
	ReasonIOCRemainder    Reason = 14
	ReasonMarketRemainder Reason = 15
	// ReasonExpired: a resting Day order expired at the end of the trading
	// day (KindEndOfDay). 16 is ReasonBookFull (engine.go).
	ReasonExpired Reason = 17
	// ReasonUnknownAccount: an order names an account (FIX Account, 1)
	// its session may not use; the gateway refuses it, no engine sees it.
	// 18 is ReasonCancelOnDisconnect (cancel_on_disconnect.go).
	ReasonUnknownAccount Reason = 19

	// Pre-trade risk refusals (package risk; a refused order never reaches
	// an engine). Each names the limit or balance that refused it. They
	// start at 32, clear of the matcher's own reasons.
	ReasonRiskOrderQty     Reason = 32 // quantity over the account's maxOrderQty
	ReasonRiskNotional     Reason = 33 // quantity × price over the account's maxOrderNotional
	ReasonRiskOpenOrders   Reason = 34 // the account already has maxOpenOrders working
	ReasonRiskCash         Reason = 35 // a buy needs more cash than the account has free (spot)
	ReasonRiskInventory    Reason = 36 // a sell needs more of the symbol than the account has free (spot)
	ReasonRiskNoProtection Reason = 37 // a market buy in spot mode, and the symbol has no protection price
	ReasonRiskFundsRefused Reason = 38 // a withdrawal of more than is free, or an invalid funds record
	ReasonRiskBlocked      Reason = 39 // the operator blocked the account (KindBlock)
	// ReasonRiskFundsLimit: a deposit would take the venue's total of its
	// asset (cash, or one symbol's lots) past MaxInt64, the most a
	// balance can hold (risk keeps every total at or below it).
	ReasonRiskFundsLimit Reason = 40
	// ReasonOperatorRepeat: an operator's record (a deposit, a withdrawal,
	// a block, an unblock) carries the request reference (Funds.Key) of
	// one the risk state remembers for the same account: a retry, which
	// changes nothing; the node answers it with the first one's outcome.
	ReasonOperatorRepeat Reason = 41
	// ReasonOperatorRefConflict: an operator's record carries the
	// request reference of one the risk state remembers for the same
	// account, and asks for something else (another kind, asset or
	// amount): a reference names one request, so this is refused and
	// changes nothing; the node answers what the reference was used for.
	ReasonOperatorRefConflict Reason = 42
)

// Event is one thing a command caused, carrying everything the gateway needs
// to write an ExecutionReport or an OrderCancelReject. Fixed size, no pointers.
type Event struct {
	Seq         int64 // sequence of the command that caused it
	TimeNs      int64 // ingress time of that command
	OrderID     int64 // exchange order id (the Seq of the command that created the order); 0 if none
	ExecID      int64 // unique per event: Seq*ExecIDStride + index within the command
	Price       int64 // the order's limit price in ticks (0 for market)
	OrderQty    int64 // the order's current total quantity in lots
	LastQty     int64 // fill quantity (fills only)
	LastPx      int64 // fill price in ticks: always the resting order's price
	CumQty      int64
	LeavesQty   int64
	CumNotional int64 // sum of LastQty*LastPx over the order's fills; AvgPx = CumNotional/CumQty
	Symbol      uint32
	Account     uint32 // the session the order came from (its reports go there)
	// Owner is the order's trading account when it is not the session's
	// own (Command.Owner: a firm's named account), 0 when it is: zero in
	// every event of a venue without firms. Never above MaxOwner. The
	// status answer of a finished order has 0: the engine's record of
	// it keeps no owner.
	Owner       uint16
	Type        EventType
	Reason      Reason
	Side        Side
	OrdType     OrdType
	TIF         TIF
	Kind        Kind // kind of the command the event answers (for CxlRejResponseTo)
	ClOrdID     ClOrdID
	OrigClOrdID ClOrdID
}

// ExecIDStride bounds the events one command may cause when ids are derived
// as Seq*ExecIDStride + index; the engine never emits more per command, and
// never index ExecIDStride-1, which EndOfDayExecID takes.
const ExecIDStride = 1 << 20

// EndOfDayExecID is the ExecID of order id's expiry at the end of the day,
// and of its cancel by a block record (KindBlock, the kill switch).
// A KindEndOfDay runs in every match partition at once, so numbering its
// events by their index in the command would give two partitions the same
// ids; an order expires at most once, and no command reaches index
// ExecIDStride-1 (2·MaxOrdersLimit+2 events at most), so the last id of the
// order's own command is free for it.
func EndOfDayExecID(orderID int64) int64 { return orderID*ExecIDStride + ExecIDStride - 1 }

// EventOwner is c's Owner as the events answering c from the command
// alone carry it (Event.Owner): 0 for the session's own account (Owner 0
// or Account), and for an Owner above MaxOwner, which no command from the
// gateway or the journal has (the engine refuses one as
// ReasonInvalidOrder).
func (c *Command) EventOwner() uint16 {
	if c.Owner > MaxOwner || c.Owner == c.Account {
		return 0
	}
	return uint16(c.Owner)
}
