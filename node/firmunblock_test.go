package node_test

import (
	"slices"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestFirmUnblockLiftsAMembersOwnBlock (review, issue 19): BROKER01 is
// blocked on its own, then its firm F1, then F1 is unblocked. A block
// record says nothing of why, so the firm's unblock lifts the block of
// every member the config lists, BROKER01's own too, as documented
// (docs/design.md, "Kill switch per firm"; docs/operations.md): both
// BROKER01 and BROKER02 trade again, FirmMembers names the members the
// unblock lifted (`ringex account unblock F1` says them), and blocking
// BROKER01 again by name blocks it.
func TestFirmUnblockLiftsAMembersOwnBlock(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	defer n.Stop()
	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatalf("block BROKER01 on its own: %v", err)
	}
	if _, err := n.Block("F1", false); err != nil {
		t.Fatalf("block firm F1 with BROKER01 already blocked: %v", err)
	}
	if _, err := n.Block("F1", true); err != nil {
		t.Fatalf("unblock firm F1: %v", err)
	}
	if got, want := n.FirmMembers("F1"), []string{"BROKER01", "BROKER02", "ACC-A"}; !slices.Equal(got, want) {
		t.Errorf("FirmMembers(F1) = %q; want %q", got, want)
	}
	if got := n.FirmMembers("BROKER01"); got != nil {
		t.Errorf("FirmMembers(BROKER01) = %q; want nil (not a firm)", got)
	}
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	rests(t, b2, "BROKER02, blocked by the firm alone, after the firm's unblock", "U2", "AAPL", "1", "1", "100.00")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	rests(t, b1, "BROKER01, its own block lifted by the firm's unblock", "U1", "AAPL", "1", "1", "100.00")
	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatalf("block BROKER01 again by name: %v", err)
	}
	expect(t, "BROKER01's resting U1 cancelled by its block", b1.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "4", tag.ClOrdID: "U1", tag.LeavesQty: "0"})
	refused(t, b1, "BROKER01 blocked again by name", "U3", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
}
