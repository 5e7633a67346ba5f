package matcher

import "testing"

// TestCommandSTPEncoding checks that an order's own self-trade prevention
// mode rides in the high nibble of the Type byte of a KindNew only: with
// STP 0 the record is byte for byte what it was before the field existed.
func TestCommandSTPEncoding(t *testing.T) {
	var b [CommandSize]byte
	c := Command{Seq: 7, Kind: KindNew, Side: Buy, Type: Limit, TIF: GTC, Qty: 5, Price: 100, Symbol: 1, Account: 2}
	c.Encode(b[:])
	if b[50] != byte(Limit) {
		t.Fatalf("STP 0: Type byte %#x, want %#x", b[50], byte(Limit))
	}
	c.STP = uint8(STPDecrement) + 1
	c.Encode(b[:])
	if b[50] != byte(Limit)|5<<4 {
		t.Fatalf("STP 5: Type byte %#x", b[50])
	}
	var d Command
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Kind, c.STP = KindReplace, 3 // not a new order: not encoded
	c.Encode(b[:])
	if b[50] != byte(Limit) {
		t.Fatalf("replace: Type byte %#x, want %#x", b[50], byte(Limit))
	}
}
