package node_test

import (
	"testing"

	"github.com/ringex/ringex/config"
)

// A standby names the firm whose block a member holds in `account show`,
// for a firm blocked after the standby started as for one blocked
// before: it keeps the blocked firms as it follows their records, not
// only at its start and promotion. Once the firm is unblocked, the
// member's own block is all it shows.
func TestFirmBlockNamedOnAStandbyThatFollowedIt(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	firm := func(cfg config.Config) config.Config {
		cfg.Risk = config.Risk{Mode: config.RiskModeLimits}
		cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}}}
		return cfg
	}
	p, _ := startRepl(t, firm(replCfg(dirP, "primary", "")), &logP)
	defer p.Stop()
	s, _ := startRepl(t, firm(replCfg(dirS, "standby", p.ReplicationAddr().String())), &logS)
	defer s.Stop()
	for _, step := range []struct {
		name    string
		unblock bool
		want    string // BROKER01's account show on the standby, its end
	}{
		{"F1", false, "blocked true (firm F1) openOrders 0"},
		{"BROKER01", false, "blocked true (own, firm F1) openOrders 0"},
		{"F1", true, "blocked true (own) openOrders 0"},
		{"F1", false, "blocked true (own, firm F1) openOrders 0"},
	} {
		if _, err := p.Block(step.name, step.unblock); err != nil {
			t.Fatalf("block %s (unblock %v) on the primary: %v", step.name, step.unblock, err)
		}
		waitUntil(t, "the standby has the primary's journal", func() bool { return lastSeq(s) == lastSeq(p) })
		wantShow(t, s, "BROKER01", step.want)
	}
}
