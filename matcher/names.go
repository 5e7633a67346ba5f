package matcher

import "strconv"

var eventTypeNames = [...]string{
	EvAccepted: "accepted", EvFill: "fill", EvCancelled: "cancelled", EvReplaced: "replaced",
	EvRejected: "rejected", EvCancelRejected: "cancel_rejected", EvExpired: "expired", EvStatus: "status",
	EvMassCancelReport: "mass_cancel_report",
}

func (t EventType) String() string {
	if int(t) < len(eventTypeNames) && eventTypeNames[t] != "" {
		return eventTypeNames[t]
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

var kindNames = [...]string{
	KindNew: "new", KindCancel: "cancel", KindReplace: "replace", KindMassCancel: "mass_cancel",
	KindCheckpoint: "checkpoint", KindCheckpointHash: "checkpoint_hash", KindStatus: "status",
	KindEndOfDay: "end_of_day", KindBindAccount: "bind_account", KindDeposit: "deposit",
	KindWithdraw: "withdraw", KindBlock: "block", KindUnblock: "unblock", KindRiskLimits: "risk_limits",
	KindRiskSymbol: "risk_symbol", KindRiskFee: "risk_fee", KindBlockFirm: "block_firm", KindUnblockFirm: "unblock_firm",
	KindBand: "band", KindRiskVenue: "risk_venue", KindReject: "reject", KindSymbolScale: "symbol_scale",
	KindSTP: "stp",
}

// NumKinds bounds every Kind: each is below it, so a table indexed by Kind
// has NumKinds entries.
const NumKinds = Kind(len(kindNames))

// String returns a short snake_case name, for the audit trail, metrics
// labels and logs; a kind without a name reads kind(N).
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Named reports whether k is a kind this package names (String).
func (k Kind) Named() bool { return int(k) < len(kindNames) && kindNames[k] != "" }

var reasonNames = [...]string{
	ReasonNone: "none", ReasonUnknownSymbol: "unknown_symbol", ReasonUnknownOrder: "unknown_order",
	ReasonTooLate: "too_late", ReasonDuplicateClOrd: "duplicate_clordid", ReasonInvalidPrice: "invalid_price",
	ReasonInvalidQty: "invalid_qty", ReasonPriceBand: "price_band", ReasonSelfTrade: "self_trade",
	ReasonNoLiquidity: "no_liquidity", ReasonUserCancel: "user_cancel", ReasonMassCancel: "mass_cancel",
	ReasonInvalidOrder: "invalid_order", ReasonFOKUnfilled: "fok_unfilled", ReasonIOCRemainder: "ioc_remainder",
	ReasonMarketRemainder: "market_remainder", ReasonBookFull: "book_full", ReasonExpired: "expired",
	ReasonCancelOnDisconnect: "cancel_on_disconnect", ReasonUnknownAccount: "unknown_account",
	ReasonRiskOrderQty: "risk_max_order_qty", ReasonRiskNotional: "risk_max_order_notional",
	ReasonRiskOpenOrders: "risk_max_open_orders", ReasonRiskCash: "risk_insufficient_cash",
	ReasonRiskInventory: "risk_insufficient_inventory", ReasonRiskNoProtection: "risk_no_protection_price",
	ReasonRiskFundsRefused: "risk_funds_refused", ReasonRiskBlocked: "risk_account_blocked",
	ReasonRiskFundsLimit: "risk_funds_limit", ReasonOperatorRepeat: "operator_repeat",
	ReasonOperatorRefConflict: "operator_ref_conflict",
}

// NumReasons bounds every Reason: each is below it, so a table indexed by
// Reason has NumReasons entries.
const NumReasons = Reason(len(reasonNames))

// String returns a short snake_case name, suitable for FIX Text and logs.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}
