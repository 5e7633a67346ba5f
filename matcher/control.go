package matcher

// Control records are commands whose fields are not an order's: a
// checkpoint's hash and a mass cancel's scope. They travel and are
// journaled as a Command (CommandSize bytes, the layout drawn there), so
// this file is the one place that says which Command field holds which of
// their fields; the node, replay and the gateway build and read them only
// through these types. The mapping is fixed by the journals already on
// disk: a record built here encodes to the bytes the code before these
// types wrote (TestControlRecordBytes, audit's TestGoldenJournal).

// CheckpointHash is a KindCheckpointHash record: the combined state hash
// (Partitions.Hash) the node computed right after the KindCheckpoint record
// at seq Checkpoint, with Partitions match partitions. Engines apply
// nothing; a replay with as many partitions recomputes the hash at
// Checkpoint and compares.
//
//	Command field   OrderID      Price              Qty
//	holds           Checkpoint   int64(Hash)        Partitions
//
// Every other field is zero (Seq and TimeNs are set at ingress).
type CheckpointHash struct {
	Checkpoint int64  // seq of the KindCheckpoint record
	Hash       uint64 // CombineHashes of the partitions' Engine.Hash at Checkpoint
	Partitions int    // match partitions that computed it
}

// Command is the record to submit.
func (h CheckpointHash) Command() Command {
	return Command{Kind: KindCheckpointHash, OrderID: h.Checkpoint, Price: int64(h.Hash), Qty: int64(h.Partitions)}
}

// CheckpointHashOf reads a KindCheckpointHash record; ok is false for a
// command of any other kind.
func CheckpointHashOf(c *Command) (h CheckpointHash, ok bool) {
	if c.Kind != KindCheckpointHash {
		return CheckpointHash{}, false
	}
	return CheckpointHash{Checkpoint: c.OrderID, Hash: uint64(c.Price), Partitions: int(c.Qty)}, true
}

// MassCancelScope says which of the account's resting orders a mass cancel
// takes.
type MassCancelScope uint8

const (
	// ScopeDayOrders takes Day orders only and leaves GTC orders resting,
	// as cancel-on-disconnect does.
	ScopeDayOrders = MassCancelScope(Day)
	// ScopeAllOrders takes every resting order, as an
	// OrderMassCancelRequest does.
	ScopeAllOrders = MassCancelScope(GTC)
)

// MassCancelOrigin says who asked for a mass cancel. The engine decides
// nothing by it; it names the Reason of the cancel events (a
// cancel-on-disconnect's are ReasonCancelOnDisconnect), for reports and the
// audit trail.
type MassCancelOrigin uint8

const (
	// OriginBroker: the broker's OrderMassCancelRequest.
	OriginBroker MassCancelOrigin = 1
	// OriginCancelOnDisconnect: the broker's session dropped and its
	// session is configured to cancel on disconnect.
	OriginCancelOnDisconnect MassCancelOrigin = 2
	// A new origin (an operator's, say) takes the next value: see
	// MassCancel for how it is encoded.
)

// MassCancel is a KindMassCancel record: cancel Account's resting orders
// that Scope takes, in Symbol, oldest first. With Report, one
// EvMassCancelReport follows the cancels (its CumQty the number cancelled,
// its Price this RequestType).
//
//	Command field   Account  Symbol  TIF    Qty                Price        ClOrdID  Type
//	holds           Account  Symbol  Scope  1 if Report else 0  RequestType  ClOrdID  Origin, see below
//
// Origin is stored in the Type byte as 0 when it is the one Report implies
// (OriginBroker with a report, OriginCancelOnDisconnect without), else as
// itself. So the gateway's two kinds of mass cancel encode with Type 0, as
// the journals on disk hold them, and a new origin (an operator's mass
// cancel, or a broker's without a report) needs only a new constant; its
// EvMassCancelReport, if any, carries it in OrdType. Side, OrderID and
// OrigClOrdID are zero.
type MassCancel struct {
	Account uint32
	// Symbol is the one symbol, or 0 for all: the node journals a mass
	// cancel of all symbols as one record per symbol, so that each lands
	// in one match partition (a journaled record with 0 takes every
	// symbol of the engine that applies it).
	Symbol      uint32
	Scope       MassCancelScope
	Report      bool
	RequestType int64 // the broker's MassCancelRequestType, echoed in the report; opaque here
	ClOrdID     ClOrdID
	Origin      MassCancelOrigin
}

// impliedOrigin is the origin of a record whose Type byte is 0.
func impliedOrigin(report bool) MassCancelOrigin {
	if report {
		return OriginBroker
	}
	return OriginCancelOnDisconnect
}

// Command is the record to submit.
func (m MassCancel) Command() Command {
	c := Command{Kind: KindMassCancel, Account: m.Account, Symbol: m.Symbol, TIF: TIF(m.Scope),
		Price: m.RequestType, ClOrdID: m.ClOrdID}
	if m.Report {
		c.Qty = 1
	}
	if m.Origin != impliedOrigin(m.Report) {
		c.Type = OrdType(m.Origin)
	}
	return c
}

// MassCancelOf reads a KindMassCancel record; ok is false for a command of
// any other kind. Hot path (the engine reads its mass cancels through it).
func MassCancelOf(c *Command) (m MassCancel, ok bool) {
	if c.Kind != KindMassCancel {
		return MassCancel{}, false
	}
	m = MassCancel{Account: c.Account, Symbol: c.Symbol, Scope: MassCancelScope(c.TIF), Report: c.Qty > 0,
		RequestType: c.Price, ClOrdID: c.ClOrdID, Origin: MassCancelOrigin(c.Type)}
	if m.Origin == 0 {
		m.Origin = impliedOrigin(m.Report)
	}
	return m, true
}
