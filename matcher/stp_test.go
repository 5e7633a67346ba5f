package matcher

import "testing"

// TestCommandSTPEncoding checks that an order's own self-trade prevention
// mode rides in the high nibble of the Type byte of a KindNew or a
// KindReplace only: with STP 0 the record is byte for byte what it was
// before the field existed.
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
	c.Kind, c.STP = KindReplace, 3 // a replace carries it too
	c.Encode(b[:])
	if b[50] != byte(Limit)|3<<4 {
		t.Fatalf("replace: Type byte %#x, want %#x", b[50], byte(Limit)|3<<4)
	}
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode replace: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Kind = KindCancel // a cancel does not: its Type byte is Type alone
	c.Encode(b[:])
	if b[50] != byte(Limit) {
		t.Fatalf("cancel: Type byte %#x, want %#x", b[50], byte(Limit))
	}
}

// TestCommandOwnerAndGroupEncoding checks that a new order's trading
// account (Owner) rides in the upper half of the Account field and its
// STP group in the first bytes of OrigClOrdID, both zero before the fields
// existed, so an order without them is encoded as before.
func TestCommandOwnerAndGroupEncoding(t *testing.T) {
	var plain, b [CommandSize]byte
	c := Command{Seq: 7, Kind: KindNew, Side: Buy, Type: Limit, Qty: 5, Price: 100, Symbol: 1, Account: 2}
	c.Encode(plain[:])
	if plain[46] != 0 || plain[47] != 0 || plain[76] != 0 {
		t.Fatalf("no owner, no group: bytes 46, 47, 76 = %#x %#x %#x, want 0", plain[46], plain[47], plain[76])
	}
	c.Owner, c.STPGroup = 1025, 77
	c.Encode(b[:])
	if b[46] != 1 || b[47] != 4 || b[76] != 77 || b[44] != 2 {
		t.Fatalf("owner 1025, group 77: bytes %v", b[44:80])
	}
	var d Command
	if err := d.Decode(b[:]); err != nil || d != c || d.OwnerID() != 1025 {
		t.Fatalf("decode: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Kind, c.STPGroup = KindReplace, 0
	c.OrigClOrdID, _ = MakeClOrdID("OLD")
	c.Encode(b[:])
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode replace: %v\n got  %+v\n want %+v", err, d, c)
	}
}
