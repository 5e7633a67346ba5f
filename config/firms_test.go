package config

import (
	"strings"
	"testing"
)

// TestFirmsChecked: a firm owns broker sessions of fix.sessions, each in
// one firm; its accounts' names are unique and not a session's CompID;
// dropCopyOf, match.stpAccounts and risk.accounts may name them.
func TestFirmsChecked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		words string // in the error; "": no error
	}{
		{"firm_with_accounts", func(c *Config) {}, ""},
		{"no_name", func(c *Config) { c.Firms[0].Name = "" }, "firms[0].name"},
		{"repeated_name", func(c *Config) { c.Firms = append(c.Firms, Firm{Name: "F1"}) }, "firms[1].name"},
		{"name_too_long", func(c *Config) { c.Firms[0].Name = strings.Repeat("f", 49) }, "firms[0].name"},
		{"name_not_printable", func(c *Config) { c.Firms[0].Name = "F\x011" }, "not printable"},
		{"unknown_session", func(c *Config) { c.Firms[0].Sessions = []string{"NOBODY"} }, `session "NOBODY"`},
		{"session_in_two_firms", func(c *Config) { c.Firms = append(c.Firms, Firm{Name: "F2", Sessions: []string{"BROKER01"}}) }, "already firm F1's"},
		{"account_named_as_a_session", func(c *Config) { c.Firms[0].Accounts = []string{"BROKER03"} }, `account "BROKER03"`},
		{"account_repeated", func(c *Config) { c.Firms = append(c.Firms, Firm{Name: "F2", Accounts: []string{"ACC-A"}}) }, `account "ACC-A"`},
		{"account_too_long", func(c *Config) { c.Firms[0].Accounts = []string{strings.Repeat("x", 49)} }, "over 48 bytes"},
		{"stp_for_a_firm_account", func(c *Config) { c.Match.STPAccounts = []AccountSTP{{CompID: "ACC-A", Mode: STPCancelBoth}} }, ""},
		{"stp_for_an_unknown_account", func(c *Config) { c.Match.STPAccounts = []AccountSTP{{CompID: "ACC-Z"}} }, "match.stpAccounts[0]"},
		{"limits_for_a_firm_account", func(c *Config) { c.Risk.Accounts = []RiskAccount{{CompID: "ACC-B", MaxOrderQty: 5}} }, ""},
		{"drop_copy_of_a_firm", func(c *Config) {
			c.FIX.Sessions = append(c.FIX.Sessions, Session{BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: []string{"F1"}})
		}, ""},
		{"drop_copy_of_an_unknown_firm", func(c *Config) {
			c.FIX.Sessions = append(c.FIX.Sessions, Session{BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: []string{"F9"}})
		}, `dropCopyOf "F9"`},
		{"drop_copy_session_in_a_firm", func(c *Config) {
			c.FIX.Sessions = append(c.FIX.Sessions, Session{BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: []string{"*"}})
			c.Firms[0].Sessions = append(c.Firms[0].Sessions, "DC")
		}, `session "DC" is not a broker session`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Firms = []Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}, Accounts: []string{"ACC-A", "ACC-B"}}}
			tc.edit(&c)
			err := c.Check()
			switch {
			case tc.words == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.words != "" && (err == nil || !strings.Contains(err.Error(), tc.words)):
				t.Fatalf("Check = %v, want an error saying %q", err, tc.words)
			}
		})
	}
}

// TestFirmsFromJSON: a firm reads from the file, stpScope included.
func TestFirmsFromJSON(t *testing.T) {
	b := []byte(strings.Replace(string(DefaultJSON()), `"dataDir"`, `"firms": [{"name": "F1", "sessions": ["BROKER01"], "accounts": ["A1"], "stp": "cancelBoth", "stpScope": "firm"}], "dataDir"`, 1))
	c, err := parse(b, "test")
	if err != nil {
		t.Fatal(err)
	}
	f := c.Firms[0]
	if f.Name != "F1" || f.Accounts[0] != "A1" || f.STP == nil || *f.STP != STPCancelBoth || f.STPScope != STPScopeFirm {
		t.Errorf("firm %+v", f)
	}
}
