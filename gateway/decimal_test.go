package gateway

import "testing"

func TestScaleUnits(t *testing.T) {
	cent, _ := ParseScale("0.01")
	lot100 := ScaleOf(100)
	cases := []struct {
		name  string
		scale Scale
		in    string
		want  int64
		ok    bool
	}{
		{"whole_dollars", cent, "101", 10100, true},
		{"cents", cent, "101.25", 10125, true},
		{"trailing_zeros", cent, "101.2500", 10125, true},
		{"off_tick_rejected", cent, "101.255", 0, false},
		{"negative_price_parses", cent, "-1.5", -150, true},
		{"garbage_rejected", cent, "1e5", 0, false},
		{"empty_rejected", cent, "", 0, false},
		{"lone_dot_rejected", cent, ".", 0, false},
		{"two_dots_rejected", cent, "1.2.3", 0, false},
		{"too_many_digits_rejected", cent, "1234567890123456", 0, false},
		{"round_lot", lot100, "300", 3, true},
		{"odd_lot_rejected", lot100, "250", 0, false},
		{"qty_with_zero_decimals", lot100, "300.00", 3, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.scale.Units([]byte(c.in))
			if ok != c.ok || got != c.want {
				t.Fatalf("Units(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestScaleFormat(t *testing.T) {
	cent, _ := ParseScale("0.01")
	if got := cent.Format(10125); got != "101.25" {
		t.Fatalf("Format = %q", got)
	}
	if got := cent.Format(5); got != "0.05" {
		t.Fatalf("Format = %q", got)
	}
	// 10 lots at 100.00 and 20 at 100.01: avg 100.0066666667 ticks*0.01
	if got := cent.FormatRatio(10*10000+20*10001, 30); got != "100.0066666667" {
		t.Fatalf("FormatRatio = %q", got)
	}
	if got := cent.FormatRatio(30*10001, 30); got != "100.01" {
		t.Fatalf("FormatRatio whole = %q", got)
	}
}
