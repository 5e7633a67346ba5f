package node_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/node"
)

// TestKillSwitchOfAFirmAccountAlone: the kill switch of one named account
// (ACC-A) cancels its working orders whichever of the firm's sessions
// placed them, releases their holds, and leaves the sessions' own orders
// and new orders working.
func TestKillSwitchOfAFirmAccountAlone(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, firmVenue(dir, addr, "ACC-A"))
	defer n.Stop()
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	mustFunds(t, n, false, "BROKER01", "cash", "100")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()

	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "G1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1"})
	b2.Send("D", tag.ClOrdID, "D2", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "D2 rests", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "D2"})
	b1.Send("D", tag.ClOrdID, "O1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "O1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "O1"})
	wantShow(t, n, "ACC-A", "openOrders 2 cash 1000.00 held 60.00")

	if _, err := n.Block("ACC-A", false); err != nil {
		t.Fatal(err)
	}
	expect(t, "G1 cancelled", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "G1", tag.LeavesQty: "0"})
	expect(t, "D2 cancelled", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "D2", tag.LeavesQty: "0"})
	wantShow(t, n, "ACC-A", "openOrders 0 cash 1000.00 held 0.00")
	wantShow(t, n, "BROKER01", "openOrders 1 cash 100.00 held 10.00")
	b1.Send("D", tag.ClOrdID, "O2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "the session's own order is taken", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "O2"})
	b2.Send("D", tag.ClOrdID, "K1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "ACC-A is blocked", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "K1"})
}

// firmAccountSession starts the firm venue with named account ACC-A,
// funds ACC-A with 1000 cash, and logs BROKER01 on; the session closes and
// the node stops when the test ends. It returns the node, BROKER01's
// session and the FIX address.
func firmAccountSession(t *testing.T) (*node.Node, *fixtest.Client, string) {
	t.Helper()
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, firmVenue(dir, addr, "ACC-A"))
	t.Cleanup(func() { n.Stop() })
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	t.Cleanup(b1.Close)
	return n, b1, addr
}

// TestEndOfDayReleasesAFirmAccountsHolds: a Day order placed for a named
// account expires at the end of the day and releases the account's hold
// and open-order count.
func TestEndOfDayReleasesAFirmAccountsHolds(t *testing.T) {
	n, b1, _ := firmAccountSession(t)
	b1.Send("D", tag.ClOrdID, "D1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "D1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "D1"})
	wantShow(t, n, "ACC-A", "openOrders 1 cash 1000.00 held 50.00")
	if _, err := n.EndOfDay(); err != nil {
		t.Fatal(err)
	}
	expect(t, "D1 expired", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "C", tag.ClOrdID: "D1"})
	wantShow(t, n, "ACC-A", "openOrders 0 cash 1000.00 held 0.00")
}

// TestFirmAccountOrderAcrossSnapshotRestart: an order a session placed for
// a named account, resting in the engine snapshot (version 4, its owner)
// that a restart loads, is still that account's: the account's kill
// switch cancels it and releases its hold.
func TestFirmAccountOrderAcrossSnapshotRestart(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "G1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1"})
	after, err := n.Funds(false, "ACC-A", "cash", "1")
	if err != nil {
		t.Fatal(err)
	}
	awaitSnapshotAt(t, dir, after)
	// The broker's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the replies expected.
	confirmSession(t, n, b1, 1, "CONFIRM")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	wantShow(t, n, "ACC-A", "openOrders 1 cash 1001.00 held 50.00")
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	if _, err := n.Block("ACC-A", false); err != nil {
		t.Fatal(err)
	}
	expect(t, "G1 cancelled after the restart", b1.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "G1", tag.LeavesQty: "0"})
	wantShow(t, n, "ACC-A", "openOrders 0 cash 1001.00 held 0.00")
}

// TestDropCopyOfAFirmWithNoSessionsTakesNoOrders: a drop-copy session
// whose dropCopyOf names a firm that has no sessions (yet) is still a
// drop copy: it takes no orders.
func TestDropCopyOfAFirmWithNoSessionsTakesNoOrders(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	cfg.Firms = []config.Firm{{Name: "F9"}}
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY", DropCopyOf: []string{"F9"}})
	n := startCfg(t, cfg)
	defer n.Stop()
	dc := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	dc.Send("D", tag.ClOrdID, "X1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	got := fixtest.Fields(dc.Next(wait))
	if got[tag.MsgType] == "8" && got[tag.ExecType] != "8" {
		t.Fatalf("the drop copy's order was taken: %v", got)
	}
}

// TestFirmNameThatIsAlsoAnAccountOrSessionIsRefused: the kill switch
// (Block), account show and dropCopyOf take a session's CompID, a firm's
// account or a firm's name; a firm named as one of its accounts, or as a
// session, would make one of them unreachable (Block "F1" then always
// takes the whole firm), so the start refuses it, naming it.
func TestFirmNameThatIsAlsoAnAccountOrSessionIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		firm config.Firm
	}{
		{"firm_named_as_its_account", config.Firm{Name: "F1", Sessions: []string{"BROKER01"}, Accounts: []string{"F1"}}},
		{"firm_named_as_a_session", config.Firm{Name: "BROKER03", Sessions: []string{"BROKER01"}, Accounts: []string{"ACC-A"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
			cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
			cfg.Firms = []config.Firm{tc.firm}
			n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
			if err == nil {
				n.Stop()
				t.Fatalf("firm %q started; want a refusal naming it", tc.firm.Name)
			}
			if !strings.Contains(err.Error(), tc.firm.Name) {
				t.Errorf("refusal %v does not name %q", err, tc.firm.Name)
			}
		})
	}
}

// TestSTPDecrementReleasesAFirmAccountsHolds: self-trade prevention by
// decrement between two orders of one named account, placed by two
// sessions of its firm, releases what the lots taken off held: the
// cancelled buy's cash, the decremented sell's lots.
func TestSTPDecrementReleasesAFirmAccountsHolds(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	decrement := config.STPDecrement
	cfg.Firms[0].STP = &decrement
	n := startCfg(t, cfg)
	defer n.Stop()
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	mustFunds(t, n, false, "ACC-A", "AAPL", "10")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b1.Send("D", tag.ClOrdID, "S1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "S1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
	b2.Send("D", tag.ClOrdID, "B1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "3", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "B1 new", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
	expect(t, "B1 cancelled", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "B1"})
	expect(t, "S1 decremented", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "D", tag.ClOrdID: "S1", tag.LeavesQty: "2"})
	wantShow(t, n, "ACC-A", "openOrders 1 cash 1000.00 held 0.00 AAPL 10 held 2")
}

// TestReportsOfAFirmAccountNameIt: the ExecutionReports of an order
// placed for a firm's account carry that Account (1), to the session
// that sent it and on the firm's drop copy, which otherwise cannot tell
// the firm's accounts apart.
func TestReportsOfAFirmAccountNameIt(t *testing.T) {
	_, b1, addr := firmAccountSession(t)
	dc := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "G1's report to its session", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1", tag.Account: "ACC-A"})
	expect(t, "G1's drop copy", dc.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1", tag.Account: "ACC-A"})
}

// TestFirmAccountsAfterFailover: a promoted standby knows the firm's
// named accounts as the primary bound them: a session may still name
// ACC-A, its balance and hold came across, and its kill switch cancels
// the order placed for it on the primary.
func TestFirmAccountsAfterFailover(t *testing.T) {
	repl := func(role, primary string) config.Config {
		cfg := firmVenue(t.TempDir(), fixtest.FreeAddr(t), "ACC-A")
		if err := cfg.Replication.Role.UnmarshalText([]byte(role)); err != nil {
			t.Fatal(err)
		}
		cfg.Replication.Listen, cfg.Replication.Primary, cfg.Replication.Admin = "127.0.0.1:0", primary, ""
		cfg.Replication.HeartbeatMs = 20
		return cfg
	}
	cfgP := repl("primary", "")
	p := startCfg(t, cfgP)
	defer p.Stop()
	cfgS := repl("standby", p.ReplicationAddr().String())
	s := startCfg(t, cfgS)
	defer s.Stop()
	mustFunds(t, p, false, "ACC-A", "cash", "1000")
	b1 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "G1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1"})
	b1.Close()
	last := func(n *node.Node) int64 { st, _ := n.ReplicationStats(); return st.LastSeq }
	for deadline := time.Now().Add(wait); last(s) < last(p); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the standby has seq %d, the primary %d", last(s), last(p))
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	wantShow(t, s, "ACC-A", "openOrders 1 cash 1000.00 held 50.00")
	b1 = fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b1.Send("D", tag.ClOrdID, "G2", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "G2 for ACC-A on the promoted standby", nextLive(t, b1), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G2"})
	if _, err := s.Block("ACC-A", false); err != nil {
		t.Fatal(err)
	}
	expect(t, "G1 cancelled", nextLive(t, b1), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "G1"})
	expect(t, "G2 cancelled", nextLive(t, b1), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "G2"})
	wantShow(t, s, "ACC-A", "openOrders 0 cash 1000.00 held 0.00")
}

// nextLive is c's next message that is not a report resent after the
// failover (PossResend 97=Y).
func nextLive(t *testing.T, c *fixtest.Client) *quickfix.Message {
	t.Helper()
	for range 16 {
		m := c.Next(wait)
		if fixtest.Fields(m)[quickfix.Tag(97)] != "Y" {
			return m
		}
	}
	t.Fatal("only resent reports")
	return nil
}

// TestReplaceWithoutTheOrdersAccountIsAnUnknownOrder: a replace must name
// the Account (1) its order was placed for; one that names none, of an
// order placed for the firm's account ACC-A, is refused as an unknown
// order (CxlRejReason 1), as the matcher refuses it, whatever the
// session's own balance, and ACC-A's order and hold stay as they were.
func TestReplaceWithoutTheOrdersAccountIsAnUnknownOrder(t *testing.T) {
	n, b1, _ := firmAccountSession(t)
	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "G1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1"})
	b1.Send("G", tag.OrigClOrdID, "G1", tag.ClOrdID, "G2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "11.00")
	expect(t, "replace without tag 1", b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "G2", tag.CxlRejReason: "1"})
	wantShow(t, n, "ACC-A", "openOrders 1 cash 1000.00 held 50.00")
}

// awaitSnapshotAt waits until the journal in dir holds a snapshot at or
// after sequence after (the checkpoint's snapshot is written off the hot
// path, after the record it follows).
func awaitSnapshotAt(t *testing.T, dir string, after int64) {
	t.Helper()
	jdir := filepath.Join(dir, "journal")
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		if seq, _, _, ok, err := journal.LatestSnapshot(jdir); err == nil && ok && seq >= after {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot at or after sequence %d within %v", after, wait)
		}
	}
}
