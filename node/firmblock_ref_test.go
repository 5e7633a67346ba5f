package node_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ringex/ringex/node"
)

// docs/operations.md: "A reference names one request, venue-wide ... A
// firm's block or unblock whose reference a member's account has for
// another request is refused whole, before anything is journaled." An
// account's own block and its firm's block are two requests (the
// records differ in AccountBlock.Firm). The operator blocks BROKER01 by
// name with --ref ops-7, then, pasting the wrong line, blocks firm F1
// with the same ref: that must be refused whole (a *node.RefConflictError)
// and leave BROKER02 free. Today the firm's record of BROKER01 is taken
// for a repeat of its own block (risk.RequestOf has no Firm), the others
// are applied, and BROKER01 is left without its firm's block, so its
// unblock by name frees it while F1 stays blocked.
func TestFirmBlockWithAMembersOwnBlockRefIsRefusedWhole(t *testing.T) {
	cfg, _ := ownBlockVenue(t)
	n := startCfg(t, cfg)
	defer n.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := n.BlockRef(ctx, "ops-7", "BROKER01", false); err != nil {
		t.Fatalf("block BROKER01 --ref ops-7: %v", err)
	}
	_, err := n.BlockRef(ctx, "ops-7", "F1", false)
	var ce *node.RefConflictError
	if !errors.As(err, &ce) {
		t.Errorf("block F1 --ref ops-7 (BROKER01's own block's ref): %v; want a *node.RefConflictError, nothing journaled", err)
	}
	if f, b := n.FirmBlockOf("BROKER02"); b {
		t.Errorf("BROKER02 holds firm %q's block after a request refused whole", f)
	}
	if _, err := n.BlockRef(ctx, "", "BROKER01", true); err != nil {
		t.Fatalf("unblock BROKER01: %v", err)
	}
	if _, b := n.FirmBlockOf("BROKER02"); b {
		if _, b1 := n.FirmBlockOf("BROKER01"); !b1 {
			t.Errorf("F1 is blocked (BROKER02 holds its block) but BROKER01, its member, was freed by its own unblock: it never got F1's block")
		}
	}
}
