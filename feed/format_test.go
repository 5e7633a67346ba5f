package feed

import (
	"bytes"
	"strings"
	"testing"
)

func sampleMessages() []Message {
	return []Message{
		{Type: TypeSystem, Code: CodeStartOfDay, Session: 1, Seq: 41, JournalSeq: 7, TimeNs: 1e18},
		{Type: TypeAdd, Side: SideBuy, Session: 1, Seq: 42, JournalSeq: 8, TimeNs: 1e18 + 1, Symbol: 3, OrderID: 8, Qty: 5, Price: 10050},
		{Type: TypeExecuted, Session: 1, Seq: 43, JournalSeq: 9, Symbol: 3, OrderID: 8, Qty: 2, Price: 10050, Match: 9 << 20},
		{Type: TypeTrade, Side: SideSell, Session: 1, Seq: 44, JournalSeq: 9, Symbol: 3, Qty: 2, Price: 10050, Match: 9 << 20},
		{Type: TypeReduce, Session: 1, Seq: 45, JournalSeq: 10, Symbol: 3, OrderID: 8, Qty: 1},
		{Type: TypeReplace, Side: SideBuy, Session: 1, Seq: 46, JournalSeq: 11, Symbol: 3, OrderID: 8, Qty: 7, Price: 10049},
		{Type: TypeDelete, Session: 1, Seq: 47, JournalSeq: 12, Symbol: 3, OrderID: 8},
		{Type: TypeSystem, Code: CodeEndOfDay, Session: 1, Seq: 48, JournalSeq: 13},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		var b [MessageSize]byte
		m.Put(b[:])
		var got Message
		if err := got.Decode(b[:]); err != nil {
			t.Fatalf("%c: %v", m.Type, err)
		}
		if got != m {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	}
}

func TestPacketRoundTrip(t *testing.T) {
	msgs := sampleMessages()
	var k Packer
	for i := range msgs {
		if !k.Add(&msgs[i]) {
			t.Fatalf("message %d does not fit", i)
		}
	}
	var got []Message
	h, err := DecodePacket(k.Bytes(), func(m *Message) error { got = append(got, *m); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if h != (Header{Session: 1, FirstSeq: 41, Count: uint16(len(msgs))}) || len(got) != len(msgs) {
		t.Fatalf("header %+v, %d messages", h, len(got))
	}
	for i := range got {
		if got[i] != msgs[i] {
			t.Fatalf("message %d: got %+v, want %+v", i, got[i], msgs[i])
		}
	}
}

func TestPackerRefusesWhatDoesNotContinue(t *testing.T) {
	var k Packer
	m := Message{Type: TypeDelete, Session: 1, Seq: 5, Symbol: 1, OrderID: 1}
	k.Add(&m)
	for name, next := range map[string]Message{
		"seq_skips":       {Type: TypeDelete, Session: 1, Seq: 7, Symbol: 1, OrderID: 1},
		"other_session":   {Type: TypeDelete, Session: 2, Seq: 6, Symbol: 1, OrderID: 1},
		"snapshot_in_seq": {Type: TypeDelete, Session: 1, Seq: 0, Symbol: 1, OrderID: 1},
	} {
		if k.Add(&next) {
			t.Errorf("%s: added", name)
		}
	}
	for i := uint64(6); k.Len() < PacketMsgsMax; i++ {
		m.Seq = i
		if !k.Add(&m) {
			t.Fatalf("packet full at %d messages", k.Len())
		}
	}
	if m.Seq++; k.Add(&m) || len(k.Bytes()) > PacketMax {
		t.Fatalf("packet of %d messages, %d bytes", k.Len(), len(k.Bytes()))
	}
}

func TestDecodeRefusesBadPackets(t *testing.T) {
	var k Packer
	msgs := sampleMessages()[:2]
	for i := range msgs {
		k.Add(&msgs[i])
	}
	good := bytes.Clone(k.Bytes())
	cases := map[string]struct {
		edit func([]byte) []byte
		want string
	}{
		"short":           {func(b []byte) []byte { return b[:10] }, "no header"},
		"bad_magic":       {func(b []byte) []byte { b[0] = 'X'; return b }, "no header"},
		"truncated":       {func(b []byte) []byte { return b[:len(b)-1] }, "bytes for 2 messages"},
		"count_too_big":   {func(b []byte) []byte { b[16] = 3; return b }, "bytes for 3 messages"},
		"message_size":    {func(b []byte) []byte { b[18] = 64; return b }, "message size 64"},
		"unknown_type":    {func(b []byte) []byte { b[HeaderSize+MessageSize] = 'Z'; return b }, "unknown message type"},
		"bad_side":        {func(b []byte) []byte { b[HeaderSize+MessageSize+1] = 'Q'; return b }, "side"},
		"seq_out_of_line": {func(b []byte) []byte { b[HeaderSize+MessageSize+8]++; return b }, "has seq 43"},
		"reserved":        {func(b []byte) []byte { b[HeaderSize+3] = 1; return b }, "reserved"},
		"unknown_code":    {func(b []byte) []byte { b[HeaderSize+2] = 'z'; return b }, "system event code"},
	}
	for name, c := range cases {
		_, err := DecodePacket(c.edit(bytes.Clone(good)), func(*Message) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.want)
		}
	}
}

func TestPutAllocatesNothing(t *testing.T) {
	msgs := sampleMessages()
	var k Packer
	if n := testing.AllocsPerRun(100, func() {
		k.Reset()
		for i := range msgs {
			k.Add(&msgs[i])
		}
		_ = k.Bytes()
	}); n != 0 {
		t.Fatalf("packing allocates %v times", n)
	}
}

// FuzzDecodePacket: any bytes give messages or an error, never a panic, and
// a packet that decodes encodes back to the same bytes.
func FuzzDecodePacket(f *testing.F) {
	var k Packer
	msgs := sampleMessages()
	for i := range msgs {
		k.Add(&msgs[i])
	}
	f.Add(bytes.Clone(k.Bytes()))
	f.Add(bytes.Clone(k.Empty(1, 9)))
	f.Add([]byte("RXF1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []Message
		h, err := DecodePacket(b, func(m *Message) error { got = append(got, *m); return nil })
		if err != nil {
			return
		}
		var k Packer
		if len(got) == 0 {
			if !bytes.Equal(k.Empty(h.Session, h.FirstSeq), b) {
				t.Fatalf("empty packet does not re-encode")
			}
			return
		}
		for i := range got {
			if !k.Add(&got[i]) {
				t.Fatalf("decoded message %d does not pack again", i)
			}
		}
		if !bytes.Equal(k.Bytes(), b) {
			t.Fatalf("packet does not re-encode to its bytes")
		}
	})
}
