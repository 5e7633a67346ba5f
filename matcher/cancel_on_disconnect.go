package matcher

// Cancel-on-disconnect: when a broker's session drops, or the exchange
// restarts (a crash drops every session), the exchange cancels the
// session's resting Day orders with a MassCancel of OriginCancelOnDisconnect
// (control.go owns its bytes: a KindMassCancel that asks for no report and
// whose Type byte is 0, which is what journals written before the origin
// existed carry, so their cancels read the same way).

// ReasonCancelOnDisconnect is the Reason of the EvCancelled events of a
// cancel-on-disconnect. The order itself retires as ReasonMassCancel: the
// engine's state, its hash and its snapshots are the same as before this
// reason existed, so old journals replay to the hashes they recorded.
const ReasonCancelOnDisconnect Reason = 18

// CancelOnDisconnect is the command that cancels account's resting Day
// orders in symbol (0: every symbol; the node splits it by symbol).
func CancelOnDisconnect(account, symbol uint32) Command {
	return MassCancel{Account: account, Symbol: symbol, Scope: ScopeDayOrders, Origin: OriginCancelOnDisconnect}.Command()
}

// IsCancelOnDisconnect reports whether c is a cancel-on-disconnect (see
// CancelOnDisconnect).
func (c *Command) IsCancelOnDisconnect() bool {
	m, ok := MassCancelOf(c)
	return ok && m.Origin == OriginCancelOnDisconnect
}

// reason is the Reason of the cancels of mass cancel m: the events tell a
// cancel-on-disconnect from a broker's own mass cancel.
func (m MassCancel) reason() Reason {
	if m.Origin == OriginCancelOnDisconnect {
		return ReasonCancelOnDisconnect
	}
	return ReasonMassCancel
}

// DayOrderSymbols appends to dst each symbol in which account has a
// resting Day order, once. Not for the match stage: the node asks before
// the ring starts, while it owns the engine. Cold path.
func (e *Engine) DayOrderSymbols(account uint32, dst []uint32) []uint32 {
	a := e.accts.get(account)
	if a == nil {
		return dst
	}
	for oi := a.head; oi != 0; oi = e.orders[oi].anext {
		o := &e.orders[oi]
		if o.tif != Day {
			continue
		}
		seen := false
		for _, s := range dst {
			seen = seen || s == o.symbol
		}
		if !seen {
			dst = append(dst, o.symbol)
		}
	}
	return dst
}
