package config

import (
	"strings"
	"testing"
)

// TestFeeAccountNameIsReserved: `ringex account show|withdraw @fees` names
// the venue's fee account, so no session, firm or firm's account may be
// called so.
func TestFeeAccountNameIsReserved(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"session": func(c *Config) { c.FIX.Sessions[0].TargetCompID = FeeAccount },
		"firm":    func(c *Config) { c.Firms = []Firm{{Name: FeeAccount, Sessions: []string{"BROKER01"}}} },
		"firm_account": func(c *Config) {
			c.Firms = []Firm{{Name: "F1", Sessions: []string{"BROKER01"}, Accounts: []string{FeeAccount}}}
		},
	} {
		cfg := Default()
		edit(&cfg)
		if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), FeeAccount) {
			t.Errorf("%s named %s: Check() = %v; want a refusal naming it", name, FeeAccount, err)
		}
	}
}
