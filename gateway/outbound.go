package gateway

import (
	"strconv"
	"time"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// Publish writes the message a matcher event calls for to the session of the
// event's account. It runs on the publish stage, after the command that caused
// the event is durable. Hot path: one goroutine, a reused body, no allocation
// (except the AvgPx of an order filled at several prices, and the Text of a
// gateway's refusal that names the value it refused: rejectReport).
func (g *Gateway) Publish(ev *matcher.Event) {
	if g.sessionOf(ev.Account) == nil {
		return // no one's to tell (sessionOf)
	}
	g.publishTo(ev.Account, ev)
	for _, c := range g.accounts[ev.Account].copies {
		g.publishTo(c, ev) // drop copies (dropcopy.go)
	}
}

// publishTo writes ev's message to account a's session: ev's own account,
// or a drop-copy account, whose copy says 797=Y where its FIX version
// has the tag (dropcopy.go).
func (g *Gateway) publishTo(a uint32, ev *matcher.Event) {
	acct := &g.accounts[a]
	s := acct.session
	mark := acct.marks.next(ev)
	if acct.held.Load() && g.hold(a, ev, mark) {
		return
	}
	f := &g.out
	msgType, ok := g.reportOf(f, s, ev, &acct.affected)
	if !ok {
		return
	}
	if err := s.SendMarked(msgType, reportHeader(acct.copyMark, msgType, true), f, mark); err != nil {
		g.log.Warn("report not sent", "session", s.ID(), "order_id", ev.OrderID, "err", err)
	}
}

// reportOf writes into f (reset first) the message ev calls for on s and
// returns its MsgType; false when there is none yet (a mass-cancel report
// whose counts add up in *affected until its last event), or none on s's
// FIX version (a mass-cancel report to FIX 4.2, hasMassCancelReport).
func (g *Gateway) reportOf(f *fix.Fields, s *fix.Session, ev *matcher.Event, affected *int64) (msgType string, ok bool) {
	f.Reset()
	if ev.Type == matcher.EvMassCancelReport {
		return "r", hasMassCancelReport(s) && g.massCancelReport(f, ev, affected)
	}
	msgType = g.report(f, s.BeginString() == fix42, ev)
	return msgType, msgType != "r" || hasMassCancelReport(s) // a refused mass cancel's: none to FIX 4.2 either
}

// report writes the ExecutionReport or OrderCancelReject of ev (any event
// but a mass-cancel report; a gateway reject's may be an
// OrderMassCancelReport) into f and returns its MsgType. It reads only
// the event and the symbol list, so any goroutine may call it.
func (g *Gateway) report(f *fix.Fields, fix42 bool, ev *matcher.Event) string {
	if ev.Kind == matcher.KindReject {
		return g.rejectReport(f, fix42, ev) // the gateway's own refusal (reject.go)
	}
	if ev.Type == matcher.EvCancelRejected {
		g.cancelReject(f, fix42, ev)
		return "9"
	}
	g.executionReport(f, fix42, ev)
	return "8"
}

const fix42 = "FIX.4.2"

// unknownSymbol formats the reports of a symbol id the gateway does not list
// (never produced by this gateway; kept so a report is always well formed).
var unknownSymbol = Symbol{Tick: ScaleOf(1), Lot: ScaleOf(1)}

func (g *Gateway) symbol(id uint32) *Symbol {
	if id == 0 || int(id) > len(g.opts.Symbols) {
		return &unknownSymbol
	}
	return &g.opts.Symbols[id-1]
}

func (g *Gateway) executionReport(f *fix.Fields, fix42 bool, ev *matcher.Event) {
	sym := g.symbol(ev.Symbol)
	f.AddInt(tagOrderID, ev.OrderID)
	f.AddInt(tagExecID, ev.ExecID)
	f.AddBytes(tagClOrdID, idBytes(&ev.ClOrdID))
	if ev.OrigClOrdID != (matcher.ClOrdID{}) {
		f.AddBytes(tagOrigClOrdID, idBytes(&ev.OrigClOrdID))
	}
	execType, ordStatus := execTypeStatus(ev, fix42)
	if fix42 {
		transType := byte('0') // new
		if ev.Type == matcher.EvStatus {
			transType = '3' // status
		}
		f.AddChar(tagExecTransType, transType)
	}
	f.AddChar(tagExecType, execType)
	f.AddChar(tagOrdStatus, ordStatus)
	g.addAccount(f, ev)
	f.AddString(tagSymbol, sym.Name)
	f.AddChar(tagSide, '0'+byte(ev.Side))
	if ev.OrdType == matcher.Market {
		f.AddChar(tagOrdType, '1')
	} else {
		f.AddChar(tagOrdType, '2')
		if ev.Price > 0 {
			sym.Tick.put(f, tagPrice, ev.Price)
		}
	}
	f.AddChar(tagTimeInForce, '0'+byte(ev.TIF))
	sym.Lot.put(f, tagOrderQty, ev.OrderQty)
	sym.Lot.put(f, tagCumQty, ev.CumQty)
	sym.Lot.put(f, tagLeavesQty, ev.LeavesQty)
	// AvgPx per share: notional (ticks×lots) ÷ quantity (lots).
	switch {
	case ev.CumQty == 0:
		f.AddChar(tagAvgPx, '0')
	case ev.CumNotional%ev.CumQty == 0:
		sym.Tick.put(f, tagAvgPx, ev.CumNotional/ev.CumQty)
	default:
		sym.Tick.putRatio(f, tagAvgPx, ev.CumNotional, ev.CumQty)
	}
	if ev.Type == matcher.EvFill {
		sym.Lot.put(f, tagLastQty, ev.LastQty)
		sym.Tick.put(f, tagLastPx, ev.LastPx)
	}
	f.AddTime(tagTransactTime, time.Unix(0, ev.TimeNs))
	if ev.Type == matcher.EvRejected {
		f.AddInt(tagOrdRejReason, int64(ordRejReason(ev.Reason, fix42)))
	}
	if execType == 'D' && !fix42 {
		// FIX 4.4+: partial decline of OrderQty (exchange-initiated partial
		// cancel); FIX 4.2 has no tag 378, Text says why.
		f.AddInt(tagExecRestatementReason, restatedPartialDecline)
	}
	switch {
	case ev.Type == matcher.EvStatus && ev.Reason == matcher.ReasonTooLate:
		// A finished order answers with its final state: "too late" here
		// means a ClOrdID that a replace took away.
		f.AddString(tagText, "ClOrdID was replaced: ask by the order's current ClOrdID or its OrderID")
	case ev.Reason != matcher.ReasonNone:
		f.AddString(tagText, reasonText(ev.Reason))
	}
}

// addAccount writes Account (1), the name of ev's trading account, when
// the order is for a firm's named account (Event.Owner): the firm's drop
// copy tells its accounts apart by it. An order of the session's own
// account has none, as before firms, whether or not the broker named it:
// the journal does not say, and a resent or rebuilt report must be the
// live one. Hot path: one index into the table New built, no allocation.
func (g *Gateway) addAccount(f *fix.Fields, ev *matcher.Event) {
	if ev.Owner != 0 && int(ev.Owner) < len(g.names) && g.names[ev.Owner] != "" {
		f.AddString(tagAccount, g.names[ev.Owner])
	}
}

func (g *Gateway) cancelReject(f *fix.Fields, fix42 bool, ev *matcher.Event) {
	_, _, status := ReportCodes(ev, fix42)
	if ev.OrderID != 0 {
		f.AddInt(tagOrderID, ev.OrderID)
	} else {
		f.AddString(tagOrderID, "NONE")
	}
	f.AddChar(tagOrdStatus, status)
	f.AddBytes(tagClOrdID, idBytes(&ev.ClOrdID))
	f.AddBytes(tagOrigClOrdID, idBytes(&ev.OrigClOrdID))
	responseTo := byte('1')
	if ev.Kind == matcher.KindReplace {
		responseTo = '2'
	}
	g.addAccount(f, ev)
	f.AddChar(tagCxlRejResponseTo, responseTo)
	f.AddInt(tagCxlRejReason, int64(cxlRejReason(ev.Reason, fix42)))
	f.AddString(tagText, reasonText(ev.Reason))
}

// massCancelReport writes the OrderMassCancelReport that ends a broker's
// mass cancel. The node splits an all-symbols request into one command per
// symbol, in symbol order; their counts add up and only the last one reports
// (an engine given the request whole, Symbol 0, reports once).
func (g *Gateway) massCancelReport(f *fix.Fields, ev *matcher.Event, affected *int64) bool {
	*affected += ev.CumQty
	if !g.reportsMassCancel(ev) {
		return false
	}
	f.AddBytes(tagClOrdID, idBytes(&ev.ClOrdID))
	f.AddInt(tagOrderID, ev.Seq)
	f.AddInt(tagMassCancelType, ev.Price)
	f.AddInt(tagMassCancelResp, ev.Price) // accepted, with the scope asked for
	if ev.Price == massCancelSymbol {
		f.AddString(tagSymbol, g.symbol(ev.Symbol).Name)
	}
	f.AddInt(tagTotalAffected, *affected)
	f.AddTime(tagTransactTime, time.Unix(0, ev.TimeNs))
	*affected = 0
	return true
}

// reportsMassCancel says whether the mass-cancel event ev ends its mass
// cancel (massCancelReport): all but the last symbol's command of an
// all-symbols request only add to the count.
func (g *Gateway) reportsMassCancel(ev *matcher.Event) bool {
	return ev.Price != massCancelAll || ev.Symbol == 0 || int(ev.Symbol) >= len(g.opts.Symbols)
}

// idBytes is a ClOrdID without its zero padding, as a slice of the id itself.
func idBytes(id *matcher.ClOrdID) []byte {
	n := 0
	for n < matcher.IDLen && id[n] != 0 {
		n++
	}
	return id[:n]
}

// sendReject sends, at once, a refusal the ring would not take
// (Gateway.refuse: msgType, its body written by body for the receiving
// session's FIX version) to session s and a copy (797=Y where its
// version has it: reportHeader) to each drop copy of account a. It is not journaled: like the broker's own, each
// copy is in its session's store from the moment it is sent, and a drop
// copy that is not logged on gets it by a FIX resend (ResendRequest) when
// it logs on to this node, not by the journal's resend of reports. Cold
// path.
func (g *Gateway) sendReject(s *fix.Session, a uint32, msgType string, body func(f *fix.Fields, fix42 bool)) {
	var f fix.Fields
	body(&f, s.BeginString() == fix42)
	if err := s.Send(msgType, &f); err != nil {
		g.log.Warn("reject not sent", "session", s.ID(), "msg_type", msgType, "err", err)
	}
	if a == 0 || int(a) >= len(g.accounts) {
		return
	}
	for _, c := range g.accounts[a].copies {
		cs := g.sessionOf(c)
		if cs == nil || (msgType == "r" && !hasMassCancelReport(cs)) {
			continue
		}
		var cf fix.Fields
		body(&cf, cs.BeginString() == fix42)
		if err := cs.SendWithHeader(msgType, reportHeader(g.accounts[c].copyMark, msgType, true), &cf); err != nil {
			g.log.Warn("reject's drop copy not sent", "session", cs.ID(), "msg_type", msgType, "err", err)
		}
	}
}

// businessReject answers an application message the exchange does not take.
func (g *Gateway) businessReject(s *fix.Session, m *fix.Message, reason int64, text string) {
	var f fix.Fields
	f.AddInt(tagRefSeqNum, int64(m.SeqNum()))
	f.AddBytes(tagRefMsgType, m.MsgType())
	f.AddInt(tagBusinessRejReas, reason)
	f.AddString(tagText, text)
	if err := s.Send("j", &f); err != nil {
		g.log.Warn("business reject not sent", "session", s.ID(), "err", err)
	}
}

// ReportCodes gives the MsgType the gateway answers an event with ("8"
// ExecutionReport, "9" OrderCancelReject, "r" OrderMassCancelReport) and, for
// an ExecutionReport, its ExecType (150) and OrdStatus (39); for a cancel
// reject only OrdStatus. `ringex replay trail` uses it so the audit trail
// speaks the codes brokers received.
func ReportCodes(ev *matcher.Event, fix42 bool) (msgType string, execType, ordStatus byte) {
	if ev.Kind == matcher.KindReject {
		return rejectCodes(ev, fix42)
	}
	switch ev.Type {
	case matcher.EvCancelRejected:
		if ev.OrderID == 0 {
			return "9", 0, '8'
		}
		return "9", 0, orderStatus(ev)
	case matcher.EvMassCancelReport:
		return "r", 0, 0
	}
	execType, ordStatus = execTypeStatus(ev, fix42)
	return "8", execType, ordStatus
}

// execTypeStatus gives ExecType (150) and OrdStatus (39) for an event.
func execTypeStatus(ev *matcher.Event, fix42 bool) (execType, ordStatus byte) {
	status := orderStatus(ev)
	switch ev.Type {
	case matcher.EvAccepted:
		return '0', status
	case matcher.EvFill:
		if fix42 {
			if ev.LeavesQty == 0 {
				return '2', status
			}
			return '1', status
		}
		return 'F', status
	case matcher.EvCancelled:
		return '4', '4'
	case matcher.EvReplaced:
		if ev.Reason == matcher.ReasonSelfTrade {
			return 'D', status // restated: self-trade prevention decremented it
		}
		return '5', status
	case matcher.EvRejected:
		return '8', '8'
	case matcher.EvExpired:
		return 'C', 'C'
	case matcher.EvStatus:
		status = statusAnswer(ev)
		if fix42 {
			return status, status // FIX 4.2 has no ExecType I: ExecTransType 3 says status
		}
		return 'I', status
	}
	return 'I', status // order status: never produced by the matcher
}

// statusAnswer is OrdStatus for the answer to an OrderStatusRequest: a live
// order's; a finished one's final status, which the matcher's Reason gives
// (ReasonNone: filled; LeavesQty is 0); or 8 when the matcher cannot show
// the order: one the broker never had, or no longer remembered, or a
// ClOrdID a replace took away (Text says which).
func statusAnswer(ev *matcher.Event) byte {
	switch ev.Reason {
	case matcher.ReasonNone:
		return orderStatus(ev)
	case matcher.ReasonUserCancel, matcher.ReasonMassCancel, matcher.ReasonSelfTrade, matcher.ReasonCancelOnDisconnect:
		return '4' // as its EvCancelled was reported
	case matcher.ReasonIOCRemainder, matcher.ReasonFOKUnfilled, matcher.ReasonMarketRemainder, matcher.ReasonNoLiquidity,
		matcher.ReasonExpired:
		return 'C' // as its EvExpired was reported
	}
	return '8'
}

// orderStatus is OrdStatus for a live order: new, partially filled or filled.
func orderStatus(ev *matcher.Event) byte {
	switch {
	case ev.LeavesQty == 0 && ev.CumQty > 0:
		return '2'
	case ev.CumQty > 0:
		return '1'
	}
	return '0'
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
	case matcher.ReasonUnknownAccount:
		v = 15 // FIX 4.4: unknown account(s)
	case matcher.ReasonInvalidOrder:
		v = 11
	case matcher.ReasonRiskOrderQty, matcher.ReasonRiskNotional, matcher.ReasonRiskOpenOrders,
		matcher.ReasonRiskCash, matcher.ReasonRiskInventory, matcher.ReasonPriceBand:
		v = 3 // order exceeds limit
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
	matcher.ReasonPriceBand:       "price outside the price band around the last trade (or the reference price)",
	matcher.ReasonSelfTrade:       "self-trade prevention",
	matcher.ReasonNoLiquidity:     "no liquidity on the opposite side",
	matcher.ReasonUserCancel:      "cancelled on request",
	matcher.ReasonMassCancel:      "mass cancel",
	matcher.ReasonInvalidOrder:    "invalid order",
	matcher.ReasonFOKUnfilled:     "fill-or-kill could not fill completely",
	matcher.ReasonIOCRemainder:    "immediate-or-cancel remainder",
	matcher.ReasonMarketRemainder: "market order remainder",
	matcher.ReasonBookFull:        "the book is full",
	matcher.ReasonExpired:         "day order expired at the end of the trading day",

	matcher.ReasonCancelOnDisconnect: "cancel on disconnect: the session dropped, or the exchange restarted",
	matcher.ReasonRiskOrderQty:       "risk: order quantity over the account's maxOrderQty",
	matcher.ReasonRiskNotional:       "risk: order notional (quantity x price) over the account's maxOrderNotional",
	matcher.ReasonRiskOpenOrders:     "risk: the account already has maxOpenOrders orders working",
	matcher.ReasonRiskCash:           "risk: insufficient free cash for the buy (spot balance)",
	matcher.ReasonRiskInventory:      "risk: insufficient free inventory for the sell (spot balance)",
	matcher.ReasonRiskNoProtection:   "risk: market buy refused: the symbol has no protectionPrice",
	matcher.ReasonRiskFundsRefused:   "risk: withdrawal over the free balance",
	matcher.ReasonRiskBlocked:        "risk: the account is blocked by the operator (kill switch)",
	matcher.ReasonRiskFundsLimit:     "risk: deposit over the venue's largest total (9223372036854775807 units of its asset)",
}

func reasonText(r matcher.Reason) string {
	if int(r) < len(reasonTexts) {
		return reasonTexts[r]
	}
	return "reason " + strconv.Itoa(int(r))
}
