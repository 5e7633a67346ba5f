package matcher

import "encoding/binary"

// KindReject is the gateway's own refusal of a broker's order message (a
// new order, a cancel, a replace, a status request or a mass cancel it
// refused before any engine could see it: an unknown symbol, a price off
// the tick, a duplicate ClOrdID...), journaled so that its report is sent
// only once the refusal is durable and is rebuilt from the journal like
// any other report: after a restart, at a failover, for drop copies and
// in the audit trail. Its content is a GatewayReject.
//
// It changes nothing: the risk stage passes it (an empty Hold), and the
// engine that owns its Symbol (partition 0's when Symbol is 0) answers it
// with one event built from the record alone (RejectEvent), touching no
// book, no ClOrdID and nothing its hash covers. Routing it like an order
// lets every path that turns records into events (the node's match
// stage, Partitions.Apply, risk.Step, audit's replays) produce that event
// without a case of its own.
const KindReject Kind = 21

// RejectValueLen is how many bytes of the refused value a GatewayReject
// keeps.
const RejectValueLen = 24

// Cut flags: which of a GatewayReject's byte fields was sent longer than
// it holds (its first bytes are kept).
const (
	CutValue       = 1 << 0
	CutClOrdID     = 1 << 1
	CutOrigClOrdID = 1 << 2
)

// GatewayReject is the content of a KindReject record: what the report of
// a gateway's refusal needs, in the Command's fixed fields.
//
//	Command field   Account (low 16)  Owner (Account's high 16)  Kind        Side  Type     TIF     Symbol  ClOrdID  OrigClOrdID  OrderID, Price, Qty
//	holds           Account           Why | Cut<<8               KindReject  Side  Request  Reason  Symbol  ClOrdID  OrigClOrdID  Value[0:8], [8:16], [16:24]
//
// Value is little-endian in the three integers, so the journal's bytes 16
// to 40 are Value as is. Every other field is zero (Seq and TimeNs are set
// at ingress). The matcher reads none of it: Why is the gateway's code for
// the check that refused (it names the report's Text), Request the
// refused message's MsgType, and the byte fields are what the broker
// sent, for the report to echo.
type GatewayReject struct {
	Account     uint32 // the session that sent the message (below 1<<16)
	Request     byte   // its MsgType: 'D', 'F', 'G', 'H' or 'q'
	Reason      Reason // the refusal's reason (OrdRejReason, CxlRejReason)
	Why         uint8  // the gateway's code for the check that refused
	Cut         uint8  // CutValue, CutClOrdID, CutOrigClOrdID
	Side        byte   // Side (54) as sent when one byte (a mass cancel: its MassCancelRequestType, 530); 0: none
	Symbol      uint32 // the symbol's id when the gateway knew it; 0: unknown, or not looked at
	ClOrdID     ClOrdID
	OrigClOrdID ClOrdID
	Value       [RejectValueLen]byte // the refused value as sent, or an unknown symbol's name; zero-padded
}

// Command is the record that journals r.
func (r *GatewayReject) Command() Command {
	le := binary.LittleEndian
	return Command{
		Kind: KindReject, Account: r.Account, Owner: uint32(r.Why) | uint32(r.Cut)<<8,
		Side: Side(r.Side), Type: OrdType(r.Request), TIF: TIF(r.Reason), Symbol: r.Symbol,
		ClOrdID: r.ClOrdID, OrigClOrdID: r.OrigClOrdID,
		OrderID: int64(le.Uint64(r.Value[0:])), Price: int64(le.Uint64(r.Value[8:])), Qty: int64(le.Uint64(r.Value[16:])),
	}
}

// GatewayRejectOf reads a KindReject record; ok is false for another kind.
func GatewayRejectOf(c *Command) (r GatewayReject, ok bool) {
	if c.Kind != KindReject {
		return r, false
	}
	r = GatewayReject{Account: c.Account, Why: uint8(c.Owner), Cut: uint8(c.Owner >> 8), Side: byte(c.Side),
		Request: byte(c.Type), Reason: Reason(c.TIF), Symbol: c.Symbol, ClOrdID: c.ClOrdID, OrigClOrdID: c.OrigClOrdID}
	le := binary.LittleEndian
	le.PutUint64(r.Value[0:], uint64(c.OrderID))
	le.PutUint64(r.Value[8:], uint64(c.Price))
	le.PutUint64(r.Value[16:], uint64(c.Qty))
	return r, true
}

// RejectEvent is the one event a KindReject record c causes: EvRejected
// answering a new order or a status request, EvCancelRejected answering a
// cancel, a replace or a mass cancel; OrderID 0, ExecID the command's
// first (Seq×ExecIDStride), Kind KindReject. It carries the record's
// content for the gateway's report, which reads it back with
// GatewayRejectOfEvent and nothing else: Reason, Symbol, Account,
// ClOrdID and OrigClOrdID are the record's; Side and OrdType hold the
// raw Side and Request bytes, TIF Why, LastQty Cut, and Price, OrderQty
// and CumNotional the Value. Hot path: no allocation.
func RejectEvent(c *Command) Event {
	typ := EvRejected
	if c.Type != OrdType('D') && c.Type != OrdType('H') {
		typ = EvCancelRejected
	}
	return Event{
		Seq: c.Seq, TimeNs: c.TimeNs, ExecID: c.Seq * ExecIDStride, Symbol: c.Symbol, Account: c.Account,
		Type: typ, Reason: Reason(c.TIF), Side: c.Side, OrdType: c.Type, TIF: TIF(c.Owner), LastQty: int64(c.Owner >> 8 & 0xff),
		Kind: KindReject, ClOrdID: c.ClOrdID, OrigClOrdID: c.OrigClOrdID,
		Price: c.OrderID, OrderQty: c.Price, CumNotional: c.Qty,
	}
}

// GatewayRejectOfEvent reads the record back from its event
// (RejectEvent); ok is false for an event of another kind.
func GatewayRejectOfEvent(ev *Event) (r GatewayReject, ok bool) {
	if ev.Kind != KindReject {
		return r, false
	}
	c := Command{Kind: KindReject, Account: ev.Account, Owner: uint32(ev.TIF) | uint32(ev.LastQty&0xff)<<8,
		Side: ev.Side, Type: ev.OrdType, TIF: TIF(ev.Reason), Symbol: ev.Symbol, ClOrdID: ev.ClOrdID,
		OrigClOrdID: ev.OrigClOrdID, OrderID: ev.Price, Price: ev.OrderQty, Qty: ev.CumNotional}
	return GatewayRejectOf(&c)
}

// applyReject answers a KindReject record with its event and changes
// nothing. Hot path: no allocation once out has room.
func (e *Engine) applyReject(c *Command) {
	ev, _ := e.slot()
	*ev = RejectEvent(c)
}

// ValueBytes is the value of r as sent (Value without its zero padding),
// as a slice of r itself.
func (r *GatewayReject) ValueBytes() []byte {
	n := 0
	for n < RejectValueLen && r.Value[n] != 0 {
		n++
	}
	return r.Value[:n]
}
