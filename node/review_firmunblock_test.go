package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// Review (issue 19, firm kill switch): the operator blocks BROKER01 on its
// own (its kill switch), then blocks its firm F1, then unblocks F1. Two
// requests blocked BROKER01 and only one was undone: a venue keeps
// BROKER01 blocked until the operator unblocks it by name (the firm's
// unblock lifts the firm's block, not the member's own), and lets
// BROKER02, blocked by the firm alone, trade again. ringex's firm unblock
// journals an unblock record for every member (node/firmblock.go
// blockFirm), so BROKER01's own block is silently lifted with the firm's
// and its next order rests.
func TestReviewFirmUnblockKeepsAMembersOwnBlock(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	defer n.Stop()
	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatalf("block BROKER01 on its own: %v", err)
	}
	if _, err := n.Block("F1", false); err != nil {
		t.Logf("block firm F1 with BROKER01 already blocked: %v", err)
	}
	if _, err := n.Block("F1", true); err != nil {
		t.Logf("unblock firm F1: %v", err)
	}
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	rests(t, b2, "BROKER02, blocked by the firm alone, after the firm's unblock", "U2", "AAPL", "1", "1", "100.00")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	refused(t, b1, "BROKER01, blocked on its own before the firm's block and never unblocked by name", "U1", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
}
