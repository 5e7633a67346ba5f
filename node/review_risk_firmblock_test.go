package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestReviewBlockedFirmStaysBlockedForANewSession: issue 19's kill switch
// blocks "an account, a firm or a session". The operator blocks firm F1
// (`ringex account block F1`), then, with the firm still blocked, the
// venue adds a session BROKER03 to F1 (firms[].sessions) and restarts. A
// blocked firm should stay blocked: its new session's orders refused with
// the kill switch's Text until the operator unblocks the firm.
//
// ringex has no firm-level block: Node.Block (node/risk.go) expands a
// firm's name into the sessions and accounts it lists at that moment and
// journals one block record for each; nothing records that the firm is
// blocked. A session or account added to the firm later is not blocked,
// so BROKER03's order of firm F1 rests and can trade.
func TestReviewBlockedFirmStaysBlockedForANewSession(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	if _, err := n.Block("F1", false); err != nil {
		t.Fatal(err)
	}
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	refused(t, b1, "BROKER01 of blocked firm F1", "N1", "AAPL", "1", "1", "2", "10.00", "99", "kill switch")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Firms[0].Sessions = append(cfg.Firms[0].Sessions, "BROKER03")
	n = startCfg(t, cfg)
	defer n.Stop()
	b3 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	refused(t, b3, "BROKER03, added to blocked firm F1", "N3", "AAPL", "1", "1", "2", "10.00", "99", "kill switch")
}
