package gateway

// The gateway's own refusals of order messages: what it checks before a
// command reaches the ring, and the report it answers a refusal with.
//
// A refusal is journaled (matcher.KindReject, a matcher.GatewayReject)
// and reported like any other event: the publish stage sends its report
// once the record is durable (Publish), so a broker never sees the answer
// to input the exchange could forget, and the report is rebuilt from the
// journal after a restart and at a failover, for the broker and its drop
// copies alike. The record keeps the first matcher.RejectValueLen bytes
// of the value it refuses (an unknown symbol's name, a Price off the
// tick...) and of the ClOrdID and OrigClOrdID: a longer one is echoed
// cut to that length, and the Text then names the value's first bytes
// followed by "...". Only when the ring takes nothing (the node is
// stopping or failed) is the refusal answered at once, unjournaled, from
// the session's store alone (refuse).
//
// A refused message leaves its ClOrdID unused, live and after a restart:
// a new order, cancel, replace or mass cancel claims its ClOrdID only
// once every other check passes (submitOrRefuse, onMassCancel), and the
// ClOrdIDs rebuilt from the journal at a start (Remember) are those of
// the commands the gateway took, never a reject record's. The broker may
// send the id again, corrected.

import (
	"strconv"
	"time"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// rejectWhy names the check that refused a message: the Text of its
// report (rejectTexts) and a mass cancel's MassCancelRejectReason. It is
// journaled (GatewayReject.Why): a code keeps its meaning for good, and a
// new one goes at the end.
type rejectWhy uint8

const (
	whyNone           rejectWhy = iota
	whyClOrdID                  // ClOrdID missing or too long
	whyUnknownSymbol            // value: the symbol as sent
	whySide                     // value: the Side as sent
	whyOrigClOrdID              // OrigClOrdID missing or too long
	whyOrdType                  // value: the OrdType as sent
	whyTIF                      // value: the TimeInForce as sent
	whyQty                      // value: the OrderQty as sent
	whyMarketPrice              // a market order with a Price
	whyNoPrice                  // a limit order without one
	whyPrice                    // value: the Price as sent
	whySTP                      // value: the SelfMatchPreventionInstruction as sent
	whySTPGroup                 // value: the SelfMatchPreventionID as sent
	whyAccount                  // value: the Account as sent
	whyDuplicate                // a ClOrdID the account used
	whyMassCancelType           // value: the MassCancelRequestType as sent
	whyNotAccepting             // the ring takes nothing: never journaled
	numWhys
)

// rejectTexts gives each rejectWhy's Text: before, the value when the
// check has one (or the ClOrdID for whyDuplicate), after.
var rejectTexts = [numWhys]struct {
	before, after string
	value         bool
}{
	whyClOrdID:        {before: "ClOrdID missing or longer than 24 characters"},
	whyUnknownSymbol:  {before: "unknown symbol ", value: true},
	whySide:           {before: "unsupported Side ", after: " (want 1 buy or 2 sell)", value: true},
	whyOrigClOrdID:    {before: "OrigClOrdID missing or longer than 24 characters"},
	whyOrdType:        {before: "unsupported OrdType ", after: " (want 1 market or 2 limit)", value: true},
	whyTIF:            {before: "unsupported TimeInForce ", after: " (want 0, 1, 3 or 4)", value: true},
	whyQty:            {before: "OrderQty ", after: " is not a positive multiple of the lot size (nor too large)", value: true},
	whyMarketPrice:    {before: "a market order carries no Price"},
	whyNoPrice:        {before: "a limit order needs a Price"},
	whyPrice:          {before: "Price ", after: " is not a positive multiple of the tick size (nor too large)", value: true},
	whySTP:            {before: "unsupported SelfMatchPreventionInstruction ", after: " (want 1 cancel incoming, 2 cancel resting, 3 cancel both or 4 decrement)", value: true},
	whySTPGroup:       {before: "SelfMatchPreventionID ", after: " is not a positive integer below 4294967296", value: true},
	whyAccount:        {before: "account ", after: " may not be used by session ", value: true},
	whyDuplicate:      {before: "duplicate ClOrdID "},
	whyMassCancelType: {before: "MassCancelRequestType must be 1 (symbol) or 7 (all orders)"},
	whyNotAccepting:   {before: "exchange is not accepting orders"},
}

// refusal is a check's verdict: why is whyNone when it passes. value is
// the refused field as sent, valid during FromApp only.
type refusal struct {
	reason matcher.Reason
	why    rejectWhy
	value  []byte
}

var passed = refusal{}

// refused is a refusal; no allocation.
func refused(reason matcher.Reason, why rejectWhy, value []byte) refusal {
	return refusal{reason: reason, why: why, value: value}
}

// fit copies src into dst and reports whether it was cut.
func fit(dst, src []byte) bool {
	copy(dst, src)
	return len(src) > len(dst)
}

// refuse answers ref, a message of session s (account a) that r refused:
// it journals the refusal (a KindReject record through the ring) and the
// publish stage reports it once durable, to s and a's drop copies
// (Publish). When the ring takes nothing (Submit fails), or r is
// whyNotAccepting, it answers at once instead, unjournaled (sendReject).
// symbol is the symbol's id when a check found it (0: not known). It runs
// on the session's reader goroutine: a cold path.
func (g *Gateway) refuse(s *fix.Session, a uint32, ref *orderRef, symbol uint32, r refusal) {
	if ref.msgType != 'q' {
		g.rejects[r.reason%rejectReasons].Add(1)
	}
	gr := matcher.GatewayReject{Account: a, Request: ref.msgType, Reason: r.reason, Why: uint8(r.why), Symbol: symbol}
	if len(ref.side) == 1 {
		gr.Side = ref.side[0]
	}
	if fit(gr.ClOrdID[:], ref.clOrdID) {
		gr.Cut |= matcher.CutClOrdID
	}
	if fit(gr.OrigClOrdID[:], ref.origClOrdID) {
		gr.Cut |= matcher.CutOrigClOrdID
	}
	value := r.value
	if gr.Symbol == 0 && valueFree(r.why) {
		// A check before the symbol's: the record's value keeps it (RejectSymbol).
		if gr.Symbol = g.symbolIDs[string(ref.symbol)]; gr.Symbol == 0 {
			value = ref.symbol
		}
	}
	if fit(gr.Value[:], value) {
		gr.Cut |= matcher.CutValue
	}
	cmd := gr.Command()
	if r.why != whyNotAccepting && g.submit.Submit(&cmd) == nil {
		return // Publish reports it once durable
	}
	cmd.TimeNs = time.Now().UnixNano()
	ev := matcher.RejectEvent(&cmd)
	ev.ExecID = -g.rejectSeq.Add(1) // not journaled: an id of its own (rejectReport)
	msgType, _, _ := rejectCodes(&ev, false)
	g.sendReject(s, a, msgType, func(f *fix.Fields, fix42 bool) { g.rejectReport(f, fix42, &ev) })
}

// rejectReport writes into f the report of a gateway refusal, ev
// (matcher.RejectEvent of its record), and returns its MsgType: an
// ExecutionReport Rejected (a new order) or OrderStatus with OrdStatus 8
// (a status request), an OrderCancelReject (a cancel, a replace) or an
// OrderMassCancelReport that rejects (a mass cancel). Its ExecID is the
// event's, or R and a number for an unjournaled refusal (ev.ExecID < 0).
// It reads only the event and the options, so any goroutine may call it;
// it allocates the Text of a refusal that names a value (a cold path: a
// refused message, throttled per session).
func (g *Gateway) rejectReport(f *fix.Fields, fix42 bool, ev *matcher.Event) string {
	r, _ := matcher.GatewayRejectOfEvent(ev)
	why := rejectWhy(r.Why)
	clOrd := idBytes(&r.ClOrdID)
	text := g.rejectText(&r, ev)
	switch r.Request {
	case 'q':
		f.AddBytes(tagClOrdID, clOrd)
		f.AddString(tagOrderID, "NONE")
		if why == whyMassCancelType {
			f.AddBytes(tagMassCancelType, r.ValueBytes())
		} else if r.Side != 0 {
			f.AddChar(tagMassCancelType, r.Side)
		} else {
			f.AddString(tagMassCancelType, "")
		}
		f.AddChar(tagMassCancelResp, '0') // rejected
		f.AddInt(tagMassCancelRej, massCancelRejReason(why))
		f.AddString(tagText, text)
		return "r"
	case 'F', 'G':
		f.AddString(tagOrderID, "NONE")
		f.AddBytes(tagClOrdID, clOrd)
		f.AddBytes(tagOrigClOrdID, idBytes(&r.OrigClOrdID))
		f.AddChar(tagOrdStatus, '8')
		responseTo := byte('1')
		if r.Request == 'G' {
			responseTo = '2'
		}
		f.AddChar(tagCxlRejResponseTo, responseTo)
		f.AddInt(tagCxlRejReason, int64(cxlRejReason(r.Reason, fix42)))
		f.AddString(tagText, text)
		return "9"
	}
	f.AddString(tagOrderID, "NONE")
	if ev.ExecID < 0 {
		f.AddString(tagExecID, "R"+strconv.FormatInt(-ev.ExecID, 10))
	} else {
		f.AddInt(tagExecID, ev.ExecID)
	}
	f.AddBytes(tagClOrdID, clOrd)
	switch {
	case r.Request == 'H' && fix42:
		f.AddChar(tagExecTransType, '3') // status
		f.AddChar(tagExecType, '8')
	case r.Request == 'H':
		f.AddChar(tagExecType, 'I')
	case fix42:
		f.AddChar(tagExecTransType, '0')
		f.AddChar(tagExecType, '8')
	default:
		f.AddChar(tagExecType, '8')
	}
	f.AddChar(tagOrdStatus, '8')
	if r.Symbol != 0 {
		f.AddString(tagSymbol, g.symbol(r.Symbol).Name)
	} else {
		f.AddBytes(tagSymbol, RejectSymbol(&r))
	}
	switch {
	case why == whySide:
		f.AddBytes(tagSide, r.ValueBytes())
	case r.Side != 0:
		f.AddChar(tagSide, r.Side)
	default:
		f.AddString(tagSide, "")
	}
	f.AddChar(tagCumQty, '0')
	f.AddChar(tagLeavesQty, '0')
	f.AddChar(tagAvgPx, '0')
	f.AddTime(tagTransactTime, time.Unix(0, ev.TimeNs))
	f.AddInt(tagOrdRejReason, int64(ordRejReason(r.Reason, fix42)))
	f.AddString(tagText, text)
	return "8"
}

// valueFree reports whether a refusal by check why leaves its record's
// Value free (the check refuses no value of its own), so that the Value
// keeps the symbol as sent when the venue does not list it. false for a
// code this build does not know.
func valueFree(why rejectWhy) bool {
	return why < numWhys && !rejectTexts[why].value
}

// RejectSymbol is the unlisted symbol that the report of refusal r echoes
// as Symbol (55), as sent: r's Value when r.Symbol is 0 and the Value
// holds the symbol (a refusal for the symbol itself, or by a check that
// refuses no value of its own); nil otherwise (r.Symbol names a listed
// symbol, the Value holds another field, or r's Why is a code this build
// does not know, which may hold anything). It is the one rule for which
// value a refusal echoes as its symbol: the audit trail shows the same.
func RejectSymbol(r *matcher.GatewayReject) []byte {
	why := rejectWhy(r.Why)
	if r.Symbol != 0 || (why != whyUnknownSymbol && !valueFree(why)) {
		return nil
	}
	return r.ValueBytes()
}

// rejectText is the Text of refusal r (rejectTexts); the reason's text
// for a Why this build does not know (a journal of a later build).
func (g *Gateway) rejectText(r *matcher.GatewayReject, ev *matcher.Event) string {
	why := rejectWhy(r.Why)
	if why >= numWhys || rejectTexts[why].before == "" {
		return reasonText(r.Reason)
	}
	t := rejectTexts[why]
	switch {
	case why == whyNotAccepting && (r.Request == 'H' || r.Request == 'q'):
		return "exchange is not accepting requests"
	case why == whyDuplicate:
		return t.before + r.ClOrdID.String() + cutMark(r.Cut&matcher.CutClOrdID != 0)
	case !t.value:
		return t.before
	}
	text := t.before + string(r.ValueBytes()) + cutMark(r.Cut&matcher.CutValue != 0) + t.after
	if why == whyAccount && int(ev.Account) < len(g.accounts) {
		text += g.accounts[ev.Account].cfg.TargetCompID
	}
	return text
}

func cutMark(cut bool) string {
	if cut {
		return "..."
	}
	return ""
}

// massCancelRejReason is the MassCancelRejectReason (532) of a refused
// mass cancel: 1 unknown symbol, 0 an unsupported request type, 99 other.
func massCancelRejReason(why rejectWhy) int64 {
	switch why {
	case whyUnknownSymbol:
		return 1
	case whyMassCancelType:
		return 0
	}
	return 99
}

// rejectCodes is ReportCodes of a gateway refusal (rejectReport).
func rejectCodes(ev *matcher.Event, fix42 bool) (msgType string, execType, ordStatus byte) {
	switch byte(ev.OrdType) { // the refused message's MsgType (matcher.RejectEvent)
	case 'q':
		return "r", 0, 0
	case 'F', 'G':
		return "9", 0, '8'
	case 'H':
		if !fix42 {
			return "8", 'I', '8'
		}
	}
	return "8", '8', '8'
}
