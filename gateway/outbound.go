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
// (except the AvgPx of an order filled at several prices).
func (g *Gateway) Publish(ev *matcher.Event) {
	if ev.Account == 0 || int(ev.Account) >= len(g.accounts) {
		return // no session owns it (an account removed from the config since)
	}
	acct := &g.accounts[ev.Account]
	s := acct.session
	mark := acct.marks.next(ev)
	if acct.held.Load() && g.hold(ev, mark) {
		return
	}
	f := &g.out
	f.Reset()
	var msgType string
	if ev.Type == matcher.EvMassCancelReport {
		if !g.massCancelReport(f, ev, &acct.affected) {
			return
		}
		msgType = "r"
	} else {
		msgType = g.report(f, s.BeginString() == fix42, ev)
	}
	if err := s.SendMarked(msgType, nil, f, mark); err != nil {
		g.logf("fix: %s: report for order %d not sent: %v", s.ID(), ev.OrderID, err)
	}
}

// report writes the ExecutionReport or OrderCancelReject of ev (any event
// but a mass-cancel report) into f and returns its MsgType. It reads only
// the event and the symbol list, so any goroutine may call it.
func (g *Gateway) report(f *fix.Fields, fix42 bool, ev *matcher.Event) string {
	if ev.Type == matcher.EvCancelRejected {
		g.cancelReject(f, fix42, ev)
		return "9"
	}
	g.executionReport(f, fix42, ev)
	return "8"
}

// ResendOnLogon takes reports a broker may not have received: after a
// failover, the events a standby kept of the commands after seq from
// (node.Promote), whole commands in publish order. An event whose mark
// (delivery.go) is above its account's entry in delivered, the marks the
// old primary last said its brokers had acknowledged, goes to the
// account's session right after that session's next Logon, as the same
// report (same ExecID) with PossResend(97)=Y, so that a broker that did
// get it can tell it is a duplicate; an account delivered lacks goes by
// published instead (the last seq the old primary handed to its
// sessions). Mass-cancel reports are rebuilt from their events as the
// publish stage built them; evs should reach back to the first command of
// a mass cancel whose report is resent (node.Promote passes every event it
// kept). evs is copied.
//
// An account for which rebuilding is true lost events from the kept ones:
// its events in evs are passed over, and its reports go out only once
// Regenerated brings them, rebuilt from the journal.
//
// From here until its session's next Logon, an account's new reports wait
// with these (hold): a broker failing over logs on with
// ResetSeqNumFlag=Y, which would drop a report queued for resend in its
// session store before it came back. It returns how many reports are
// pending for how many sessions. Call it before Start. Cold path.
func (g *Gateway) ResendOnLogon(evs []matcher.Event, delivered []int64, published int64, rebuilding []bool) (reports, sessions int) {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts); a++ {
		acct := &g.accounts[a]
		acct.held.Store(true)
		if a < len(rebuilding) && rebuilding[a] {
			acct.rebuilding = true
			// Nothing after where the old primary stood is delivered
			// until the rebuilt reports go out.
			g.lowerFloor(a, resendAfter(a, delivered, published))
		}
	}
	for a, run := range g.toResend(evs, delivered, published) {
		if len(run) == 0 || g.accounts[a].rebuilding {
			continue
		}
		sessions++
		reports += g.queueFirst(a, run)
	}
	return reports, sessions
}

// Regenerated takes the reports of the accounts ResendOnLogon was told are
// rebuilding, rebuilt from the journal (node: regenerate): evs, delivered
// and published as ResendOnLogon takes them. Each such account's reports
// go before the new ones held since, at once when its session is logged
// on, else after its next Logon. With err (they could not be rebuilt),
// the new ones go without them. Any goroutine; cold path.
func (g *Gateway) Regenerated(evs []matcher.Event, delivered []int64, published int64, err error) (reports, sessions int) {
	var runs [][]pendingReport
	if err == nil {
		runs = g.toResend(evs, delivered, published)
	}
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts); a++ {
		acct := &g.accounts[a]
		if !acct.rebuilding {
			continue
		}
		acct.rebuilding = false
		if a < len(runs) && len(runs[a]) > 0 {
			sessions++
			reports += g.queueFirst(a, runs[a])
		}
		if s := acct.session; s.LoggedOn() {
			g.flushLocked(s, uint32(a))
		}
	}
	return reports, sessions
}

// resendAfter is the mark after which account a's reports are resent.
func resendAfter(a int, delivered []int64, published int64) int64 {
	if a < len(delivered) && delivered[a] > 0 {
		return delivered[a]
	}
	return markBefore(published + 1)
}

// toResend selects, by account, the reports of evs to resend (see
// ResendOnLogon), each with its mark.
func (g *Gateway) toResend(evs []matcher.Event, delivered []int64, published int64) [][]pendingReport {
	runs := make([][]pendingReport, len(g.accounts))
	count := make([]markCounter, len(g.accounts))
	held := make([][]pendingReport, len(g.accounts)) // a mass cancel's counts so far, by account
	for i := range evs {
		ev := &evs[i]
		a := ev.Account
		if a == 0 || int(a) >= len(g.accounts) {
			continue
		}
		p := pendingReport{ev: *ev, mark: count[a].next(ev)}
		if ev.Type == matcher.EvMassCancelReport && !g.reportsMassCancel(ev) {
			// Sends nothing; its count goes with the report that ends
			// the mass cancel, resent or not with it.
			held[a] = append(held[a], p)
			continue
		}
		run := held[a]
		held[a] = nil
		if p.mark <= resendAfter(int(a), delivered, published) {
			continue
		}
		runs[a] = append(runs[a], append(run, p)...)
	}
	return runs
}

// queueFirst puts run before the reports pending for account a and
// returns how many reports it holds. Under pendMu.
func (g *Gateway) queueFirst(a int, run []pendingReport) (reports int) {
	// Until these are delivered again, a standby of this node must not
	// take them for delivered.
	g.lowerFloor(a, run[0].mark-1)
	acct := &g.accounts[a]
	acct.pending = append(run, acct.pending...)
	for i := range run {
		if run[i].ev.Type != matcher.EvMassCancelReport || g.reportsMassCancel(&run[i].ev) {
			reports++
		}
	}
	return reports
}

// lowerFloor lowers account a's floor (SetDeliveredBefore) to mark. Under
// pendMu; Delivered reads the floor on any goroutine.
func (g *Gateway) lowerFloor(a int, mark int64) {
	floor := &g.accounts[a].floor
	floor.Store(min(floor.Load(), mark))
}

// hold keeps a report of a held account (ResendOnLogon) in its pending
// reports instead of sending it, and reports whether it did: false once
// the account's session has had them. Publish stage; cold path.
func (g *Gateway) hold(ev *matcher.Event, mark int64) bool {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	acct := &g.accounts[ev.Account]
	if !acct.held.Load() {
		return false
	}
	p := pendingReport{ev: *ev, mark: mark, live: true}
	if ev.Type == matcher.EvMassCancelReport {
		// The counts add up here as Publish adds them, so that a mass
		// cancel half held, half sent, still reports its whole total.
		acct.affected += ev.CumQty
		if !g.reportsMassCancel(ev) {
			return true
		}
		p.ev.CumQty, acct.affected = acct.affected, 0
	}
	acct.pending = append(acct.pending, p)
	return true
}

// resendPending starts sending what is pending for s (ResendOnLogon,
// hold) just after its Logon was answered, unless its older reports are
// still being rebuilt (Regenerated then starts it).
func (g *Gateway) resendPending(s *fix.Session) {
	account := g.accountIDs[s]
	if account == 0 {
		return
	}
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	if g.accounts[account].rebuilding {
		g.logf("fix: %s: reports from before the failover are being rebuilt from the journal; this session's reports wait for them", s.ID())
		return
	}
	g.flushLocked(s, account)
}

// flushChunk and flushBacklog pace a flush: it queues flushChunk reports
// at a time, then waits for the session's socket queue to fall below
// flushBacklog bytes, so that a broker owed many reports is not taken for
// a slow consumer (fix.Config.OutQueueMaxBytes, 8 MiB by default; a report
// is a few hundred bytes).
const (
	flushChunk   = 2048
	flushBacklog = 1 << 20
)

// flushLocked makes sure a flush goroutine sends account's pending reports
// on s, or, with none pending, stops holding its reports. Under pendMu.
func (g *Gateway) flushLocked(s *fix.Session, account uint32) {
	acct := &g.accounts[account]
	switch {
	case acct.flushing:
		// The running flush sends whatever is pending when it looks again.
	case len(acct.pending) == 0:
		acct.held.Store(false)
	default:
		acct.flushing = true
		go g.flush(s, account)
	}
}

// flush sends account's pending reports on s, in order, a chunk at a time:
// resent ones with PossResend=Y, held new ones as they are. Each chunk goes
// under pendMu, so Publish (hold) waits and appends behind it; the account
// stops being held only when nothing is left, so that no new report passes
// an older one (on the wire, and in the delivery mark a later standby
// hears). A session that logs out keeps the rest for its next Logon.
func (g *Gateway) flush(s *fix.Session, account uint32) {
	acct := &g.accounts[account]
	var possResend, body fix.Fields
	possResend.AddChar(tagPossResend, 'Y')
	var affected int64
	resent, sent := 0, 0
	firstSeq, lastSeq := int64(0), int64(0)
	for {
		g.pendMu.Lock()
		pend := acct.pending
		if len(pend) == 0 || !s.LoggedOn() {
			if len(pend) == 0 {
				acct.held.Store(false)
			}
			acct.flushing = false
			g.pendMu.Unlock()
			break
		}
		chunk := pend[:min(len(pend), flushChunk)]
		acct.pending = pend[len(chunk):]
		if firstSeq == 0 {
			firstSeq = chunk[0].ev.Seq
		}
		lastSeq = chunk[len(chunk)-1].ev.Seq
		for i := range chunk {
			p := &chunk[i]
			ev := &p.ev
			body.Reset()
			var msgType string
			if ev.Type == matcher.EvMassCancelReport {
				if !g.massCancelReport(&body, ev, &affected) {
					continue
				}
				msgType = "r"
			} else {
				msgType = g.report(&body, s.BeginString() == fix42, ev)
			}
			header := &possResend
			if p.live {
				header = nil
			}
			if err := s.SendMarked(msgType, header, &body, p.mark); err != nil {
				// Only a stopped session refuses: the gateway is stopping.
				g.logf("fix: %s: %d reports not sent: %v", s.ID(), len(chunk)-i, err)
				acct.flushing = false
				g.pendMu.Unlock()
				return
			}
			if p.live {
				sent++
			} else {
				resent++
			}
		}
		g.pendMu.Unlock()
		for s.Queued() > flushBacklog && s.LoggedOn() {
			time.Sleep(time.Millisecond)
		}
	}
	if resent+sent > 0 {
		g.logf("fix: %s: resent %d reports from before the failover or restart (PossResend=Y) and sent %d held since, seqs %d..%d",
			s.ID(), resent, sent, firstSeq, lastSeq)
	}
}

const fix42 = "FIX.4.2"

const tagPossResend = 97 // header: a report that may have been sent before (ResendOnLogon)

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
	switch {
	case ev.Type == matcher.EvStatus && ev.Reason == matcher.ReasonTooLate:
		// A finished order answers with its final state: "too late" here
		// means a ClOrdID that a replace took away.
		f.AddString(tagText, "ClOrdID was replaced: ask by the order's current ClOrdID or its OrderID")
	case ev.Reason != matcher.ReasonNone:
		f.AddString(tagText, reasonText(ev.Reason))
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

// massCancelRejected answers an OrderMassCancelRequest that never reached the
// matcher.
func (g *Gateway) massCancelRejected(s *fix.Session, clOrd []byte, m *fix.Message, reason int64, text string) {
	var f fix.Fields
	f.AddBytes(tagClOrdID, clOrd)
	f.AddString(tagOrderID, "NONE")
	kind, _ := m.Get(tagMassCancelType)
	f.AddBytes(tagMassCancelType, kind)
	f.AddChar(tagMassCancelResp, '0') // rejected
	f.AddInt(tagMassCancelRej, reason)
	f.AddString(tagText, text)
	if err := s.Send("r", &f); err != nil {
		g.logf("fix: %s: mass cancel reject not sent: %v", s.ID(), err)
	}
}

// idBytes is a ClOrdID without its zero padding, as a slice of the id itself.
func idBytes(id *matcher.ClOrdID) []byte {
	n := 0
	for n < matcher.IDLen && id[n] != 0 {
		n++
	}
	return id[:n]
}

// rejectOrder answers a NewOrderSingle (msgType 'D') or an
// OrderStatusRequest ('H') that never reached the matcher, with an
// ExecutionReport: Rejected, or OrderStatus with OrdStatus 8. It runs on the
// session's reader goroutine: a cold path with its own body.
func (g *Gateway) rejectOrder(s *fix.Session, ref *orderRef, reason matcher.Reason, text string) {
	fix42 := s.BeginString() == fix42
	var f fix.Fields
	f.AddString(tagOrderID, "NONE")
	f.AddString(tagExecID, "R"+strconv.FormatInt(g.rejectSeq.Add(1), 10))
	f.AddBytes(tagClOrdID, ref.clOrdID)
	switch {
	case ref.msgType == 'H' && fix42:
		f.AddChar(tagExecTransType, '3') // status
		f.AddChar(tagExecType, '8')
	case ref.msgType == 'H':
		f.AddChar(tagExecType, 'I')
	case fix42:
		f.AddChar(tagExecTransType, '0')
		f.AddChar(tagExecType, '8')
	default:
		f.AddChar(tagExecType, '8')
	}
	f.AddChar(tagOrdStatus, '8')
	f.AddBytes(tagSymbol, ref.symbol)
	f.AddBytes(tagSide, ref.side)
	f.AddChar(tagCumQty, '0')
	f.AddChar(tagLeavesQty, '0')
	f.AddChar(tagAvgPx, '0')
	f.AddTime(tagTransactTime, time.Now())
	f.AddInt(tagOrdRejReason, int64(ordRejReason(reason, fix42)))
	f.AddString(tagText, text)
	if err := s.Send("8", &f); err != nil {
		g.logf("fix: %s: reject of %s not sent: %v", s.ID(), ref.clOrdID, err)
	}
}

// rejectCancel answers a cancel or replace that never reached the matcher.
func (g *Gateway) rejectCancel(s *fix.Session, ref *orderRef, reason matcher.Reason, text string) {
	var f fix.Fields
	f.AddString(tagOrderID, "NONE")
	f.AddBytes(tagClOrdID, ref.clOrdID)
	f.AddBytes(tagOrigClOrdID, ref.origClOrdID)
	f.AddChar(tagOrdStatus, '8')
	responseTo := byte('1')
	if ref.msgType == 'G' {
		responseTo = '2'
	}
	f.AddChar(tagCxlRejResponseTo, responseTo)
	f.AddInt(tagCxlRejReason, int64(cxlRejReason(reason, s.BeginString() == fix42)))
	f.AddString(tagText, text)
	if err := s.Send("9", &f); err != nil {
		g.logf("fix: %s: cancel reject of %s not sent: %v", s.ID(), ref.clOrdID, err)
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
		g.logf("fix: %s: business reject not sent: %v", s.ID(), err)
	}
}

// ReportCodes gives the MsgType the gateway answers an event with ("8"
// ExecutionReport, "9" OrderCancelReject, "r" OrderMassCancelReport) and, for
// an ExecutionReport, its ExecType (150) and OrdStatus (39); for a cancel
// reject only OrdStatus. `ringex replay trail` uses it so the audit trail
// speaks the codes brokers received.
func ReportCodes(ev *matcher.Event, fix42 bool) (msgType string, execType, ordStatus byte) {
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
	matcher.ReasonBookFull:        "the book is full",
	matcher.ReasonExpired:         "day order expired at the end of the trading day",

	matcher.ReasonCancelOnDisconnect: "cancel on disconnect: the session dropped, or the exchange restarted",
}

func reasonText(r matcher.Reason) string {
	if int(r) < len(reasonTexts) {
		return reasonTexts[r]
	}
	return "reason " + strconv.Itoa(int(r))
}
