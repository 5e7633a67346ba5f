package config

import "testing"

// TestMarketDataOnlyHasNoOrders: a market-data-only session is not a
// drop copy too, and a drop copy may not name it (it has no reports).
func TestMarketDataOnlyHasNoOrders(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  []Session
		ok   bool
	}{
		{"market_data_only", []Session{{BeginString: "FIX.4.4", TargetCompID: "MD", MarketDataOnly: true}}, true},
		{"also_drop_copy", []Session{{BeginString: "FIX.4.4", TargetCompID: "MD", MarketDataOnly: true, DropCopyOf: []string{"BROKER01"}}}, false},
		{"drop_copy_of_it", []Session{{BeginString: "FIX.4.4", TargetCompID: "MD", MarketDataOnly: true},
			{BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: []string{"MD"}}}, false},
		{"drop_copy_of_all", []Session{{BeginString: "FIX.4.4", TargetCompID: "MD", MarketDataOnly: true},
			{BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: []string{"*"}}}, true},
	} {
		cfg := Default()
		cfg.FIX.Sessions = append(cfg.FIX.Sessions, tc.add...)
		if err := cfg.Check(); (err == nil) != tc.ok {
			t.Errorf("%s: Check() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
