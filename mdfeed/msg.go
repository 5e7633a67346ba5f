package mdfeed

import (
	"encoding/binary"
	"fmt"

	"github.com/ringex/ringex/matcher"
)

// Message types.
const (
	TypeAdd      = 'A'
	TypeExecuted = 'E'
	TypeReduce   = 'X'
	TypeDelete   = 'D'
	TypeReplace  = 'U'
	TypeSystem   = 'S'
)

// SystemEndOfDay is the qty of the system message that ends a trading day.
const SystemEndOfDay = 'C'

// MsgSize is the size of every message; PacketHeaderSize of a packet's
// header.
const (
	MsgSize          = 48
	PacketHeaderSize = 20
)

// Msg is one message, decoded.
type Msg struct {
	Type    byte
	Side    matcher.Side
	Symbol  uint32
	CmdSeq  int64
	OrderID int64
	Price   int64
	Qty     int64
	TimeNs  int64
}

// Encode writes m into b, which must hold MsgSize bytes, and returns them.
// No allocation.
func (m *Msg) Encode(b []byte) []byte {
	b = b[:MsgSize]
	le := binary.LittleEndian
	b[0], b[1], b[2], b[3] = m.Type, byte(m.Side), 0, 0
	le.PutUint32(b[4:], m.Symbol)
	le.PutUint64(b[8:], uint64(m.CmdSeq))
	le.PutUint64(b[16:], uint64(m.OrderID))
	le.PutUint64(b[24:], uint64(m.Price))
	le.PutUint64(b[32:], uint64(m.Qty))
	le.PutUint64(b[40:], uint64(m.TimeNs))
	return b
}

// Decode reads m from b, refusing a wrong size, an unknown type or a
// non-zero pad.
func (m *Msg) Decode(b []byte) error {
	if len(b) != MsgSize {
		return fmt.Errorf("mdfeed: message of %d bytes, want %d", len(b), MsgSize)
	}
	switch b[0] {
	case TypeAdd, TypeExecuted, TypeReduce, TypeDelete, TypeReplace, TypeSystem:
	default:
		return fmt.Errorf("mdfeed: unknown message type %#02x", b[0])
	}
	if b[2] != 0 || b[3] != 0 {
		return fmt.Errorf("mdfeed: message type %c: pad bytes not zero", b[0])
	}
	le := binary.LittleEndian
	*m = Msg{Type: b[0], Side: matcher.Side(b[1]), Symbol: le.Uint32(b[4:]), CmdSeq: int64(le.Uint64(b[8:])),
		OrderID: int64(le.Uint64(b[16:])), Price: int64(le.Uint64(b[24:])), Qty: int64(le.Uint64(b[32:])),
		TimeNs: int64(le.Uint64(b[40:]))}
	return nil
}

// PacketHeader opens a packet of Count messages, the first numbered
// FirstSeq in Session.
type PacketHeader struct {
	Session  uint64
	FirstSeq uint64
	Count    uint16
}

// Encode writes h into b, which must hold PacketHeaderSize bytes.
func (h *PacketHeader) Encode(b []byte) []byte {
	b = b[:PacketHeaderSize]
	le := binary.LittleEndian
	le.PutUint64(b[0:], h.Session)
	le.PutUint64(b[8:], h.FirstSeq)
	le.PutUint16(b[16:], h.Count)
	b[18], b[19] = 0, 0
	return b
}

// DecodePacket reads a packet's header and checks that its messages fill
// the rest of p exactly; msgs is p's messages, each MsgSize bytes.
func DecodePacket(p []byte) (h PacketHeader, msgs []byte, err error) {
	if len(p) < PacketHeaderSize {
		return h, nil, fmt.Errorf("mdfeed: packet of %d bytes, shorter than its header", len(p))
	}
	le := binary.LittleEndian
	h = PacketHeader{Session: le.Uint64(p[0:]), FirstSeq: le.Uint64(p[8:]), Count: le.Uint16(p[16:])}
	msgs = p[PacketHeaderSize:]
	if len(msgs) != int(h.Count)*MsgSize {
		return h, nil, fmt.Errorf("mdfeed: packet at seq %d says %d messages, holds %d bytes of them", h.FirstSeq, h.Count, len(msgs))
	}
	return h, msgs, nil
}
