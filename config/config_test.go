package config

import "testing"

// TestTradingDayEnd: tradingDay.endUTC is "HH:MM" in UTC, or empty for no
// scheduled end; anything else is refused, naming the field.
func TestTradingDayEnd(t *testing.T) {
	if c := Default(); c.TradingDay.EndUTC != "" {
		t.Fatalf("the default ends the day on its own at %q", c.TradingDay.EndUTC)
	}
	for _, tc := range []struct {
		in     string
		ok     bool
		minute int
	}{{"", false, 0}, {"21:00", true, 21 * 60}, {"00:05", true, 5}, {"23:59", true, 23*60 + 59}} {
		at, ok, err := ParseEndUTC(tc.in)
		if err != nil || ok != tc.ok || int(at.Minutes()) != tc.minute {
			t.Errorf("ParseEndUTC(%q) = %v, %v, %v", tc.in, at, ok, err)
		}
	}
	for _, bad := range []string{"24:00", "9:00", "21:00:00", "21h", "noon"} {
		c := Default()
		c.TradingDay.EndUTC = bad
		if err := c.Check(); err == nil {
			t.Errorf("endUTC %q accepted", bad)
		}
	}
}
