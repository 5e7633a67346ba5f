package gateway

// FIX tag numbers the gateway reads and writes.
const (
	tagAccount          = 1
	tagAvgPx            = 6
	tagClOrdID          = 11
	tagCumQty           = 14
	tagExecID           = 17
	tagExecTransType    = 20
	tagLastPx           = 31
	tagLastQty          = 32 // LastShares in FIX 4.2
	tagOrderID          = 37
	tagOrderQty         = 38
	tagOrdStatus        = 39
	tagOrdType          = 40
	tagOrigClOrdID      = 41
	tagPrice            = 44
	tagRefSeqNum        = 45
	tagSide             = 54
	tagSymbol           = 55
	tagText             = 58
	tagTimeInForce      = 59
	tagTransactTime     = 60
	tagCxlRejReason     = 102
	tagOrdRejReason     = 103
	tagExecType         = 150
	tagLeavesQty        = 151
	tagRefMsgType       = 372
	tagBusinessRejReas  = 380
	tagCxlRejResponseTo = 434
	tagMassCancelType   = 530 // MassCancelRequestType
	tagMassCancelResp   = 531 // MassCancelResponse
	tagMassCancelRej    = 532 // MassCancelRejectReason
	tagTotalAffected    = 533 // TotalAffectedOrders
)

// ExecType D (restated) when self-trade prevention decrements an order
// carries ExecRestatementReason (378) 5, "partial decline of OrderQty"
// (an exchange-initiated partial cancel), in FIX 4.4 and later.
const (
	tagExecRestatementReason = 378
	restatedPartialDecline   = 5
)

// tagSelfMatchPrevention is FIX's SelfMatchPreventionInstruction (2964, an
// extension pack of FIX 5.0 SP2 that the gateway also takes in FIX 4.2 and
// 4.4 NewOrderSingles and OrderCancelReplaceRequests): 1 cancel the
// incoming order, 2 cancel the resting one, 3 both; 4 is ringex's own,
// decrement and cancel (STPDecrement). It overrides the account's
// self-trade prevention mode for that order, or for that replace's
// matching.
const tagSelfMatchPrevention = 2964

// tagSelfMatchPreventionID is FIX Latest's SelfMatchPreventionID (2362),
// taken on a NewOrderSingle: an STP group, a positive integer below 2^32.
// Two orders of one firm with the same id never trade with each other;
// orders of different ids do (matcher.Command.STPGroup).
const tagSelfMatchPreventionID = 2362
