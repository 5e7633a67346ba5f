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

// TestAdminBeyondLoopbackNeedsAToken: config.Check refuses an admin
// endpoint other machines can reach unless a token guards it.
func TestAdminBeyondLoopbackNeedsAToken(t *testing.T) {
	for _, tc := range []struct {
		admin, token string
		ok           bool
	}{
		{"127.0.0.1:9880", "", true},
		{"localhost:9880", "", true},
		{"[::1]:9880", "", true},
		{"0.0.0.0:9880", "", false},
		{"10.1.2.3:9880", "", false},
		{":9880", "", false},
		{"0.0.0.0:9880", "t", true},
	} {
		cfg := Default()
		cfg.Replication.Admin, cfg.Replication.AdminToken = tc.admin, tc.token
		if err := cfg.Check(); (err == nil) != tc.ok {
			t.Errorf("admin %q token %q: Check() = %v, want ok %v", tc.admin, tc.token, err, tc.ok)
		}
	}
}
