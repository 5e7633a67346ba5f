package node_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/audit"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// ownBlockVenue is the firm venue (F1: BROKER01, BROKER02, ACC-A) in risk
// mode limits, checkpointing every 2 commands, so that the risk state's
// snapshot and hash are taken while the blocks hold.
func ownBlockVenue(t *testing.T) (cfg config.Config, dir string) {
	dir = t.TempDir()
	cfg = firmVenue(dir, fixtest.FreeAddr(t), "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	return cfg, dir
}

// wantFirmBlockOf checks what node.FirmBlockOf says of name.
func wantFirmBlockOf(t *testing.T, n *node.Node, name, firm string, blocked bool) {
	t.Helper()
	if f, b := n.FirmBlockOf(name); f != firm || b != blocked {
		t.Errorf("FirmBlockOf(%s) = %q, %v; want %q, %v", name, f, b, firm, blocked)
	}
}

// verifyReplay runs `ringex replay verify` on the journal in dir: every
// checkpoint hash record and every snapshot it holds (risk snapshot
// version 4 while a firm's block holds) is recomputed and equal.
func verifyReplay(t *testing.T, cfg config.Config, dir string) {
	t.Helper()
	v, err := audit.VenueOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Verify(audit.VerifyOptions{Dir: filepath.Join(dir, "journal"), Venue: v})
	if err != nil {
		t.Fatal(err)
	}
	// The last checkpoint may have no hash record yet (the node stopped
	// before writing it): Verify notes it, it is no problem.
	if !r.OK() || r.CheckpointsOK == 0 || r.Snapshots == 0 || r.SnapshotsOK != r.Snapshots {
		t.Fatalf("replay verify: %d problems (%v), %d of %d checkpoint hashes and %d of %d snapshots equal",
			r.ProblemCount, r.Problems, r.CheckpointsOK, r.Checkpoints, r.SnapshotsOK, r.Snapshots)
	}
}

// TestFirmUnblockKeepsAMembersOwnBlock (issue 19's kill switch, the
// operator's view): BROKER01 is blocked on its own, then its firm F1, then
// F1 is unblocked. The two blocks are independent: F1's unblock lifts its
// own block of each member and leaves BROKER01's, so BROKER02 trades
// again and BROKER01's new order is refused with the kill switch's Text;
// OwnBlockedMembers names BROKER01 (`ringex account unblock F1` says it)
// and show says "(own)". A restart and a replay of the journal keep it;
// BROKER01's own unblock then lets it trade.
func TestFirmUnblockKeepsAMembersOwnBlock(t *testing.T) {
	cfg, dir := ownBlockVenue(t)
	addr := cfg.FIX.Listen
	n := startCfg(t, cfg)
	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatalf("block BROKER01 on its own: %v", err)
	}
	if _, err := n.Block("F1", false); err != nil {
		t.Fatalf("block firm F1 with BROKER01 already blocked: %v", err)
	}
	wantShow(t, n, "BROKER01", "blocked true (own, firm F1) openOrders 0")
	wantShow(t, n, "ACC-A", "blocked true (firm F1) openOrders 0")
	if _, err := n.Block("F1", true); err != nil {
		t.Fatalf("unblock firm F1: %v", err)
	}
	if got, ok := n.OwnBlockedMembers("F1"); !ok || !slices.Equal(got, []string{"BROKER01"}) {
		t.Errorf("OwnBlockedMembers(F1) = %q, %v; want [BROKER01], true", got, ok)
	}
	if got, ok := n.OwnBlockedMembers("BROKER01"); ok || got != nil {
		t.Errorf("OwnBlockedMembers(BROKER01) = %q, %v; want none (not a firm)", got, ok)
	}
	wantFirmBlockOf(t, n, "BROKER01", "", false)
	wantShow(t, n, "BROKER01", "blocked true (own) openOrders 0")
	wantShow(t, n, "BROKER02", "blocked false openOrders 0")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	rests(t, b2, "BROKER02, blocked by the firm alone, after the firm's unblock", "U2", "AAPL", "1", "1", "100.00")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	refused(t, b1, "BROKER01, blocked on its own, after its firm's unblock", "U1", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
	b1.Close()
	b2.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	wantShow(t, n, "BROKER01", "blocked true (own) openOrders 0")
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	refused(t, b1, "BROKER01, blocked on its own, after a restart", "U3", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
	if _, err := n.Block("BROKER01", true); err != nil {
		t.Fatalf("unblock BROKER01 by name: %v", err)
	}
	wantFirmBlockOf(t, n, "BROKER01", "", false)
	rests(t, b1, "BROKER01 after its own unblock", "U4", "AAPL", "1", "1", "100.00")
	verifyReplay(t, cfg, dir)
}

// TestFirmBlockOfAnOlderBuildKeepsItsMembersBlocked: a journal written
// before the two blocks were kept apart holds firm F1's record and a
// plain block of each member (what `ringex account block F1` journaled
// then, submitted here as it was), which the risk state reads as each
// member's own block. The next start journals F1's block of each member,
// so each holds both; F1's unblock lifts the firm's and names every
// member as still blocked on its own (the safe side: nothing says the
// old block was the firm's alone), and each member's unblock by name
// then lets it trade. A replay of the journal verifies.
func TestFirmBlockOfAnOlderBuildKeepsItsMembersBlocked(t *testing.T) {
	cfg, dir := ownBlockVenue(t)
	n := startCfg(t, cfg)
	firm, err := matcher.FirmBlock{Firm: "F1"}.Command()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Submit(&firm); err != nil {
		t.Fatal(err)
	}
	members := []string{"BROKER01", "BROKER02", "ACC-A"}
	for _, name := range members {
		show, err := n.AccountShow(name)
		var id uint32
		if _, serr := fmt.Sscanf(show, "account %d", &id); err != nil || serr != nil {
			t.Fatalf("account show %s = %q, %v", name, show, err)
		}
		old, err := matcher.AccountBlock{Account: id}.Command()
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Submit(&old); err != nil {
			t.Fatal(err)
		}
		wantShow(t, n, name, "blocked true (own) openOrders 0")
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	for _, name := range members {
		wantShow(t, n, name, "blocked true (own, firm F1) openOrders 0")
	}
	if _, err := n.Block("F1", true); err != nil {
		t.Fatalf("unblock firm F1: %v", err)
	}
	if got, ok := n.OwnBlockedMembers("F1"); !ok || !slices.Equal(got, members) {
		t.Errorf("OwnBlockedMembers(F1) = %q, %v; want %q", got, ok, members)
	}
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	refused(t, b1, "BROKER01 blocked by an older build's firm block, after the firm's unblock", "O1", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
	for _, name := range members {
		if _, err := n.Block(name, true); err != nil {
			t.Fatalf("unblock %s by name: %v", name, err)
		}
		wantShow(t, n, name, "blocked false openOrders 0")
	}
	rests(t, b1, "BROKER01 after its own unblock", "O2", "AAPL", "1", "1", "100.00")
	verifyReplay(t, cfg, dir)
}
