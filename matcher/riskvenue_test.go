package matcher

import "testing"

// A risk venue record reads back as written; an unfit one is not written,
// and a record with a stray field is not read as one.
func TestRiskVenueRecord(t *testing.T) {
	for _, v := range []RiskVenue{{}, {Mode: 1}, {Mode: 2, CashUnit: "0.01"}, {Mode: 2, CashUnit: "0.000000000000000001"}} {
		c, err := v.Command()
		if err != nil {
			t.Fatalf("%+v: %v", v, err)
		}
		var b [CommandSize]byte
		c.Seq = 1
		c.Encode(b[:])
		var d Command
		if err := d.DecodeAt(b[:], 1); err != nil {
			t.Fatal(err)
		}
		if got, ok := RiskVenueOf(&d); !ok || got != v {
			t.Fatalf("%+v read back as %+v, %v", v, got, ok)
		}
	}
	for _, v := range []RiskVenue{{Mode: 3}, {CashUnit: "0.01"}, {Mode: 2, CashUnit: "0.0000000000000000000000001"}} {
		if _, err := v.Command(); err == nil {
			t.Fatalf("%+v written", v)
		}
	}
	c, _ := RiskVenue{Mode: 2, CashUnit: "1"}.Command()
	c.Qty = 1
	if _, ok := RiskVenueOf(&c); ok {
		t.Fatal("a record with a quantity read as a risk venue record")
	}
}
