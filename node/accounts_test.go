package node_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
)

// venueWith is the default venue on dir and addr with the sessions named,
// in that order.
func venueWith(dir, addr string, compIDs ...string) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	cfg.FIX.Sessions = nil
	for _, id := range compIDs {
		cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: id})
	}
	return cfg
}

func startCfg(t *testing.T, cfg config.Config) *node.Node {
	t.Helper()
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start exchange: %v", err)
	}
	return n
}

// restartBroker01 stops n, checking that it stopped cleanly, starts a node
// on cfg again and logs BROKER01 on at addr; the test's cleanup logs it
// off and stops the node.
func restartBroker01(t *testing.T, n *node.Node, cfg config.Config, addr string) (*node.Node, *fixtest.Client) {
	t.Helper()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n = startCfg(t, cfg)
	t.Cleanup(func() { n.Stop() })
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	t.Cleanup(b1.Close)
	return n, b1
}

// restGTC has broker (its account id: account) rest a GTC order over its
// own FIX session, waits for its engine to confirm the report, and stops
// the exchange while it is still logged on (no cancel-on-disconnect).
func restGTC(t *testing.T, n *node.Node, addr, broker string, account int, clOrdID, side, px string) {
	t.Helper()
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, broker, "RINGEX")
	c.Send("D", tag.ClOrdID, clOrdID, tag.Symbol, "AAPL", tag.Side, side, tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, px, tag.TimeInForce, "1")
	f := expect(t, broker+" new", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: clOrdID})
	// The broker's engine confirms the New before the stop: else the next
	// start resends it (PossResend=Y) ahead of the replies expected.
	waitConfirmed(t, n, account, execSeq(t, f), 1)
	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	c.Close()
}

// cancelOwn has broker cancel its order clOrdID and checks the exchange
// finds it: the order is still that broker's.
func cancelOwn(t *testing.T, addr, broker, clOrdID string) {
	t.Helper()
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, broker, "RINGEX")
	defer c.Close()
	c.Send("F", tag.OrigClOrdID, clOrdID, tag.ClOrdID, "X"+clOrdID, tag.Symbol, "AAPL", tag.Side, "2")
	expect(t, broker+" cancel", c.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "4", tag.OrigClOrdID: clOrdID, tag.LeavesQty: "0"})
}

func wantRefused(t *testing.T, cfg config.Config, words ...string) {
	t.Helper()
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err == nil {
		n.Stop()
		t.Fatalf("the exchange started with sessions %v, which contradict the journal's accounts", cfg.FIX.Sessions)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal does not name %q: %v", w, err)
		}
	}
	t.Logf("refused as it should be: %v", err)
}

// spotVenueWith is venueWith with risk mode spot (cash in cents, no
// limits) and DROPCOPY, the drop copy of BROKER01, wherever compIDs name
// "DROPCOPY".
func spotVenueWith(dir, addr string, compIDs ...string) config.Config {
	cfg := venueWith(dir, addr, compIDs...)
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	for i := range cfg.FIX.Sessions {
		if cfg.FIX.Sessions[i].TargetCompID == "DROPCOPY" {
			cfg.FIX.Sessions[i].DropCopyOf = []string{"BROKER01"}
		}
	}
	return cfg
}

// wantAccount checks compID's account id and balances (Node.AccountShow).
func wantAccount(t *testing.T, n *node.Node, compID string, id int, balances string) {
	t.Helper()
	got, err := n.AccountShow(compID)
	if err != nil || !strings.HasPrefix(got, fmt.Sprintf("account %d %s ", id, compID)) || !strings.HasSuffix(got, balances) {
		t.Fatalf("account show %s = %q, %v; want account %d, ending %q", compID, got, err, id, balances)
	}
}

// A session's identity is its CompID, not its place in fix.sessions. The
// list is reordered, BROKER03 removed and NEWBROKER added across a
// restart, then reordered again with BROKER03 back: every start serves,
// every broker keeps its account id, its resting orders and its
// balances; a fill of a resting order reaches the owner's session (and
// BROKER01's drop copy gets its copy); the removed broker's order still
// trades as its own, its balances settle, and it gets the fill it missed
// when it comes back; a new broker never takes a removed one's id.
func TestReorderedSessionsKeepTheirAccounts(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, spotVenueWith(dir, addr, "BROKER01", "BROKER02", "BROKER03", "DROPCOPY"))
	mustFunds(t, n, false, "BROKER01", "cash", "10000")
	mustFunds(t, n, false, "BROKER02", "AAPL", "50")
	mustFunds(t, n, false, "BROKER03", "AAPL", "20")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	b3 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	// Each broker's engine confirms its New before the stop: else the
	// next start resends it (PossResend=Y) ahead of the replies expected.
	waitConfirmed(t, n, 1, execSeq(t, rests(t, b1, "BROKER01 bid", "B1BID", "AAPL", "1", "20", "100.00")), 1)
	waitConfirmed(t, n, 2, execSeq(t, rests(t, b2, "BROKER02 ask", "B2ASK", "AAPL", "2", "10", "105.00")), 1)
	waitConfirmed(t, n, 3, execSeq(t, rests(t, b3, "BROKER03 ask", "B3ASK", "AAPL", "2", "5", "110.00")), 1)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*fixtest.Client{b1, b2, b3} {
		c.Close()
	}

	// Reordered, BROKER03 removed, NEWBROKER added first: it takes id 5,
	// after every id bound (BROKER03's 3 stays reserved, DROPCOPY has 4).
	n = startCfg(t, spotVenueWith(dir, addr, "NEWBROKER", "DROPCOPY", "BROKER02", "BROKER01"))
	wantAccount(t, n, "BROKER01", 1, "openOrders 1 cash 10000.00 held 2000.00")
	wantAccount(t, n, "BROKER02", 2, "openOrders 1 cash 0.00 held 0.00 AAPL 50 held 10")
	wantAccount(t, n, "BROKER03", 3, "openOrders 1 cash 0.00 held 0.00 AAPL 20 held 5")
	wantAccount(t, n, "NEWBROKER", 5, "openOrders 0 cash 0.00 held 0.00")
	mustFunds(t, n, false, "NEWBROKER", "cash", "1000")
	dc := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	nb := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "NEWBROKER", "RINGEX")

	// BROKER02 cancels its own resting order, then sells into BROKER01's bid.
	b2.Send("F", tag.OrigClOrdID, "B2ASK", tag.ClOrdID, "XB2ASK", tag.Symbol, "AAPL", tag.Side, "2")
	expect(t, "BROKER02 cancels its own order", b2.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "4", tag.OrigClOrdID: "B2ASK", tag.LeavesQty: "0"})
	b2.Send("D", tag.ClOrdID, "S2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "100.00")
	expect(t, "BROKER02 sell new", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S2"})
	sellSeq := execSeq(t, expect(t, "BROKER02 sell fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "S2", tag.LastQty: "10"}))
	expect(t, "BROKER01's resting bid fills on its own session", b1.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "F", tag.ClOrdID: "B1BID", tag.LastQty: "10", tag.LeavesQty: "10", tag.LastPx: "100.00"})
	waitConfirmed(t, n, 2, sellSeq, 2)                      // its New and its fill
	waitConfirmed(t, n, 1, sellSeq, 1)                      // its bid's fill: not resent before its cancel at the next start
	copies := reportsUntil(t, "DROPCOPY", dc, "B1BID", "F") // after the copies of earlier reports, which it had not had
	if f := copies[len(copies)-1]; f[tag.CopyMsgIndicator] != "Y" || f[tag.LastQty] != "10" {
		t.Errorf("DROPCOPY's copy of BROKER01's fill: %v", f)
	}
	// NEWBROKER buys the removed BROKER03's resting ask.
	nb.Send("D", tag.ClOrdID, "NB1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "110.00")
	expect(t, "NEWBROKER buy new", nb.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "NB1"})
	expect(t, "NEWBROKER fills against BROKER03's order", nb.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "5", tag.LastPx: "110.00"})
	wantAccount(t, n, "BROKER01", 1, "openOrders 1 cash 9000.00 held 1000.00 AAPL 10 held 0")
	wantAccount(t, n, "BROKER02", 2, "openOrders 0 cash 1000.00 held 0.00 AAPL 40 held 0")
	wantAccount(t, n, "BROKER03", 3, "openOrders 0 cash 550.00 held 0.00 AAPL 15 held 0")
	wantAccount(t, n, "NEWBROKER", 5, "openOrders 0 cash 450.00 held 0.00 AAPL 5 held 0")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*fixtest.Client{dc, b1, b2, nb} {
		c.Close()
	}

	// Reordered again, BROKER03 back first: it gets the fill it missed.
	n = startCfg(t, spotVenueWith(dir, addr, "BROKER03", "BROKER01", "DROPCOPY", "NEWBROKER", "BROKER02"))
	defer n.Stop()
	for _, a := range []struct {
		compID   string
		id       int
		balances string
	}{
		{"BROKER01", 1, "openOrders 1 cash 9000.00 held 1000.00 AAPL 10 held 0"},
		{"BROKER02", 2, "openOrders 0 cash 1000.00 held 0.00 AAPL 40 held 0"},
		{"BROKER03", 3, "openOrders 0 cash 550.00 held 0.00 AAPL 15 held 0"},
		{"NEWBROKER", 5, "openOrders 0 cash 450.00 held 0.00 AAPL 5 held 0"},
	} {
		wantAccount(t, n, a.compID, a.id, a.balances)
	}
	b3 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	expect(t, "BROKER03's missed fill", b3.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "F", tag.ClOrdID: "B3ASK", tag.LastQty: "5", tag.PossResend: "Y"})
	dc = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	cancelOwn(t, addr, "BROKER01", "B1BID")
	if copies := reportsUntil(t, "DROPCOPY", dc, "XB1BID", "4"); copies[len(copies)-1][tag.CopyMsgIndicator] != "Y" {
		t.Errorf("DROPCOPY's copy of BROKER01's cancel: %v", copies[len(copies)-1])
	}
	wantAccount(t, n, "BROKER01", 1, "openOrders 0 cash 9000.00 held 0.00 AAPL 10 held 0")
}

// A session added at the end of the list gets the next account and trades.
func TestSessionAppendedAtTheEndTrades(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	restGTC(t, startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02")), addr, "BROKER01", 1, "S1", "2", "101")

	n := startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02", "NEWBROKER"))
	defer n.Stop()
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "NEWBROKER", "RINGEX")
	defer c.Close()
	c.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "0")
	expect(t, "new broker accepted", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
	expect(t, "new broker fill", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "10", tag.LastPx: "101.00"})
}

// A session removed from the config keeps its account: its resting order
// still trades as its own, and a session added later takes a fresh id,
// never the removed one's.
func TestRemovedSessionKeepsItsAccount(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	restGTC(t, startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02", "BROKER03")), addr, "BROKER03", 3, "S3", "2", "101")

	n := startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02"))
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	c.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "4",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "0")
	expect(t, "buyer accepted", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	expect(t, "buyer fill against BROKER03's order", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "4"})
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	// NEWBROKER where BROKER03 was: it takes account 4, and its order
	// cannot touch BROKER03's.
	n = startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02", "NEWBROKER"))
	nb := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "NEWBROKER", "RINGEX")
	nb.Send("F", tag.OrigClOrdID, "S3", tag.ClOrdID, "XS3", tag.Symbol, "AAPL", tag.Side, "2")
	expect(t, "NEWBROKER cannot cancel BROKER03's order", nb.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.OrigClOrdID: "S3"})
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	nb.Close()

	n = startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02", "BROKER03"))
	defer n.Stop()
	// Back in the config, BROKER03 first gets the fill it missed while it
	// had no session (rebuilt from the journal), then cancels its order.
	c = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer c.Close()
	expect(t, "BROKER03's missed fill", c.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "F", tag.ClOrdID: "S3", tag.LastQty: "4", tag.PossResend: "Y"})
	c.Send("F", tag.OrigClOrdID, "S3", tag.ClOrdID, "XS3", tag.Symbol, "AAPL", tag.Side, "2")
	expect(t, "BROKER03 cancel", c.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "4", tag.OrigClOrdID: "S3", tag.LeavesQty: "0"})
}

// A session may not take the CompID of a firm's named account the
// journal binds: the start is refused, naming both.
func TestSessionNamedAsABoundFirmAccountIsRefused(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01", "BROKER02")
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01"}, Accounts: []string{"ACC-A"}}}
	if err := startCfg(t, cfg).Stop(); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, venueWith(dir, addr, "BROKER01", "BROKER02", "ACC-A"), "fix.sessions[2] ACC-A", "account 1024", "named account")
}

// discard is a Publisher that drops every event: a node started with it
// opens no FIX port and binds no account, as the code before bindings
// wrote its journals.
type discard struct{}

func (discard) Publish(*matcher.Event) {}

// A journal without bindings (written before they existed) keeps its
// accounts at the config's positions and is bound on the first start;
// from then on the list may be reordered.
func TestJournalWithoutBindingsIsBoundByPosition(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01", "BROKER02")
	old, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	for i, clOrdID := range []string{"OLD1", "OLD2"} { // accounts 1 and 2
		id, _ := matcher.MakeClOrdID(clOrdID)
		cmd := matcher.Command{Kind: matcher.KindNew, Account: uint32(i + 1), Symbol: 1, Side: matcher.Sell, Type: matcher.Limit,
			TIF: matcher.GTC, Price: 10100, Qty: 10, ClOrdID: id}
		if err := old.Submit(&cmd); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Stop(); err != nil {
		t.Fatal(err)
	}

	n := startCfg(t, cfg)
	cancelOwn(t, addr, "BROKER02", "OLD2")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n = startCfg(t, venueWith(dir, addr, "BROKER02", "BROKER01"))
	defer n.Stop()
	cancelOwn(t, addr, "BROKER01", "OLD1")
}

// The bindings reach a standby in the replication stream, and a standby
// restarted with its sessions reordered and one added keeps them: when
// promoted it serves BROKER01 and BROKER02 at their accounts, binds
// BROKER03 to the next one, and BROKER03 trades with the resting order
// BROKER01 placed on the old primary, whose fill reaches BROKER01.
func TestStandbyGetsTheBindings(t *testing.T) {
	var logs logLines
	cfgP := replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	cfgP.FIX.Sessions = venueWith("", "", "BROKER01", "BROKER02").FIX.Sessions
	p, err := node.Start(cfgP, node.Options{Log: logtest.Named(t, "P")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	cfgS := replCfg(t.TempDir(), "standby", p.ReplicationAddr().String())
	cfgS.FIX.Listen = fixtest.FreeAddr(t)
	standby := func(compIDs ...string) *node.Node {
		cfgS.FIX.Sessions = venueWith("", "", compIDs...).FIX.Sessions
		s, err := node.Start(cfgS, node.Options{Log: logs.Tee(t, "S").Logger()})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the standby has the primary's journal", func() bool { return lastSeq(s) == lastSeq(p) && lastSeq(s) >= 2 })
		return s
	}

	s := standby("BROKER02", "BROKER01")
	// A sync primary acknowledges only what its standby has.
	c := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	c.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "1")
	expect(t, "resting sell", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	waitUntil(t, "the standby has the order", func() bool { return lastSeq(s) == lastSeq(p) })
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	s = standby("BROKER03", "BROKER02", "BROKER01")
	defer s.Stop()
	c.Close()
	p.Stop()
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	b1 := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b3 := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	b3.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "0")
	expect(t, "BROKER03 accepted", b3.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	expect(t, "BROKER03 fills against BROKER01's order", b3.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "10"})
	if got := reportsUntil(t, "BROKER01", b1, "S1", "F"); got[len(got)-1][tag.LastQty] != "10" {
		t.Errorf("BROKER01's fill: %v", got[len(got)-1])
	}
	if !logs.has("bound accounts to their sessions' CompIDs in the journal", " accounts=1 ", " first_account=3 ", " first_name=BROKER03") {
		t.Error("the promoted standby did not log binding BROKER03 to account 3")
	}
}

// TestFailedAutomaticPromotionStopsTheNode: a standby whose config
// contradicts the journal's account bindings (here it lacks the firm
// whose named account the primary bound) cannot be promoted (accounts.go
// refuses it). When its primary dies and the standby's automatic
// failover tries, the promotion fails; the node must then stop on its
// own (Done), so that `ringex serve` (node.Run) exits non-zero naming
// why, instead of running on as a failed node that is neither standby
// nor primary.
func TestFailedAutomaticPromotionStopsTheNode(t *testing.T) {
	cfgP := replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	cfgP.FIX.Sessions = venueWith("", "", "BROKER01", "BROKER02").FIX.Sessions
	cfgP.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01"}, Accounts: []string{"ACC-A"}}}
	p, err := node.Start(cfgP, node.Options{Log: logtest.Named(t, "P")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	cfgS := replCfg(t.TempDir(), "standby", p.ReplicationAddr().String())
	cfgS.FIX.Listen = fixtest.FreeAddr(t)
	cfgS.FIX.Sessions = venueWith("", "", "BROKER02", "BROKER01").FIX.Sessions
	cfgS.Replication.FailoverMs = 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan *node.Node, 4)
	ran := make(chan error, 1)
	go func() {
		ran <- node.Run(ctx, cfgS, node.RunOptions{Options: node.Options{Log: logtest.Named(t, "S")},
			Serving: func(n *node.Node) func() { served <- n; return func() {} }})
	}()
	var s *node.Node
	select {
	case s = <-served:
	case err := <-ran:
		t.Fatalf("the standby did not start: %v", err)
	case <-time.After(wait):
		t.Fatal("the standby did not start")
	}
	waitUntil(t, "the standby has the bindings", func() bool {
		st, _ := s.ReplicationStats()
		return st.InSync && lastSeq(s) == lastSeq(p) && lastSeq(s) >= 3
	})
	st, _ := p.ReplicationStats()
	p.Stop() // the primary dies; the standby promotes itself and is refused

	select {
	case err := <-ran:
		if err == nil {
			t.Fatal("Run returned nil after a failed promotion")
		}
		t.Logf("Run ended: %v", err)
	case <-time.After(2 * wait):
		t.Fatalf("the standby's promotion failed (node error: %v), but the node neither stopped on its own (Done) nor served: node.Run still runs", s.Err())
	}
	// Refused before anything changed: no epoch of its own began, so the
	// standby can follow again once its config is put right.
	h, err := replica.LoadHistory(cfgS.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if h.Current() != st.Epoch {
		t.Errorf("the refused standby is at epoch %d, its primary was at %d: the promotion began an epoch before the account check", h.Current(), st.Epoch)
	}
}
