package gateway

import (
	"math"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// orderRef is what a broker sent that a reject must echo back. Its slices
// point into the inbound message: valid during FromApp only.
type orderRef struct {
	msgType     byte // 'D', 'F' or 'G'
	clOrdID     []byte
	origClOrdID []byte
	symbol      []byte
	side        []byte
}

// onNewOrder validates a NewOrderSingle and submits it, or rejects it here.
func (g *Gateway) onNewOrder(s *fix.Session, m *fix.Message, account uint32) {
	ref := orderRef{msgType: 'D'}
	cmd := matcher.Command{Kind: matcher.KindNew, Account: account}
	sym, reason, text := g.commonFields(&cmd, m, &ref)
	if reason == matcher.ReasonNone {
		reason, text = g.orderTerms(&cmd, m, sym)
	}
	if reason == matcher.ReasonNone {
		reason, text = orderSTP(&cmd, m)
	}
	if reason == matcher.ReasonNone {
		reason, text = orderSTPGroup(&cmd, m)
	}
	if reason == matcher.ReasonNone {
		reason, text = g.orderAccount(&cmd, m)
	}
	if reason == matcher.ReasonNone && !g.claim(account, &cmd.ClOrdID) {
		reason, text = matcher.ReasonDuplicateClOrd, "duplicate ClOrdID "+string(ref.clOrdID)
	}
	if reason != matcher.ReasonNone {
		g.rejectOrder(s, account, &ref, reason, text)
		return
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.rejectOrder(s, account, &ref, matcher.ReasonInvalidOrder, "exchange is not accepting orders")
	}
}

// onCancel validates an OrderCancelRequest (kind KindCancel) or an
// OrderCancelReplaceRequest (KindReplace) and submits it, or rejects it here.
func (g *Gateway) onCancel(s *fix.Session, m *fix.Message, account uint32, kind matcher.Kind) {
	ref := orderRef{msgType: 'F'}
	if kind == matcher.KindReplace {
		ref.msgType = 'G'
	}
	cmd := matcher.Command{Kind: kind, Account: account}
	sym, reason, text := g.commonFields(&cmd, m, &ref)
	if reason == matcher.ReasonNone {
		ref.origClOrdID, _ = m.Get(tagOrigClOrdID)
		var ok bool
		if cmd.OrigClOrdID, ok = clOrdID(ref.origClOrdID); !ok {
			reason, text = matcher.ReasonUnknownOrder, "OrigClOrdID missing or longer than 24 characters"
		}
	}
	if reason == matcher.ReasonNone && kind == matcher.KindReplace {
		reason, text = g.orderTerms(&cmd, m, sym)
	}
	if reason == matcher.ReasonNone && kind == matcher.KindReplace {
		reason, text = orderSTP(&cmd, m)
	}
	if reason == matcher.ReasonNone {
		reason, text = g.orderAccount(&cmd, m)
	}
	if reason == matcher.ReasonNone && !g.claim(account, &cmd.ClOrdID) {
		reason, text = matcher.ReasonDuplicateClOrd, "duplicate ClOrdID "+string(ref.clOrdID)
	}
	if reason != matcher.ReasonNone {
		g.rejectCancel(s, account, &ref, reason, text)
		return
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.rejectCancel(s, account, &ref, matcher.ReasonInvalidOrder, "exchange is not accepting orders")
	}
}

// onStatus submits an OrderStatusRequest: it goes through the ring, so the
// answer reflects everything acknowledged before it.
func (g *Gateway) onStatus(s *fix.Session, m *fix.Message, account uint32) {
	ref := orderRef{msgType: 'H'}
	cmd := matcher.Command{Kind: matcher.KindStatus, Account: account}
	_, reason, text := g.commonFields(&cmd, m, &ref)
	if reason != matcher.ReasonNone {
		g.rejectOrder(s, account, &ref, reason, text)
		return
	}
	cmd.OrigClOrdID = cmd.ClOrdID // the order is named by its own ClOrdID
	if id, ok := m.GetInt(tagOrderID); ok && id > 0 {
		cmd.OrderID = int64(id)
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.rejectOrder(s, account, &ref, matcher.ReasonInvalidOrder, "exchange is not accepting requests")
	}
}

// Mass cancel request types (FIX 4.4 MassCancelRequestType) the exchange takes.
const (
	massCancelSymbol = 1 // every order of the session in one symbol
	massCancelAll    = 7 // every order of the session
)

// onMassCancel submits an OrderMassCancelRequest: every resting order of the
// session (GTC too) in one symbol or in all, answered with the cancels and
// then an OrderMassCancelReport once they are durable.
func (g *Gateway) onMassCancel(s *fix.Session, m *fix.Message, account uint32) {
	clOrd, _ := m.Get(tagClOrdID)
	id, ok := clOrdID(clOrd)
	if !ok {
		g.massCancelRejected(s, account, clOrd, m, 99, "ClOrdID missing or longer than 24 characters")
		return
	}
	if !g.claim(account, &id) {
		g.massCancelRejected(s, account, clOrd, m, 99, "duplicate ClOrdID "+string(clOrd))
		return
	}
	kind, _ := m.GetInt(tagMassCancelType)
	cmd := matcher.MassCancel{Account: account, Scope: matcher.ScopeAllOrders, Report: true, RequestType: int64(kind),
		ClOrdID: id, Origin: matcher.OriginBroker}.Command()
	switch kind {
	case massCancelAll:
	case massCancelSymbol:
		sym, _ := m.Get(tagSymbol)
		if cmd.Symbol = g.symbolIDs[string(sym)]; cmd.Symbol == 0 {
			g.massCancelRejected(s, account, clOrd, m, 1, "unknown symbol "+string(sym))
			return
		}
	default:
		g.massCancelRejected(s, account, clOrd, m, 0, "MassCancelRequestType must be 1 (symbol) or 7 (all orders)")
		return
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.massCancelRejected(s, account, clOrd, m, 99, "exchange is not accepting requests")
	}
}

// clOrdID copies b into a fixed-size id; ok is false when b is empty or too
// long. No allocation.
func clOrdID(b []byte) (id matcher.ClOrdID, ok bool) {
	if len(b) == 0 || len(b) > matcher.IDLen {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

// commonFields sets ClOrdID, Symbol and Side on cmd.
func (g *Gateway) commonFields(cmd *matcher.Command, m *fix.Message, ref *orderRef) (*Symbol, matcher.Reason, string) {
	ref.clOrdID, _ = m.Get(tagClOrdID)
	ref.symbol, _ = m.Get(tagSymbol)
	ref.side, _ = m.Get(tagSide)
	var ok bool
	if cmd.ClOrdID, ok = clOrdID(ref.clOrdID); !ok {
		return nil, matcher.ReasonInvalidOrder, "ClOrdID missing or longer than 24 characters"
	}
	symID, ok := g.symbolIDs[string(ref.symbol)] // no allocation: map lookup by converted bytes
	if !ok {
		return nil, matcher.ReasonUnknownSymbol, "unknown symbol " + string(ref.symbol)
	}
	cmd.Symbol = symID
	switch string(ref.side) {
	case "1":
		cmd.Side = matcher.Buy
	case "2":
		cmd.Side = matcher.Sell
	default:
		return nil, matcher.ReasonInvalidOrder, "unsupported Side " + string(ref.side) + " (want 1 buy or 2 sell)"
	}
	return &g.opts.Symbols[symID-1], matcher.ReasonNone, ""
}

// orderAccount sets cmd.Owner from a new order's, a replace's or a
// cancel's Account (1): one of the accounts its session may use
// (Session.Accounts), or the session's own TargetCompID (Owner 0, as
// without tag 1). Any other is refused, naming it. A replace must name
// the order's account as its order did, and a cancel that names a firm's
// account must name the order's: the matcher refuses one for another
// account (ReasonUnknownOrder). No allocation but on a refusal.
func (g *Gateway) orderAccount(cmd *matcher.Command, m *fix.Message) (matcher.Reason, string) {
	v, ok := m.Get(tagAccount)
	if !ok {
		return matcher.ReasonNone, ""
	}
	sess := g.accounts[cmd.Account].cfg
	if string(v) == sess.TargetCompID {
		return matcher.ReasonNone, ""
	}
	id, ok := sess.Accounts[string(v)]
	if !ok {
		return matcher.ReasonUnknownAccount, "account " + string(v) + " may not be used by session " + sess.TargetCompID
	}
	cmd.Owner = id
	return matcher.ReasonNone, ""
}

// orderSTPGroup sets cmd.STPGroup from a new order's SelfMatchPreventionID
// (2362), if it carries one: a positive integer below 2^32.
func orderSTPGroup(cmd *matcher.Command, m *fix.Message) (matcher.Reason, string) {
	v, ok := m.Get(tagSelfMatchPreventionID)
	if !ok {
		return matcher.ReasonNone, ""
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' || n > math.MaxUint32/10 {
			n = 0
			break
		}
		n = n*10 + uint64(c-'0')
	}
	if n == 0 || n > math.MaxUint32 {
		return matcher.ReasonInvalidOrder, "SelfMatchPreventionID " + string(v) + " is not a positive integer below 4294967296"
	}
	cmd.STPGroup = uint32(n)
	return matcher.ReasonNone, ""
}

// orderSTP sets cmd.STP from a new order's or a replace's
// SelfMatchPreventionInstruction (2964), if it carries one.
func orderSTP(cmd *matcher.Command, m *fix.Message) (matcher.Reason, string) {
	v, ok := m.Get(tagSelfMatchPrevention)
	if !ok {
		return matcher.ReasonNone, ""
	}
	var mode matcher.STPMode
	switch string(v) {
	case "1":
		mode = matcher.STPCancelIncoming
	case "2":
		mode = matcher.STPCancelResting
	case "3":
		mode = matcher.STPCancelBoth
	case "4":
		mode = matcher.STPDecrement
	default:
		return matcher.ReasonInvalidOrder, "unsupported SelfMatchPreventionInstruction " + string(v) +
			" (want 1 cancel incoming, 2 cancel resting, 3 cancel both or 4 decrement)"
	}
	cmd.STP = uint8(mode) + 1
	return matcher.ReasonNone, ""
}

// orderTerms sets Type, TIF, Qty and Price on cmd from a new order or a replace.
func (g *Gateway) orderTerms(cmd *matcher.Command, m *fix.Message, sym *Symbol) (matcher.Reason, string) {
	ordType, _ := m.Get(tagOrdType)
	switch string(ordType) {
	case "1":
		cmd.Type = matcher.Market
	case "2":
		cmd.Type = matcher.Limit
	default:
		return matcher.ReasonInvalidOrder, "unsupported OrdType " + string(ordType) + " (want 1 market or 2 limit)"
	}
	cmd.TIF = matcher.Day
	if tif, ok := m.Get(tagTimeInForce); ok {
		switch string(tif) {
		case "0":
			cmd.TIF = matcher.Day
		case "1":
			cmd.TIF = matcher.GTC
		case "3":
			cmd.TIF = matcher.IOC
		case "4":
			cmd.TIF = matcher.FOK
		default:
			return matcher.ReasonInvalidOrder, "unsupported TimeInForce " + string(tif) + " (want 0, 1, 3 or 4)"
		}
	}
	qty, _ := m.Get(tagOrderQty)
	lots, ok := sym.Lot.Units(qty)
	if !ok || lots <= 0 {
		return matcher.ReasonInvalidQty, "OrderQty " + string(qty) + " is not a positive multiple of the lot size (nor too large)"
	}
	cmd.Qty = lots
	price, hasPrice := m.Get(tagPrice)
	if cmd.Type == matcher.Market {
		if hasPrice {
			return matcher.ReasonInvalidPrice, "a market order carries no Price"
		}
		return matcher.ReasonNone, ""
	}
	if !hasPrice {
		return matcher.ReasonInvalidPrice, "a limit order needs a Price"
	}
	ticks, ok := sym.Tick.Units(price)
	if !ok || ticks <= 0 {
		return matcher.ReasonInvalidPrice, "Price " + string(price) + " is not a positive multiple of the tick size (nor too large)"
	}
	cmd.Price = ticks
	return matcher.ReasonNone, ""
}
