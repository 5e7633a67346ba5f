package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestBlockedFirmStaysBlockedForANewSession: issue 19's kill switch
// blocks "an account, a firm or a session". The operator blocks firm F1
// (`ringex account block F1`), then, with the firm still blocked, the
// venue adds a session BROKER03 to F1 (firms[].sessions) and restarts. A
// blocked firm stays blocked: its new session's orders are refused with
// the kill switch's Text until the operator unblocks the firm, and so are
// those of an account added to the firm. Unblocking the firm lets every
// member trade again, and a restart keeps it unblocked.
//
// The block record names the firm (matcher.FirmBlock); the engines keep
// the blocked firms, and each start journals a block for every member of
// a blocked firm that is not blocked yet (node/firmblock.go).
func TestBlockedFirmStaysBlockedForANewSession(t *testing.T) {
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
	cfg.Firms[0].Accounts = append(cfg.Firms[0].Accounts, "ACC-B")
	n = startCfg(t, cfg)
	b3 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	refused(t, b3, "BROKER03, added to blocked firm F1", "N3", "AAPL", "1", "1", "2", "10.00", "99", "kill switch")
	for _, name := range []string{"BROKER03", "ACC-B", "BROKER01"} {
		if show, err := n.AccountShow(name); err != nil || !strings.Contains(show, name+" blocked true") {
			t.Errorf("account show %s of blocked firm F1 = %q, %v; want blocked", name, show, err)
		}
	}
	if show, err := n.AccountShow("BROKER04"); err != nil || !strings.Contains(show, "blocked false") {
		t.Errorf("account show BROKER04, in no firm = %q, %v; want not blocked", show, err)
	}

	// Unblock: every member of the firm trades again, the new ones too.
	if _, err := n.Block("F1", true); err != nil {
		t.Fatal(err)
	}
	rests(t, b3, "BROKER03 of unblocked firm F1", "N4", "AAPL", "1", "1", "10.00")
	b3.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the firm unblocked, and a session added now trades.
	cfg.Firms[0].Sessions = append(cfg.Firms[0].Sessions, "BROKER04")
	n = startCfg(t, cfg)
	defer n.Stop()
	for _, name := range []string{"BROKER01", "BROKER03", "BROKER04", "ACC-A", "ACC-B"} {
		if show, err := n.AccountShow(name); err != nil || !strings.Contains(show, name+" blocked false") {
			t.Errorf("account show %s of unblocked firm F1 = %q, %v; want not blocked", name, show, err)
		}
	}
	b4 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER04", "RINGEX")
	defer b4.Close()
	rests(t, b4, "BROKER04, added to unblocked firm F1", "N5", "AAPL", "2", "1", "11.00")
}
