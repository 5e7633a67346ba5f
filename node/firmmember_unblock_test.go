package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestMemberOfABlockedFirmIsNotUnblockedByName (review, issue 19): while
// firm F1 is blocked, the unblock of its member BROKER01 by name is
// refused, naming the firm and what to do, and journals nothing, so no
// restart can undo it (a start blocks every member of a blocked firm the
// risk state has not blocked, firmblock.go). After a restart the refusal
// and the block stand; the firm's unblock lets BROKER01 trade.
func TestMemberOfABlockedFirmIsNotUnblockedByName(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	if _, err := n.Block("F1", false); err != nil {
		t.Fatalf("block firm F1: %v", err)
	}
	unblockRefused := func(when string) {
		t.Helper()
		for _, name := range []string{"BROKER01", "ACC-A"} {
			_, err := n.Block(name, true)
			if err == nil || !strings.Contains(err.Error(), name+" is a member of blocked firm F1: unblock the firm") {
				t.Errorf("%s: unblock %s by name: %v; want a refusal naming its blocked firm F1", when, name, err)
			}
			wantShow(t, n, name, "blocked true openOrders 0")
		}
	}
	unblockRefused("firm F1 blocked")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	unblockRefused("after a restart")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	refused(t, b1, "BROKER01 of blocked firm F1 after a restart", "M1", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
	if _, err := n.Block("F1", true); err != nil {
		t.Fatalf("unblock firm F1: %v", err)
	}
	rests(t, b1, "BROKER01 after its firm's unblock", "M2", "AAPL", "1", "1", "100.00")
}
