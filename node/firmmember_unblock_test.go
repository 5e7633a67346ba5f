package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestMembersOwnUnblockKeepsItsFirmsBlock (issue 19's kill switch, the
// reverse order): firm F1 is blocked, then BROKER01 on its own, then
// BROKER01 is unblocked by name. The unblock lifts BROKER01's own block
// alone: it stays blocked by F1's (FirmBlockOf names F1, show says
// "(firm F1)"), and its new order is refused with the kill switch's
// Text, after a restart too; the unblock of member ACC-A, which was not
// blocked on its own, changes nothing either. F1's unblock then lets
// both trade, and a replay of the journal verifies.
func TestMembersOwnUnblockKeepsItsFirmsBlock(t *testing.T) {
	cfg, dir := ownBlockVenue(t)
	addr := cfg.FIX.Listen
	n := startCfg(t, cfg)
	if _, err := n.Block("F1", false); err != nil {
		t.Fatalf("block firm F1: %v", err)
	}
	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatalf("block BROKER01 of blocked firm F1 on its own: %v", err)
	}
	wantShow(t, n, "BROKER01", "blocked true (own, firm F1) openOrders 0")
	for _, name := range []string{"BROKER01", "ACC-A"} {
		if _, err := n.Block(name, true); err != nil {
			t.Fatalf("unblock %s of blocked firm F1 by name: %v", name, err)
		}
	}
	stillBlocked := func(when string) {
		t.Helper()
		for _, name := range []string{"BROKER01", "ACC-A"} {
			wantFirmBlockOf(t, n, name, "F1", true)
			wantShow(t, n, name, "blocked true (firm F1) openOrders 0")
		}
		b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
		defer b1.Close()
		refused(t, b1, "BROKER01 unblocked by name, of blocked firm F1, "+when, "M"+when[:1], "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
	}
	stillBlocked("before a restart")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	stillBlocked("after a restart")
	if _, err := n.Block("F1", true); err != nil {
		t.Fatalf("unblock firm F1: %v", err)
	}
	if got, ok := n.OwnBlockedMembers("F1"); !ok || len(got) != 0 {
		t.Errorf("OwnBlockedMembers(F1) = %q, %v; want none", got, ok)
	}
	wantFirmBlockOf(t, n, "BROKER01", "", false)
	wantShow(t, n, "ACC-A", "blocked false openOrders 0")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	rests(t, b1, "BROKER01 after its firm's unblock", "M2", "AAPL", "1", "1", "100.00")
	verifyReplay(t, cfg, dir)
}

// TestUnblockOfAnAccountThatLeftItsBlockedFirm: BROKER02 holds firm F1's
// block when the venue takes it out of F1 (firms[].sessions) and
// restarts. No unblock of F1 reaches it any more, so show says "(firm)"
// with no firm, and its own unblock by name lifts the firm's block too:
// it trades; F1's other member stays blocked.
func TestUnblockOfAnAccountThatLeftItsBlockedFirm(t *testing.T) {
	cfg, _ := ownBlockVenue(t)
	n := startCfg(t, cfg)
	if _, err := n.Block("F1", false); err != nil {
		t.Fatalf("block firm F1: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Firms[0].Sessions = []string{"BROKER01"}
	n = startCfg(t, cfg)
	defer n.Stop()
	wantFirmBlockOf(t, n, "BROKER02", "", true)
	wantShow(t, n, "BROKER02", "blocked true (firm) openOrders 0")
	if _, err := n.Block("BROKER02", true); err != nil {
		t.Fatalf("unblock BROKER02 by name: %v", err)
	}
	wantFirmBlockOf(t, n, "BROKER02", "", false)
	wantShow(t, n, "BROKER02", "blocked false openOrders 0")
	wantShow(t, n, "BROKER01", "blocked true (firm F1) openOrders 0")
	b2 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	rests(t, b2, "BROKER02, out of blocked firm F1, after its unblock", "L1", "AAPL", "1", "1", "100.00")
}
