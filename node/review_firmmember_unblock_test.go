package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// Review (issue 19, firm kill switch): firm F1 is blocked; the operator
// then unblocks its member BROKER01 by name, and ringex accepts that:
// BROKER01 trades again while F1 stays blocked. A restart must not change
// who may trade: a venue either refuses the member's unblock while its
// firm is blocked, or keeps it across restarts. ringex does neither: at
// the next start firmBlocksToJournal (node/firmblock.go) finds BROKER01
// in a blocked firm and not blocked in the risk state, takes it for a
// session added to the firm since, and journals a block for it, so the
// operator's unblock is silently undone by the restart (and BROKER01's
// working orders are cancelled by it).
func TestReviewMemberUnblockedByNameSurvivesARestart(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	if _, err := n.Block("F1", false); err != nil {
		t.Fatalf("block firm F1: %v", err)
	}
	if _, err := n.Block("BROKER01", true); err != nil {
		t.Skipf("unblocking a member of a blocked firm by name is refused (a venue may do that): %v", err)
	}
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	rests(t, b1, "BROKER01 unblocked by name, firm F1 still blocked", "M1", "AAPL", "1", "1", "100.00")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	rests(t, b1, "BROKER01 after a restart with nothing changed", "M2", "AAPL", "1", "1", "100.00")
}
