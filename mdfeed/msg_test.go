package mdfeed

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestMessageBytes: the layout the package doc draws, byte for byte, and
// what a decoder refuses.
func TestMessageBytes(t *testing.T) {
	m := Msg{Type: TypeAdd, Side: matcher.Sell, Symbol: 0x01020304, CmdSeq: 7, OrderID: 9, Price: 10125, Qty: 100, TimeNs: 1}
	var buf [MsgSize]byte
	b := m.Encode(buf[:])
	want := []byte{'A', 2, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0,
		0x8d, 0x27, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	if string(b) != string(want) {
		t.Fatalf("encoded\n%v, want\n%v", b, want)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", b[:MsgSize-1], "47 bytes"},
		{"unknown_type", append([]byte{'Z'}, b[1:]...), "unknown message type"},
		{"pad_not_zero", append(append([]byte{}, b[:2]...), append([]byte{0, 1}, b[4:]...)...), "pad bytes"},
	} {
		var got Msg
		if err := got.Decode(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestPacketHeader: a packet's header and its messages, and a packet whose
// count does not match its length.
func TestPacketHeader(t *testing.T) {
	h := PacketHeader{Session: 3, FirstSeq: 41, Count: 2}
	p := h.Encode(make([]byte, PacketHeaderSize))
	var buf [MsgSize]byte
	for i := range 2 {
		m := Msg{Type: TypeDelete, OrderID: int64(i + 1)}
		p = append(p, m.Encode(buf[:])...)
	}
	got, msgs, err := DecodePacket(p)
	if err != nil || got != h || len(msgs) != 2*MsgSize {
		t.Fatalf("decoded %+v, %d bytes of messages, %v", got, len(msgs), err)
	}
	if _, _, err := DecodePacket(p[:len(p)-1]); err == nil || !strings.Contains(err.Error(), "says 2 messages") {
		t.Errorf("a short packet: %v", err)
	}
}
