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
	f1 := config.Firm{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}}
	p, _ := startRepl(t, limitsFirm(replCfg(dirP, "primary", ""), f1), &logP)
	defer p.Stop()
	s, _ := startRepl(t, limitsFirm(replCfg(dirS, "standby", p.ReplicationAddr().String()), f1), &logS)
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
