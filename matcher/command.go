package matcher

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Side of an order.
type Side uint8

const (
	Buy  Side = 1
	Sell Side = 2
)

// OrdType is the order type.
type OrdType uint8

const (
	Limit  OrdType = 1
	Market OrdType = 2
)

// TIF is the time in force.
type TIF uint8

const (
	Day TIF = 0
	GTC TIF = 1
	IOC TIF = 3
	FOK TIF = 4
)

// Kind says what a Command asks for.
type Kind uint8

const (
	KindNew        Kind = 1 // a new order
	KindCancel     Kind = 2 // cancel the order named by OrigClOrdID (or OrderID)
	KindReplace    Kind = 3 // cancel/replace: new Price and Qty for OrigClOrdID (or OrderID)
	KindMassCancel Kind = 4 // cancel resting orders of Account: a control record, MassCancel
	// KindCheckpoint (Symbol 0, no other field) marks a point where the node
	// takes every partition's Hash and Snapshot. Engines apply nothing.
	KindCheckpoint Kind = 5
	// KindCheckpointHash carries the combined state hash the node computed
	// at a checkpoint: a control record, CheckpointHash. Engines apply
	// nothing; replay recomputes and compares.
	KindCheckpointHash Kind = 6
	// KindStatus asks for the state of the account's order named by
	// OrigClOrdID (or OrderID) in Symbol, live or finished while the engine
	// remembers it: one EvStatus, no state change. It
	// goes through the ring like any command, so the answer is consistent
	// with everything acknowledged before it.
	KindStatus Kind = 7
	// KindEndOfDay (Symbol 0, no other field) ends the trading day in every
	// engine: each resting Day order expires (EvExpired, ReasonExpired),
	// oldest first, GTC orders stay, and the engine forgets the ClOrdIDs of
	// finished orders and those replaced away, so a new day may reuse them.
	// It is not partitioned by symbol: every match partition applies it
	// (Route).
	KindEndOfDay Kind = 8
)

// IDLen is the fixed size of a client order id. Longer ids are refused at the
// gateway; shorter ones are zero-padded.
const IDLen = 24

// ClOrdID is a broker's order id, fixed size so a Command holds no pointers.
type ClOrdID [IDLen]byte

// MakeClOrdID copies s into a ClOrdID; ok is false when s is empty or too long.
func MakeClOrdID(s string) (id ClOrdID, ok bool) {
	if len(s) == 0 || len(s) > IDLen {
		return id, false
	}
	copy(id[:], s)
	return id, true
}

// String returns the id without its zero padding.
func (id ClOrdID) String() string {
	n := 0
	for n < IDLen && id[n] != 0 {
		n++
	}
	return string(id[:n])
}

// Command is one input to the engine: fixed size, no pointers, so it lives in
// a ring slot and is journaled as is. Seq and TimeNs are set at ingress and
// are the only source of ids and time inside the engine.
type Command struct {
	Seq         int64 // journal sequence; order ids and exec ids derive from it
	TimeNs      int64 // ingress time, nanoseconds since the Unix epoch
	OrderID     int64 // target of cancel/replace when non-zero (else OrigClOrdID)
	Price       int64 // limit price in ticks; a market order's protection price (it trades at no worse), or 0 for none
	Qty         int64 // order quantity in lots (new total quantity for replace)
	Symbol      uint32
	Account     uint32 // broker (session) id; self-trade prevention and mass cancel key
	Kind        Kind
	Side        Side
	Type        OrdType
	TIF         TIF
	STP         uint8 // KindNew and KindReplace: 0 keeps the account's self-trade prevention mode, m+1 asks for STPMode m (see CommandSize)
	ClOrdID     ClOrdID
	OrigClOrdID ClOrdID
	// Owner (KindNew and KindReplace) is the trading account the order is
	// for when it is not the session's own (FIX Account, tag 1, naming one
	// of the firm's accounts); 0: Account's own. Risk and self-trade
	// prevention act on it (OwnerID); reports, ClOrdIDs and cancels stay
	// Account's, the session that sent the order. In a KindCancel it is
	// the account the cancel names, when it names a firm's account: one
	// that is not the order's is ReasonUnknownOrder. At most MaxOwner.
	// A KindReject holds the GatewayReject's Why and Cut in it.
	Owner uint32
	// STPGroup (KindNew only) is the order's SelfMatchPreventionID: 0 none.
	// Two orders of one firm with the same non-zero group never trade with
	// each other; orders of different groups do (Engine.selfMatch).
	STPGroup uint32
}

// MaxOwner is the largest Command.Owner: it is journaled in the upper half
// of the Account field, which an order's session account never reaches.
const MaxOwner = 1<<16 - 1

// OwnerID is the trading account c's order is for: Owner, or the session's
// own account when it names none. Hot path.
func (c *Command) OwnerID() uint32 {
	if c.Owner != 0 {
		return c.Owner
	}
	return c.Account
}

// CommandSize is the size of an encoded Command in bytes.
//
//	0      8       16       24      32    40   44      48   49   50   51  52        76            100
//	| Seq  | TimeNs | OrderID | Price | Qty | Sym | Account | Kind | Side | Type | TIF | ClOrdID | OrigClOrdID |
//
// Three fields pack a second field into bytes the first never uses:
//
//	44               46             48           (KindNew, KindReplace, KindCancel, KindReject)
//	| Account (u16)  | Owner (u16)  |
//	50                                           (KindNew, KindReplace)
//	| Type (low 4 bits) | STP (high 4 bits) |
//	76               80                   100    (KindNew)
//	| STPGroup (u32) | OrigClOrdID[4:] (unused) |
//
// A gateway reject (KindReject, GatewayReject in gwreject.go) holds its
// Why and Cut in that Owner, and the refused value in OrderID, Price and
// Qty.
//
// The operator's records (KindDeposit, KindWithdraw, KindBlock,
// KindUnblock) hold the operator's request reference in OrigClOrdID
// (Funds.Key, AccountBlock.Key): zero, as in every such record written
// before it existed, is none.
//
// A session's account is below 1<<16; Owner is 0 unless the command names
// another trading account; STP is 0 unless the order names its own
// self-trade prevention mode; a new order has no OrigClOrdID. Each packed
// field was zero in every record written before it existed, so older
// records read the same. Integers are little-endian. The layout is the
// journal's record payload, so it never changes without a version bump.
const CommandSize = 8*5 + 4*2 + 4 + 2*IDLen

// ErrShortCommand is returned by Decode for a buffer that is not CommandSize long.
var ErrShortCommand = errors.New("matcher: command record has wrong length")

// Encode writes c into b, which must be at least CommandSize long, and returns
// the bytes written. Hot path: no allocation.
func (c *Command) Encode(b []byte) []byte {
	b = b[:CommandSize]
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(c.Seq))
	le.PutUint64(b[8:], uint64(c.TimeNs))
	le.PutUint64(b[16:], uint64(c.OrderID))
	le.PutUint64(b[24:], uint64(c.Price))
	le.PutUint64(b[32:], uint64(c.Qty))
	le.PutUint32(b[40:], c.Symbol)
	le.PutUint32(b[44:], c.Account)
	b[48] = byte(c.Kind)
	b[49] = byte(c.Side)
	b[50] = byte(c.Type)
	b[51] = byte(c.TIF)
	copy(b[52:], c.ClOrdID[:])
	copy(b[52+IDLen:], c.OrigClOrdID[:])
	if c.Kind == KindNew || c.Kind == KindReplace {
		b[50] |= c.STP << 4
	}
	if c.Kind == KindNew || c.Kind == KindReplace || c.Kind == KindCancel || c.Kind == KindReject {
		le.PutUint32(b[44:], c.Account|c.Owner<<16)
	}
	if c.Kind == KindNew {
		le.PutUint32(b[52+IDLen:], c.STPGroup)
	}
	return b
}

// Decode reads a Command from b. It checks the length and the enum fields, so
// a decoded Command is always one the engine can be given.
func (c *Command) Decode(b []byte) error {
	if len(b) != CommandSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrShortCommand, len(b), CommandSize)
	}
	le := binary.LittleEndian
	c.Seq = int64(le.Uint64(b[0:]))
	c.TimeNs = int64(le.Uint64(b[8:]))
	c.OrderID = int64(le.Uint64(b[16:]))
	c.Price = int64(le.Uint64(b[24:]))
	c.Qty = int64(le.Uint64(b[32:]))
	c.Symbol = le.Uint32(b[40:])
	c.Account = le.Uint32(b[44:])
	c.Kind = Kind(b[48])
	c.Side = Side(b[49])
	c.Type, c.STP, c.Owner, c.STPGroup = OrdType(b[50]), 0, 0, 0
	c.TIF = TIF(b[51])
	copy(c.ClOrdID[:], b[52:])
	copy(c.OrigClOrdID[:], b[52+IDLen:])
	if c.Kind == KindNew || c.Kind == KindReplace {
		c.Type, c.STP = OrdType(b[50]&0x0f), b[50]>>4
	}
	if c.Kind == KindNew || c.Kind == KindReplace || c.Kind == KindCancel || c.Kind == KindReject {
		c.Account, c.Owner = c.Account&0xffff, c.Account>>16
	}
	if c.Kind == KindNew {
		c.STPGroup = le.Uint32(b[52+IDLen:])
		clear(c.OrigClOrdID[:4])
	}
	if !c.Kind.Named() {
		return fmt.Errorf("matcher: command seq %d: unknown kind %d", c.Seq, c.Kind)
	}
	return nil
}

// DecodeAt decodes the journal record rec, which the journal holds at seq,
// into c and checks that the command carries that seq. Its error is a
// *RecordError. No allocation unless it fails: the standby applies every
// replicated record through it.
func (c *Command) DecodeAt(rec []byte, seq int64) error {
	if err := c.Decode(rec); err != nil {
		return &RecordError{Seq: seq, Err: err}
	}
	if c.Seq != seq {
		return &RecordError{Seq: seq, Held: c.Seq}
	}
	return nil
}

// RecordError says why the journal record at Seq is not its command: it
// does not decode (Err), or it holds the command of sequence Held.
type RecordError struct {
	Seq  int64
	Held int64 // the command's own Seq; meaningful when Err is nil
	Err  error // Decode's error; nil when the record decodes
}

func (e *RecordError) Error() string { return fmt.Sprintf("seq %d: %s", e.Seq, e.What()) }

// What is the error without the seq, for a caller that reports the seq
// itself.
func (e *RecordError) What() string {
	if e.Err != nil {
		return "undecodable command: " + e.Err.Error()
	}
	return fmt.Sprintf("record holds command sequence %d", e.Held)
}

func (e *RecordError) Unwrap() error { return e.Err }
