package gateway

import (
	"math"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// orderRef is what a broker sent that a reject must echo back. Its slices
// point into the inbound message: valid during FromApp only.
type orderRef struct {
	msgType     byte // 'D', 'F', 'G', 'H' or 'q'
	clOrdID     []byte
	origClOrdID []byte
	symbol      []byte
	side        []byte // a mass cancel's: its MassCancelRequestType
}

// onNewOrder validates a NewOrderSingle and submits it, or rejects it here.
func (g *Gateway) onNewOrder(s *fix.Session, m *fix.Message, account uint32) {
	ref := orderRef{msgType: 'D'}
	cmd := matcher.Command{Kind: matcher.KindNew, Account: account}
	sym, r := g.commonFields(&cmd, m, &ref)
	if r.why == whyNone {
		r = g.orderTerms(&cmd, m, sym)
	}
	if r.why == whyNone {
		r = orderSTP(&cmd, m)
	}
	if r.why == whyNone {
		r = orderSTPGroup(&cmd, m)
	}
	if r.why == whyNone {
		r = g.orderAccount(&cmd, m)
	}
	g.submitOrRefuse(s, account, &ref, &cmd, r)
}

// submitOrRefuse submits cmd, a new order's or a cancel's or replace's
// that passed r's checks, once it claims its ClOrdID, or refuses ref. A
// refused message claims nothing (reject.go).
func (g *Gateway) submitOrRefuse(s *fix.Session, account uint32, ref *orderRef, cmd *matcher.Command, r refusal) {
	if r.why == whyNone && !g.claim(account, &cmd.ClOrdID) {
		r = refused(matcher.ReasonDuplicateClOrd, whyDuplicate, nil)
	}
	if r.why != whyNone {
		g.refuse(s, account, ref, cmd.Symbol, r)
		return
	}
	if err := g.submit.Submit(cmd); err != nil {
		g.refuse(s, account, ref, cmd.Symbol, refused(matcher.ReasonInvalidOrder, whyNotAccepting, nil))
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
	sym, r := g.commonFields(&cmd, m, &ref)
	if r.why == whyNone {
		ref.origClOrdID, _ = m.Get(tagOrigClOrdID)
		var ok bool
		if cmd.OrigClOrdID, ok = clOrdID(ref.origClOrdID); !ok {
			r = refused(matcher.ReasonUnknownOrder, whyOrigClOrdID, nil)
		}
	}
	if r.why == whyNone && kind == matcher.KindReplace {
		r = g.orderTerms(&cmd, m, sym)
	}
	if r.why == whyNone && kind == matcher.KindReplace {
		r = orderSTP(&cmd, m)
	}
	if r.why == whyNone {
		r = g.orderAccount(&cmd, m)
	}
	g.submitOrRefuse(s, account, &ref, &cmd, r)
}

// onStatus submits an OrderStatusRequest: it goes through the ring, so the
// answer reflects everything acknowledged before it.
func (g *Gateway) onStatus(s *fix.Session, m *fix.Message, account uint32) {
	ref := orderRef{msgType: 'H'}
	cmd := matcher.Command{Kind: matcher.KindStatus, Account: account}
	if _, r := g.commonFields(&cmd, m, &ref); r.why != whyNone {
		g.refuse(s, account, &ref, cmd.Symbol, r)
		return
	}
	cmd.OrigClOrdID = cmd.ClOrdID // the order is named by its own ClOrdID
	if id, ok := m.GetInt(tagOrderID); ok && id > 0 {
		cmd.OrderID = int64(id)
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.refuse(s, account, &ref, cmd.Symbol, refused(matcher.ReasonInvalidOrder, whyNotAccepting, nil))
	}
}

// Mass cancel request types (FIX 4.4 MassCancelRequestType) the exchange takes.
const (
	massCancelSymbol = 1 // every order of the session in one symbol
	massCancelAll    = 7 // every order of the session
)

// onMassCancel submits an OrderMassCancelRequest: every resting order of the
// session (GTC too) in one symbol or in all, answered with the cancels and
// then an OrderMassCancelReport once they are durable. Like an order
// (submitOrRefuse), it claims its ClOrdID only once its other checks
// pass.
func (g *Gateway) onMassCancel(s *fix.Session, m *fix.Message, account uint32) {
	ref := orderRef{msgType: 'q'}
	ref.clOrdID, _ = m.Get(tagClOrdID)
	ref.side, _ = m.Get(tagMassCancelType)
	id, ok := clOrdID(ref.clOrdID)
	if !ok {
		g.refuse(s, account, &ref, 0, refused(matcher.ReasonInvalidOrder, whyClOrdID, nil))
		return
	}
	kind, _ := m.GetInt(tagMassCancelType)
	cmd := matcher.MassCancel{Account: account, Scope: matcher.ScopeAllOrders, Report: true, RequestType: int64(kind),
		ClOrdID: id, Origin: matcher.OriginBroker}.Command()
	switch kind {
	case massCancelAll:
	case massCancelSymbol:
		ref.symbol, _ = m.Get(tagSymbol)
		if cmd.Symbol = g.symbolIDs[string(ref.symbol)]; cmd.Symbol == 0 {
			g.refuse(s, account, &ref, 0, refused(matcher.ReasonUnknownSymbol, whyUnknownSymbol, ref.symbol))
			return
		}
	default:
		g.refuse(s, account, &ref, 0, refused(matcher.ReasonInvalidOrder, whyMassCancelType, ref.side))
		return
	}
	if !g.claim(account, &id) { // once every check passed: a refused message leaves its ClOrdID unused
		g.refuse(s, account, &ref, cmd.Symbol, refused(matcher.ReasonDuplicateClOrd, whyDuplicate, nil))
		return
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.refuse(s, account, &ref, cmd.Symbol, refused(matcher.ReasonInvalidOrder, whyNotAccepting, nil))
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
func (g *Gateway) commonFields(cmd *matcher.Command, m *fix.Message, ref *orderRef) (*Symbol, refusal) {
	ref.clOrdID, _ = m.Get(tagClOrdID)
	ref.symbol, _ = m.Get(tagSymbol)
	ref.side, _ = m.Get(tagSide)
	var ok bool
	if cmd.ClOrdID, ok = clOrdID(ref.clOrdID); !ok {
		return nil, refused(matcher.ReasonInvalidOrder, whyClOrdID, nil)
	}
	symID, ok := g.symbolIDs[string(ref.symbol)] // no allocation: map lookup by converted bytes
	if !ok {
		return nil, refused(matcher.ReasonUnknownSymbol, whyUnknownSymbol, ref.symbol)
	}
	cmd.Symbol = symID
	switch string(ref.side) {
	case "1":
		cmd.Side = matcher.Buy
	case "2":
		cmd.Side = matcher.Sell
	default:
		return nil, refused(matcher.ReasonInvalidOrder, whySide, ref.side)
	}
	return &g.opts.Symbols[symID-1], passed
}

// orderAccount sets cmd.Owner from a new order's, a replace's or a
// cancel's Account (1): one of the accounts its session may use
// (Session.Accounts), or the session's own TargetCompID (Owner 0, as
// without tag 1). Any other is refused, naming it. A replace must name
// the order's account as its order did, and a cancel that names a firm's
// account must name the order's: the matcher refuses one for another
// account (ReasonUnknownOrder). No allocation.
func (g *Gateway) orderAccount(cmd *matcher.Command, m *fix.Message) refusal {
	v, ok := m.Get(tagAccount)
	if !ok {
		return passed
	}
	sess := g.accounts[cmd.Account].cfg
	if string(v) == sess.TargetCompID {
		return passed
	}
	id, ok := sess.Accounts[string(v)]
	if !ok {
		return refused(matcher.ReasonUnknownAccount, whyAccount, v)
	}
	cmd.Owner = id
	return passed
}

// orderSTPGroup sets cmd.STPGroup from a new order's SelfMatchPreventionID
// (2362), if it carries one: a positive integer below 2^32.
func orderSTPGroup(cmd *matcher.Command, m *fix.Message) refusal {
	v, ok := m.Get(tagSelfMatchPreventionID)
	if !ok {
		return passed
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
		return refused(matcher.ReasonInvalidOrder, whySTPGroup, v)
	}
	cmd.STPGroup = uint32(n)
	return passed
}

// orderSTP sets cmd.STP from a new order's or a replace's
// SelfMatchPreventionInstruction (2964), if it carries one.
func orderSTP(cmd *matcher.Command, m *fix.Message) refusal {
	v, ok := m.Get(tagSelfMatchPrevention)
	if !ok {
		return passed
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
		return refused(matcher.ReasonInvalidOrder, whySTP, v)
	}
	cmd.STP = uint8(mode) + 1
	return passed
}

// orderTerms sets Type, TIF, Qty and Price on cmd from a new order or a replace.
func (g *Gateway) orderTerms(cmd *matcher.Command, m *fix.Message, sym *Symbol) refusal {
	ordType, _ := m.Get(tagOrdType)
	switch string(ordType) {
	case "1":
		cmd.Type = matcher.Market
	case "2":
		cmd.Type = matcher.Limit
	default:
		return refused(matcher.ReasonInvalidOrder, whyOrdType, ordType)
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
			return refused(matcher.ReasonInvalidOrder, whyTIF, tif)
		}
	}
	qty, _ := m.Get(tagOrderQty)
	lots, ok := sym.Lot.Units(qty)
	if !ok || lots <= 0 {
		return refused(matcher.ReasonInvalidQty, whyQty, qty)
	}
	cmd.Qty = lots
	price, hasPrice := m.Get(tagPrice)
	if cmd.Type == matcher.Market {
		if hasPrice {
			return refused(matcher.ReasonInvalidPrice, whyMarketPrice, nil)
		}
		return passed
	}
	if !hasPrice {
		return refused(matcher.ReasonInvalidPrice, whyNoPrice, nil)
	}
	ticks, ok := sym.Tick.Units(price)
	if !ok || ticks <= 0 {
		return refused(matcher.ReasonInvalidPrice, whyPrice, price)
	}
	cmd.Price = ticks
	return passed
}
