package gateway

import (
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/matcher"
)

// Publish writes the message a matcher event calls for to the session of the
// event's account. It runs on the publish stage, after the command that caused
// the event is durable.
func (g *Gateway) Publish(ev *matcher.Event) {
	if ev.Account == 0 || int(ev.Account) >= len(g.sessions) {
		return // no session owns it (an account removed from the config since)
	}
	sid := g.sessions[ev.Account]
	var msg *quickfix.Message
	if ev.Type == matcher.EvCancelRejected {
		msg = g.cancelReject(sid, ev)
	} else {
		msg = g.executionReport(sid, ev)
	}
	if err := quickfix.SendToTarget(msg, sid); err != nil {
		g.logf("fix: %s: report for order %d not sent: %v", sid, ev.OrderID, err)
	}
}

func (g *Gateway) symbol(id uint32) (*Symbol, string) {
	if id == 0 || int(id) > len(g.opts.Symbols) {
		return nil, ""
	}
	s := &g.opts.Symbols[id-1]
	return s, s.Name
}

func (g *Gateway) executionReport(sid quickfix.SessionID, ev *matcher.Event) *quickfix.Message {
	fix42 := sid.BeginString == quickfix.BeginStringFIX42
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "8")
	b := &m.Body
	b.SetString(tag.OrderID, strconv.FormatInt(ev.OrderID, 10))
	b.SetString(tag.ExecID, strconv.FormatInt(ev.ExecID, 10))
	b.SetString(tag.ClOrdID, ev.ClOrdID.String())
	if ev.OrigClOrdID != (matcher.ClOrdID{}) {
		b.SetString(tag.OrigClOrdID, ev.OrigClOrdID.String())
	}
	execType, ordStatus := execTypeStatus(ev, fix42)
	if fix42 {
		b.SetString(tag.ExecTransType, "0")
	}
	b.SetString(tag.ExecType, execType)
	b.SetString(tag.OrdStatus, ordStatus)
	b.SetString(tag.Side, strconv.Itoa(int(ev.Side)))
	b.SetString(tag.TransactTime, fixTime(ev.TimeNs))

	sym, name := g.symbol(ev.Symbol)
	b.SetString(tag.Symbol, name)
	if sym == nil {
		// an unknown symbol never reaches the matcher from this gateway; keep the report well formed
		sym = &Symbol{Tick: ScaleOf(1), Lot: ScaleOf(1)}
	}
	if ev.OrdType == matcher.Market {
		b.SetString(tag.OrdType, "1")
	} else {
		b.SetString(tag.OrdType, "2")
		if ev.Price > 0 {
			b.SetString(tag.Price, sym.Tick.Format(ev.Price))
		}
	}
	b.SetString(tag.TimeInForce, strconv.Itoa(int(ev.TIF)))
	b.SetString(tag.OrderQty, sym.Lot.Format(ev.OrderQty))
	b.SetString(tag.CumQty, sym.Lot.Format(ev.CumQty))
	b.SetString(tag.LeavesQty, sym.Lot.Format(ev.LeavesQty))
	// AvgPx per share: notional (ticks×lots) ÷ quantity (lots×lot size).
	b.SetString(tag.AvgPx, sym.Tick.FormatRatio(ev.CumNotional, ev.CumQty))
	if ev.Type == matcher.EvFill {
		b.SetString(tag.LastQty, sym.Lot.Format(ev.LastQty))
		b.SetString(tag.LastPx, sym.Tick.Format(ev.LastPx))
	}
	if ev.Type == matcher.EvRejected {
		b.SetString(tag.OrdRejReason, strconv.Itoa(ordRejReason(ev.Reason, fix42)))
	}
	if ev.Reason != matcher.ReasonNone {
		b.SetString(tag.Text, reasonText(ev.Reason))
	}
	return m
}

func (g *Gateway) cancelReject(sid quickfix.SessionID, ev *matcher.Event) *quickfix.Message {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "9")
	b := &m.Body
	orderID := "NONE"
	status := "8"
	if ev.OrderID != 0 {
		orderID = strconv.FormatInt(ev.OrderID, 10)
		status = orderStatus(ev)
	}
	b.SetString(tag.OrderID, orderID)
	b.SetString(tag.ClOrdID, ev.ClOrdID.String())
	b.SetString(tag.OrigClOrdID, ev.OrigClOrdID.String())
	b.SetString(tag.OrdStatus, status)
	responseTo := "1"
	if ev.Kind == matcher.KindReplace {
		responseTo = "2"
	}
	b.SetString(tag.CxlRejResponseTo, responseTo)
	b.SetString(tag.CxlRejReason, strconv.Itoa(cxlRejReason(ev.Reason, sid.BeginString == quickfix.BeginStringFIX42)))
	b.SetString(tag.Text, reasonText(ev.Reason))
	return m
}

// rejectOrder answers a NewOrderSingle that never reached the matcher.
func (g *Gateway) rejectOrder(sid quickfix.SessionID, ref *orderRef, reason matcher.Reason, text string) {
	fix42 := sid.BeginString == quickfix.BeginStringFIX42
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "8")
	b := &m.Body
	b.SetString(tag.OrderID, "NONE")
	b.SetString(tag.ExecID, "R"+strconv.FormatInt(g.rejectSeq.Add(1), 10))
	b.SetString(tag.ClOrdID, ref.clOrdID)
	if fix42 {
		b.SetString(tag.ExecTransType, "0")
	}
	b.SetString(tag.ExecType, "8")
	b.SetString(tag.OrdStatus, "8")
	b.SetString(tag.Symbol, ref.symbol)
	b.SetString(tag.Side, ref.side)
	b.SetString(tag.CumQty, "0")
	b.SetString(tag.LeavesQty, "0")
	b.SetString(tag.AvgPx, "0")
	b.SetString(tag.TransactTime, fixTime(time.Now().UnixNano()))
	b.SetString(tag.OrdRejReason, strconv.Itoa(ordRejReason(reason, fix42)))
	b.SetString(tag.Text, text)
	if err := quickfix.SendToTarget(m, sid); err != nil {
		g.logf("fix: %s: reject of %s not sent: %v", sid, ref.clOrdID, err)
	}
}

// rejectCancel answers a cancel or replace that never reached the matcher.
func (g *Gateway) rejectCancel(sid quickfix.SessionID, ref *orderRef, reason matcher.Reason, text string) {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "9")
	b := &m.Body
	b.SetString(tag.OrderID, "NONE")
	b.SetString(tag.ClOrdID, ref.clOrdID)
	b.SetString(tag.OrigClOrdID, ref.origClOrdID)
	b.SetString(tag.OrdStatus, "8")
	responseTo := "1"
	if ref.msgType == "G" {
		responseTo = "2"
	}
	b.SetString(tag.CxlRejResponseTo, responseTo)
	b.SetString(tag.CxlRejReason, strconv.Itoa(cxlRejReason(reason, sid.BeginString == quickfix.BeginStringFIX42)))
	b.SetString(tag.Text, text)
	if err := quickfix.SendToTarget(m, sid); err != nil {
		g.logf("fix: %s: cancel reject of %s not sent: %v", sid, ref.clOrdID, err)
	}
}

// execTypeStatus gives ExecType (150) and OrdStatus (39) for an event.
func execTypeStatus(ev *matcher.Event, fix42 bool) (execType, ordStatus string) {
	status := orderStatus(ev)
	switch ev.Type {
	case matcher.EvAccepted:
		return "0", status
	case matcher.EvFill:
		if fix42 {
			if ev.LeavesQty == 0 {
				return "2", status
			}
			return "1", status
		}
		return "F", status
	case matcher.EvCancelled:
		return "4", "4"
	case matcher.EvReplaced:
		return "5", status
	case matcher.EvRejected:
		return "8", "8"
	case matcher.EvExpired:
		return "C", "C"
	}
	return "I", status // order status: never produced by the matcher
}

// orderStatus is OrdStatus for a live order: new, partially filled or filled.
func orderStatus(ev *matcher.Event) string {
	switch {
	case ev.LeavesQty == 0 && ev.CumQty > 0:
		return "2"
	case ev.CumQty > 0:
		return "1"
	}
	return "0"
}

func ordRejReason(r matcher.Reason, fix42 bool) int {
	var v int
	switch r {
	case matcher.ReasonUnknownSymbol:
		v = 1
	case matcher.ReasonUnknownOrder:
		v = 5
	case matcher.ReasonDuplicateClOrd:
		v = 6
	case matcher.ReasonInvalidQty:
		v = 13
	case matcher.ReasonInvalidOrder:
		v = 11
	default:
		v = 99
	}
	if fix42 && v > 6 {
		v = 0 // FIX 4.2 knows 0-6 only: broker/exchange option, with Text
	}
	return v
}

func cxlRejReason(r matcher.Reason, fix42 bool) int {
	switch r {
	case matcher.ReasonTooLate:
		return 0
	case matcher.ReasonUnknownOrder:
		return 1
	case matcher.ReasonDuplicateClOrd:
		if !fix42 {
			return 6
		}
	}
	if fix42 {
		return 2 // broker/exchange option, with Text
	}
	return 99
}

var reasonTexts = [...]string{
	matcher.ReasonNone:            "",
	matcher.ReasonUnknownSymbol:   "unknown symbol",
	matcher.ReasonUnknownOrder:    "unknown order",
	matcher.ReasonTooLate:         "order already filled or cancelled",
	matcher.ReasonDuplicateClOrd:  "duplicate ClOrdID",
	matcher.ReasonInvalidPrice:    "invalid price",
	matcher.ReasonInvalidQty:      "invalid quantity",
	matcher.ReasonPriceBand:       "price outside the band around the last trade",
	matcher.ReasonSelfTrade:       "self-trade prevention",
	matcher.ReasonNoLiquidity:     "no liquidity on the opposite side",
	matcher.ReasonUserCancel:      "cancelled on request",
	matcher.ReasonMassCancel:      "mass cancel",
	matcher.ReasonInvalidOrder:    "invalid order",
	matcher.ReasonFOKUnfilled:     "fill-or-kill could not fill completely",
	matcher.ReasonIOCRemainder:    "immediate-or-cancel remainder",
	matcher.ReasonMarketRemainder: "market order remainder",
}

func reasonText(r matcher.Reason) string {
	if int(r) < len(reasonTexts) {
		return reasonTexts[r]
	}
	return "reason " + strconv.Itoa(int(r))
}

// fixTime formats nanoseconds since the Unix epoch as a FIX UTCTimestamp
// with milliseconds.
func fixTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("20060102-15:04:05.000")
}
