package gateway

// Sessions that take no orders. A drop-copy session (dropcopy.go) takes no
// application message at all; a market-data-only session
// (Session.MarketDataOnly) takes MarketDataRequest (V) and nothing else of
// the application layer. Both get a BusinessMessageReject with
// BusinessRejectReason 6 (not authorized) and a Text for anything else, and
// the refused message changes nothing. Having no orders, neither is
// cancelled on disconnect.

// takesOrders reports whether the account's session may send orders.
func (a *account) takesOrders() bool { return !a.dropCopy && !a.mdOnly }

// refuses returns why the account's session may not send an application
// message of msgType, or "" when it may.
func (a *account) refuses(msgType []byte) string {
	switch {
	case a.dropCopy:
		return "drop-copy session: it receives copies of reports and takes no application messages"
	case a.mdOnly && string(msgType) != "V":
		return "market-data-only session: it takes MarketDataRequest (V) only, not MsgType " + string(msgType)
	}
	return ""
}
