package gateway

import (
	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/matcher"
)

// orderRef is what a broker sent that a reject must echo back.
type orderRef struct {
	msgType     string // "D", "F" or "G"
	clOrdID     string
	origClOrdID string
	symbol      string
	side        string
}

// onNewOrder validates a NewOrderSingle and submits it, or rejects it here.
func (g *Gateway) onNewOrder(msg *quickfix.Message, sid quickfix.SessionID, account uint32) quickfix.MessageRejectError {
	var ref orderRef
	ref.msgType = "D"
	var raw [6][]byte
	for i, t := range [...]quickfix.Tag{tag.ClOrdID, tag.Symbol, tag.Side, tag.OrderQty, tag.OrdType} {
		b, err := msg.Body.GetBytes(t)
		if err != nil || len(b) == 0 {
			return quickfix.RequiredTagMissing(t)
		}
		raw[i] = b
	}
	ref.clOrdID, ref.symbol, ref.side = string(raw[0]), string(raw[1]), string(raw[2])

	cmd := matcher.Command{Kind: matcher.KindNew, Account: account}
	sym, reason, text := g.commonFields(&cmd, &ref)
	if reason == matcher.ReasonNone {
		reason, text = g.orderTerms(&cmd, msg, sym, raw[3], raw[4])
	}
	if reason != matcher.ReasonNone {
		g.rejectOrder(sid, &ref, reason, text)
		return nil
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.rejectOrder(sid, &ref, matcher.ReasonInvalidOrder, "exchange is not accepting orders")
	}
	return nil
}

// onCancel validates an OrderCancelRequest (kind KindCancel) or an
// OrderCancelReplaceRequest (KindReplace) and submits it, or rejects it here.
func (g *Gateway) onCancel(msg *quickfix.Message, sid quickfix.SessionID, account uint32, kind matcher.Kind) quickfix.MessageRejectError {
	ref := orderRef{msgType: "F"}
	required := []quickfix.Tag{tag.OrigClOrdID, tag.ClOrdID, tag.Symbol, tag.Side}
	if kind == matcher.KindReplace {
		ref.msgType = "G"
		required = append(required, tag.OrderQty, tag.OrdType)
	}
	raw := make([][]byte, len(required))
	for i, t := range required {
		b, err := msg.Body.GetBytes(t)
		if err != nil || len(b) == 0 {
			return quickfix.RequiredTagMissing(t)
		}
		raw[i] = b
	}
	ref.origClOrdID, ref.clOrdID, ref.symbol, ref.side = string(raw[0]), string(raw[1]), string(raw[2]), string(raw[3])

	cmd := matcher.Command{Kind: kind, Account: account}
	sym, reason, text := g.commonFields(&cmd, &ref)
	if reason == matcher.ReasonNone {
		if id, ok := matcher.MakeClOrdID(ref.origClOrdID); ok {
			cmd.OrigClOrdID = id
		} else {
			reason, text = matcher.ReasonUnknownOrder, "OrigClOrdID longer than 24 characters"
		}
	}
	if reason == matcher.ReasonNone && kind == matcher.KindReplace {
		reason, text = g.orderTerms(&cmd, msg, sym, raw[4], raw[5])
	}
	if reason != matcher.ReasonNone {
		g.rejectCancel(sid, &ref, reason, text)
		return nil
	}
	if err := g.submit.Submit(&cmd); err != nil {
		g.rejectCancel(sid, &ref, matcher.ReasonInvalidOrder, "exchange is not accepting orders")
	}
	return nil
}

// commonFields sets ClOrdID, Symbol and Side on cmd.
func (g *Gateway) commonFields(cmd *matcher.Command, ref *orderRef) (*Symbol, matcher.Reason, string) {
	id, ok := matcher.MakeClOrdID(ref.clOrdID)
	if !ok {
		return nil, matcher.ReasonInvalidOrder, "ClOrdID longer than 24 characters"
	}
	cmd.ClOrdID = id
	symID, ok := g.symbolIDs[ref.symbol]
	if !ok {
		return nil, matcher.ReasonUnknownSymbol, "unknown symbol " + ref.symbol
	}
	cmd.Symbol = symID
	switch ref.side {
	case "1":
		cmd.Side = matcher.Buy
	case "2":
		cmd.Side = matcher.Sell
	default:
		return nil, matcher.ReasonInvalidOrder, "unsupported Side " + ref.side + " (want 1 buy or 2 sell)"
	}
	return &g.opts.Symbols[symID-1], matcher.ReasonNone, ""
}

// orderTerms sets Type, TIF, Qty and Price on cmd from a new order or a replace.
func (g *Gateway) orderTerms(cmd *matcher.Command, msg *quickfix.Message, sym *Symbol, qty, ordType []byte) (matcher.Reason, string) {
	switch string(ordType) {
	case "1":
		cmd.Type = matcher.Market
	case "2":
		cmd.Type = matcher.Limit
	default:
		return matcher.ReasonInvalidOrder, "unsupported OrdType " + string(ordType) + " (want 1 market or 2 limit)"
	}
	cmd.TIF = matcher.Day
	if tif, err := msg.Body.GetBytes(tag.TimeInForce); err == nil {
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
	lots, ok := sym.Lot.Units(qty)
	if !ok || lots <= 0 {
		return matcher.ReasonInvalidQty, "OrderQty " + string(qty) + " is not a positive multiple of the lot size"
	}
	cmd.Qty = lots
	price, err := msg.Body.GetBytes(tag.Price)
	if cmd.Type == matcher.Market {
		if err == nil {
			return matcher.ReasonInvalidPrice, "a market order carries no Price"
		}
		return matcher.ReasonNone, ""
	}
	if err != nil || len(price) == 0 {
		return matcher.ReasonInvalidPrice, "a limit order needs a Price"
	}
	ticks, ok := sym.Tick.Units(price)
	if !ok || ticks <= 0 {
		return matcher.ReasonInvalidPrice, "Price " + string(price) + " is not a positive multiple of the tick size"
	}
	cmd.Price = ticks
	return matcher.ReasonNone, ""
}
