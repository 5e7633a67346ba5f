package matcher

import "testing"

// throughBytes is c encoded and decoded again, as the journal stores it.
func throughBytes(t *testing.T, c Command) Command {
	t.Helper()
	var b [CommandSize]byte
	c.Encode(b[:])
	var d Command
	if err := d.Decode(b[:]); err != nil {
		t.Fatal(err)
	}
	return d
}

// A symbol scale record reads back as written, and only a fit one is
// written: a tick written two ways ("0.010") or not positive, a lot not
// positive, a symbol out of range are refused, and a record with a stray
// field is not read as one.
func TestSymbolScaleRecord(t *testing.T) {
	for _, s := range []SymbolScale{{1, "", "0.01", 1}, {MaxSymbolID, "AAPL", "5", 100}, {7, "ABCDEFGHIJKLMNOPQRSTUVWX", "12.5", 3}, {2, "X", "0.000000000000001", 1}} {
		c, err := s.Command()
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		d := throughBytes(t, c)
		if got, ok := SymbolScaleOf(&d); !ok || got != s {
			t.Fatalf("%+v read back as %+v, %v", s, got, ok)
		}
		if Route(&d, 4) != RouteNone {
			t.Fatalf("%+v routed to a partition", s)
		}
		d.Price = 1
		if _, ok := SymbolScaleOf(&d); ok {
			t.Fatalf("%+v with a price read as a symbol scale record", s)
		}
	}
	for _, s := range []SymbolScale{{1, "A", "0.010", 1}, {1, "A", "00.01", 1}, {1, "A", "0", 1}, {1, "A", "", 1}, {1, "A", ".5", 1}, {1, "A", "1.", 1},
		{1, "A", "-1", 1}, {1, "A", "1e3", 1}, {1, "A", "0.01", 0}, {0, "A", "0.01", 1}, {MaxSymbolID + 1, "A", "0.01", 1},
		{1, "ABCDEFGHIJKLMNOPQRSTUVWXY", "0.01", 1}, {1, "A\x00B", "0.01", 1}} {
		if _, err := s.Command(); err == nil {
			t.Errorf("%+v written", s)
		}
	}
}
