package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// firmVenue is spotVenue with firm F1 owning BROKER01 and BROKER02 and
// the trading accounts named, and DROPCOPY, the firm's drop copy.
func firmVenue(dir, addr string, accounts ...string) config.Config {
	cfg := spotVenue(dir, addr)
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}, Accounts: accounts}}
	cfg.Risk.Accounts = append(cfg.Risk.Accounts, config.RiskAccount{CompID: "ACC-A", MaxOrderQty: 5})
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY", DropCopyOf: []string{"F1"}})
	return cfg
}

// TestFirmAccountsOverFIX: a firm's sessions trade for its account
// ACC-A with Account (1): its cash is held, not the session's, and its
// own limit (risk.accounts) applies from either session; the firm's
// drop copy gets a copy of each report; the firm's kill switch cancels
// the account's orders and refuses new ones from every session of the
// firm. Across restarts the account keeps its id and balances however the
// firm's accounts are reordered; removing it refuses the start, naming it.
func TestFirmAccountsOverFIX(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	n := startCfg(t, cfg)
	if seq, err := n.Funds(false, "ACC-A", "cash", "1000"); err != nil || seq > 30+firstStartRecords(cfg) { // past the symbol scale and STP records
		t.Fatalf("first deposit at sequence %d (limits journaled for ids no account has?), %v", seq, err)
	}
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	dc := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")

	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "ACC-A buy rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1"})
	wantShow(t, n, "ACC-A", "openOrders 1 cash 1000.00 held 50.00")
	b2.Send("D", tag.ClOrdID, "Q1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "6", tag.OrdType, "2", tag.Price, "10.00")
	got := expect(t, "over ACC-A's maxOrderQty", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "Q1", tag.OrdRejReason: "3"})
	if !strings.Contains(got[tag.Text], "maxOrderQty") {
		t.Errorf("Text %q does not name maxOrderQty", got[tag.Text])
	}
	wantShow(t, n, "BROKER01", "openOrders 0 cash 0.00 held 0.00")
	refused(t, b1, "the session's own account has no cash", "C1", "AAPL", "1", "5", "2", "10.00", "3", "insufficient free cash")
	copies := reportsUntil(t, "drop copy", dc, "C1", "8")
	if len(copies) != 3 || copies[0][tag.ClOrdID] != "G1" || copies[1][tag.ClOrdID] != "Q1" || copies[0][quickfix.Tag(797)] != "Y" {
		t.Errorf("drop copy of F1 got %v, want G1's new (BROKER01), Q1's reject (BROKER02) and C1's, 797=Y", copies)
	}

	if _, err := n.Block("F1", false); err != nil {
		t.Fatal(err)
	}
	expect(t, "kill switch cancels ACC-A's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "G1", tag.LeavesQty: "0"})
	b2.Send("D", tag.ClOrdID, "K1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	got = expect(t, "blocked firm", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "K1"})
	if !strings.Contains(got[tag.Text], "kill switch") {
		t.Errorf("Text %q does not name the kill switch", got[tag.Text])
	}
	wantShow(t, n, "ACC-A", "blocked true (firm F1) openOrders 0 cash 1000.00 held 0.00")
	for _, c := range []*fixtest.Client{b1, b2, dc} {
		c.Close()
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	// A new account listed first takes the next id; ACC-A keeps its own.
	n = startCfg(t, firmVenue(dir, addr, "ACC-Z", "ACC-A"))
	show, err := n.AccountShow("ACC-A")
	if err != nil || !strings.HasPrefix(show, "account 1024 ACC-A blocked true") || !strings.HasSuffix(show, "cash 1000.00 held 0.00") {
		t.Errorf("after reordering, account show ACC-A = %q, %v", show, err)
	}
	if show, err := n.AccountShow("ACC-Z"); err != nil || !strings.HasPrefix(show, "account 1025 ACC-Z") {
		t.Errorf("account show ACC-Z = %q, %v", show, err)
	}
	if _, err := n.Block("F1", true); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg = firmVenue(dir, addr, "ACC-Z")
	cfg.Risk.Accounts = cfg.Risk.Accounts[:len(cfg.Risk.Accounts)-1] // no limits for an account no firm lists
	_, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err == nil || !strings.Contains(err.Error(), "account ACC-A (id 1024)") {
		t.Fatalf("start without ACC-A: %v, want a refusal naming it", err)
	}
}
