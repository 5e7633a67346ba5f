package node_test

import (
	"context"
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

// restGTC has broker rest a GTC order over its own FIX session and stops
// the exchange while it is still logged on (no cancel-on-disconnect).
func restGTC(t *testing.T, n *node.Node, addr, broker, clOrdID, side, px string) {
	t.Helper()
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, broker, "RINGEX")
	c.Send("D", tag.ClOrdID, clOrdID, tag.Symbol, "AAPL", tag.Side, side, tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, px, tag.TimeInForce, "1")
	expect(t, broker+" new", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: clOrdID})
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

// Two sessions swapped in the config would give each broker the other's
// resting orders: the start is refused, naming both CompIDs and both
// accounts. Put back, BROKER01's order is still BROKER01's.
func TestSwappedSessionsAreRefused(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01", "BROKER02", "BROKER03")
	restGTC(t, startCfg(t, cfg), addr, "BROKER01", "S1", "2", "101")

	swapped := venueWith(dir, addr, "BROKER02", "BROKER01", "BROKER03")
	wantRefused(t, swapped, "BROKER01", "BROKER02", "account 1", "account 2")

	n := startCfg(t, cfg)
	defer n.Stop()
	cancelOwn(t, addr, "BROKER01", "S1")
}

// A session added at the end of the list gets the next account and trades.
func TestSessionAppendedAtTheEndTrades(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	restGTC(t, startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02")), addr, "BROKER01", "S1", "2", "101")

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
// still trades as its own, and no later session may take the account.
func TestRemovedSessionKeepsItsAccount(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	restGTC(t, startCfg(t, venueWith(dir, addr, "BROKER01", "BROKER02", "BROKER03")), addr, "BROKER03", "S3", "2", "101")

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

	wantRefused(t, venueWith(dir, addr, "BROKER01", "BROKER02", "NEWBROKER"), "NEWBROKER", "BROKER03", "account 3")

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

// discard is a Publisher that drops every event: a node started with it
// opens no FIX port and binds no account, as the code before bindings
// wrote its journals.
type discard struct{}

func (discard) Publish(*matcher.Event) {}

// A journal without bindings (written before they existed) keeps its
// accounts at the config's positions and is bound on the first start.
func TestJournalWithoutBindingsIsBoundByPosition(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01", "BROKER02")
	old, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := matcher.MakeClOrdID("OLD2")
	cmd := matcher.Command{Kind: matcher.KindNew, Account: 2, Symbol: 1, Side: matcher.Sell, Type: matcher.Limit,
		TIF: matcher.GTC, Price: 10100, Qty: 10, ClOrdID: id}
	if err := old.Submit(&cmd); err != nil {
		t.Fatal(err)
	}
	if err := old.Stop(); err != nil {
		t.Fatal(err)
	}

	n := startCfg(t, cfg)
	cancelOwn(t, addr, "BROKER02", "OLD2")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, venueWith(dir, addr, "BROKER02", "BROKER01"), "BROKER01", "BROKER02", "account 1", "account 2")
}

// The bindings reach a standby in the replication stream: one whose config
// swaps two sessions is refused at promotion, naming both; one whose
// config adds a session at the end binds it when promoted, and that
// broker trades with a resting order the old primary took.
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
	standby := func(compIDs ...string) (*node.Node, config.Config) {
		cfgS := replCfg(t.TempDir(), "standby", p.ReplicationAddr().String())
		cfgS.FIX.Listen = fixtest.FreeAddr(t)
		cfgS.FIX.Sessions = venueWith("", "", compIDs...).FIX.Sessions
		s, err := node.Start(cfgS, node.Options{Log: logs.Tee(t, "S").Logger()})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the standby has the primary's journal", func() bool { return lastSeq(s) == lastSeq(p) && lastSeq(s) >= 2 })
		return s, cfgS
	}

	swapped, _ := standby("BROKER02", "BROKER01")
	// A sync primary acknowledges only what its standby has.
	c := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	c.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "1")
	expect(t, "resting sell", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	defer c.Close()
	waitUntil(t, "the standby has the order", func() bool { return lastSeq(swapped) == lastSeq(p) })
	_, err = swapped.Promote()
	swapped.Stop()
	if err == nil || !strings.Contains(err.Error(), "BROKER01") || !strings.Contains(err.Error(), "BROKER02") ||
		!strings.Contains(err.Error(), "account 1") || !strings.Contains(err.Error(), "account 2") {
		t.Fatalf("a standby with swapped sessions was promoted or refused without naming both: %v", err)
	}

	s, cfgS := standby("BROKER01", "BROKER02", "BROKER03")
	defer s.Stop()
	c.Close()
	p.Stop()
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	b3 := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	b3.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "0")
	expect(t, "BROKER03 accepted", b3.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	expect(t, "BROKER03 fills against BROKER01's order", b3.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "10"})
	if !logs.has("bound accounts to their sessions' CompIDs", " accounts=1 ") {
		t.Error("the promoted standby did not log binding BROKER03")
	}
}

// TestFailedAutomaticPromotionStopsTheNode: a standby whose sessions
// contradict the journal's account bindings (here swapped) cannot be
// promoted (accounts.go refuses it). When its primary dies and the
// standby's automatic failover tries, the promotion fails; the node must
// then stop on its own (Done), so that `ringex serve` (node.Run) exits
// non-zero naming why, instead of running on as a failed node that is
// neither standby nor primary.
func TestFailedAutomaticPromotionStopsTheNode(t *testing.T) {
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
		return st.InSync && lastSeq(s) == lastSeq(p) && lastSeq(s) >= 2
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
