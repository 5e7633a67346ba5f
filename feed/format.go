package feed

import (
	"encoding/binary"
	"fmt"
)

// Type is a message type: one ASCII letter, as ITCH names them.
type Type byte

const (
	TypeSystem   Type = 'S' // a system event: Code says which
	TypeAdd      Type = 'A' // an order comes to rest
	TypeExecuted Type = 'E' // a resting order traded Qty at Price
	TypeReduce   Type = 'X' // a resting order lost Qty, keeping its place
	TypeDelete   Type = 'D' // a resting order left the book
	TypeReplace  Type = 'U' // a resting order moved to Price with Qty, at the back of its new level
	TypeTrade    Type = 'P' // the tape: a trade, with the incoming order's Side
)

// Code says which system event a TypeSystem message is.
type Code byte

const (
	CodeStartOfDay    Code = 'O' // a trading day (Session) begins
	CodeEndOfDay      Code = 'C' // the trading day ends; the next message starts the next
	CodeRecordsLost   Code = 'L' // journal records were lost: a new session begins, its seqs may repeat earlier ones
	CodeSnapshotStart Code = 'S' // a snapshot follows; Match is the seq to resume from
	CodeSnapshotEnd   Code = 'E' // the snapshot is complete; Match is the seq to resume from
)

// Side of an order: ASCII, as on the wire.
const (
	SideBuy  byte = 'B'
	SideSell byte = 'S'
)

// Sizes of the wire format.
const (
	MessageSize   = 72
	HeaderSize    = 24
	PacketMax     = 1472 // the UDP payload an Ethernet MTU of 1500 carries
	PacketMsgsMax = (PacketMax - HeaderSize) / MessageSize
	magic         = "RXF1"
)

// Message is one feed message, decoded. Fixed size, no pointers.
type Message struct {
	Type       Type
	Side       byte // SideBuy or SideSell; 0 where none
	Code       Code // system events only
	Session    uint32
	Seq        uint64 // feed sequence; 0 in a snapshot
	JournalSeq int64  // the journal record (command) that caused it
	TimeNs     int64  // that command's ingress time
	Symbol     uint32 // 0 for day events
	OrderID    int64
	Qty        int64 // lots
	Price      int64 // ticks
	Match      int64 // match number (E, P); the seq to resume from (snapshot start/end)
}

// Put writes m into b[:MessageSize]. Hot path: no allocation.
func (m *Message) Put(b []byte) {
	_ = b[MessageSize-1]
	b[0], b[1], b[2], b[3] = byte(m.Type), m.Side, byte(m.Code), 0
	le := binary.LittleEndian
	le.PutUint32(b[4:], m.Session)
	le.PutUint64(b[8:], m.Seq)
	le.PutUint64(b[16:], uint64(m.JournalSeq))
	le.PutUint64(b[24:], uint64(m.TimeNs))
	le.PutUint32(b[32:], m.Symbol)
	le.PutUint32(b[36:], 0)
	le.PutUint64(b[40:], uint64(m.OrderID))
	le.PutUint64(b[48:], uint64(m.Qty))
	le.PutUint64(b[56:], uint64(m.Price))
	le.PutUint64(b[64:], uint64(m.Match))
}

// Decode reads one message from b, which must hold MessageSize bytes, and
// checks it: a known type with the fields that type needs.
func (m *Message) Decode(b []byte) error {
	if len(b) < MessageSize {
		return fmt.Errorf("feed message: %d bytes, want %d", len(b), MessageSize)
	}
	le := binary.LittleEndian
	*m = Message{Type: Type(b[0]), Side: b[1], Code: Code(b[2]),
		Session: le.Uint32(b[4:]), Seq: le.Uint64(b[8:]), JournalSeq: int64(le.Uint64(b[16:])),
		TimeNs: int64(le.Uint64(b[24:])), Symbol: le.Uint32(b[32:]), OrderID: int64(le.Uint64(b[40:])),
		Qty: int64(le.Uint64(b[48:])), Price: int64(le.Uint64(b[56:])), Match: int64(le.Uint64(b[64:]))}
	if b[3] != 0 || le.Uint32(b[36:]) != 0 {
		return fmt.Errorf("feed message %c seq %d: reserved bytes not zero", m.Type, m.Seq)
	}
	return m.check()
}

func (m *Message) check() error {
	bad := ""
	switch m.Type {
	case TypeSystem:
		switch m.Code {
		case CodeStartOfDay, CodeEndOfDay, CodeRecordsLost, CodeSnapshotStart, CodeSnapshotEnd:
		default:
			bad = fmt.Sprintf("unknown system event code %d", m.Code)
		}
	case TypeAdd, TypeReplace:
		switch {
		case m.Side != SideBuy && m.Side != SideSell:
			bad = fmt.Sprintf("side %d", m.Side)
		case m.Qty <= 0 || m.Price <= 0:
			bad = fmt.Sprintf("qty %d price %d", m.Qty, m.Price)
		}
	case TypeExecuted, TypeReduce, TypeTrade:
		if m.Qty <= 0 {
			bad = fmt.Sprintf("qty %d", m.Qty)
		}
	case TypeDelete:
	default:
		bad = fmt.Sprintf("unknown message type %d", m.Type)
	}
	if bad == "" && m.Type != TypeSystem && (m.Symbol == 0 || (m.OrderID <= 0 && m.Type != TypeTrade)) {
		bad = fmt.Sprintf("symbol %d order %d", m.Symbol, m.OrderID)
	}
	if bad != "" {
		return fmt.Errorf("feed message %c seq %d: %s", m.Type, m.Seq, bad)
	}
	return nil
}

// Header is a packet's header.
type Header struct {
	Session  uint32
	FirstSeq uint64 // the seq of its first message; of the next message, in a heartbeat
	Count    uint16 // messages that follow; 0: a heartbeat, or the end of a recovery answer
}

// PutHeader writes h into b[:HeaderSize]. Hot path: no allocation.
func PutHeader(b []byte, h Header) {
	_ = b[HeaderSize-1]
	copy(b, magic)
	le := binary.LittleEndian
	le.PutUint32(b[4:], h.Session)
	le.PutUint64(b[8:], h.FirstSeq)
	le.PutUint16(b[16:], h.Count)
	le.PutUint16(b[18:], MessageSize)
	le.PutUint32(b[20:], 0)
}

// DecodePacket checks packet p and calls fn with each message in order. A
// message's seq must be the header's first seq plus its index (0 in a
// snapshot, whose header's first seq is 0 too).
func DecodePacket(p []byte, fn func(*Message) error) (Header, error) {
	var h Header
	if len(p) < HeaderSize || string(p[:4]) != magic {
		return h, fmt.Errorf("feed packet of %d bytes: no header", len(p))
	}
	le := binary.LittleEndian
	h = Header{Session: le.Uint32(p[4:]), FirstSeq: le.Uint64(p[8:]), Count: le.Uint16(p[16:])}
	if le.Uint32(p[20:]) != 0 {
		return h, fmt.Errorf("feed packet seq %d: reserved bytes not zero", h.FirstSeq)
	}
	if size := le.Uint16(p[18:]); size != MessageSize {
		return h, fmt.Errorf("feed packet seq %d: message size %d, want %d", h.FirstSeq, size, MessageSize)
	}
	if want := HeaderSize + int(h.Count)*MessageSize; len(p) != want || h.Count > PacketMsgsMax {
		return h, fmt.Errorf("feed packet seq %d: %d bytes for %d messages", h.FirstSeq, len(p), h.Count)
	}
	var m Message
	for i := range int(h.Count) {
		if err := m.Decode(p[HeaderSize+i*MessageSize:]); err != nil {
			return h, err
		}
		if m.Session != h.Session {
			return h, fmt.Errorf("feed packet seq %d: message %d of session %d in a packet of session %d", h.FirstSeq, i, m.Session, h.Session)
		}
		if want := h.FirstSeq + uint64(i); (h.FirstSeq != 0 && m.Seq != want) || (h.FirstSeq == 0 && m.Seq != 0) {
			return h, fmt.Errorf("feed packet seq %d: message %d has seq %d", h.FirstSeq, i, m.Seq)
		}
		if err := fn(&m); err != nil {
			return h, err
		}
	}
	return h, nil
}

// Packer fills packets of up to PacketMsgsMax messages in a buffer it owns.
// Hot path: no allocation.
type Packer struct {
	buf   [PacketMax]byte
	hdr   Header
	count int
}

// Add appends m; it reports false, adding nothing, when the packet is full
// or m does not continue it (another session, or a seq that does not
// follow).
func (k *Packer) Add(m *Message) bool {
	if k.count == PacketMsgsMax {
		return false
	}
	if k.count == 0 {
		k.hdr = Header{Session: m.Session, FirstSeq: m.Seq}
	} else if m.Session != k.hdr.Session || (m.Seq != 0 && m.Seq != k.hdr.FirstSeq+uint64(k.count)) || (m.Seq == 0) != (k.hdr.FirstSeq == 0) {
		return false
	}
	m.Put(k.buf[HeaderSize+k.count*MessageSize:])
	k.count++
	return true
}

// Len is the number of messages packed.
func (k *Packer) Len() int { return k.count }

// Bytes finishes the packet and returns it; valid until the next Reset or Add.
func (k *Packer) Bytes() []byte {
	k.hdr.Count = uint16(k.count)
	PutHeader(k.buf[:], k.hdr)
	return k.buf[:HeaderSize+k.count*MessageSize]
}

// Reset empties the packer.
func (k *Packer) Reset() { k.count = 0 }

// Empty returns a packet of no message: a heartbeat (next is the seq of the
// next message) or the end of a recovery answer.
func (k *Packer) Empty(session uint32, next uint64) []byte {
	k.count = 0
	k.hdr = Header{Session: session, FirstSeq: next}
	return k.Bytes()
}

// String writes m as one line for people: seq, type, then the fields the
// type uses.
func (m *Message) String() string {
	head := fmt.Sprintf("%d %d %c", m.Session, m.Seq, m.Type)
	switch m.Type {
	case TypeSystem:
		return fmt.Sprintf("%s %c journal %d resume %d", head, m.Code, m.JournalSeq, m.Match)
	case TypeAdd, TypeReplace:
		return fmt.Sprintf("%s sym %d order %d %c %d @ %d", head, m.Symbol, m.OrderID, m.Side, m.Qty, m.Price)
	case TypeExecuted:
		return fmt.Sprintf("%s sym %d order %d %d @ %d match %d", head, m.Symbol, m.OrderID, m.Qty, m.Price, m.Match)
	case TypeTrade:
		return fmt.Sprintf("%s sym %d %c %d @ %d match %d", head, m.Symbol, m.Side, m.Qty, m.Price, m.Match)
	case TypeReduce:
		return fmt.Sprintf("%s sym %d order %d -%d", head, m.Symbol, m.OrderID, m.Qty)
	}
	return fmt.Sprintf("%s sym %d order %d", head, m.Symbol, m.OrderID)
}
