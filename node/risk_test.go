package node_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// spotVenue is the default venue with risk mode spot: cash in cents,
// every account at most 100 lots, 10 000.00 and 3 working orders an order,
// BROKER03 at most 5 lots; AAPL market buys hold at 200.00, MSFT has no
// protection price.
func spotVenue(dir, addr string) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	cfg.Risk = config.Risk{
		Mode: config.RiskModeSpot, CashUnit: "0.01",
		Limits:     config.RiskLimits{MaxOrderQty: 100, MaxOrderNotional: 1_000_000, MaxOpenOrders: 3},
		Accounts:   []config.RiskAccount{{CompID: "BROKER03", MaxOrderQty: 5}},
		Protection: []config.RiskProtection{{Symbol: "AAPL", Price: "200.00"}},
	}
	return cfg
}

func mustFunds(t *testing.T, n *node.Node, withdraw bool, compID, asset, amount string) {
	t.Helper()
	if _, err := n.Funds(withdraw, compID, asset, amount); err != nil {
		t.Fatalf("funds %s %s %s: %v", compID, asset, amount, err)
	}
}

// wantShow checks that 'account show' of compID ends with want.
// The publish stage hands an event's report to the broker's session before
// its settle step releases what the order held, so a broker can read a
// cancel a moment before the account shows its hold released: it asks
// again until want or the wait runs out.
func wantShow(t *testing.T, n *node.Node, compID, want string) {
	t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		got, err := n.AccountShow(compID)
		if err == nil && strings.HasSuffix(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("account show %s = %q, %v; want it to end %q", compID, got, err, want)
		}
	}
}

// refused sends a new order and checks it is rejected for the limit named.
func refused(t *testing.T, c *fixtest.Client, who, clOrdID, sym, side, qty, ordType, px, rejReason, text string) map[quickfix.Tag]string {
	t.Helper()
	fields := []any{tag.ClOrdID, clOrdID, tag.Symbol, sym, tag.Side, side, tag.OrderQty, qty, tag.OrdType, ordType}
	if px != "" {
		fields = append(fields, tag.Price, px)
	}
	c.Send("D", fields...)
	got := expect(t, who, c.NextNew(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "8", tag.OrdStatus: "8",
		tag.ClOrdID: clOrdID, tag.OrdRejReason: rejReason})
	if !strings.Contains(got[tag.Text], text) {
		t.Errorf("%s: Text %q does not name %q", who, got[tag.Text], text)
	}
	return got
}

// rests sends a GTC limit order (no cancel-on-disconnect takes it) and
// checks it is accepted.
func rests(t *testing.T, c *fixtest.Client, who, clOrdID, sym, side, qty, px string) map[quickfix.Tag]string {
	t.Helper()
	c.Send("D", tag.ClOrdID, clOrdID, tag.Symbol, sym, tag.Side, side, tag.OrderQty, qty, tag.OrdType, "2", tag.Price, px, tag.TimeInForce, "1")
	return expect(t, who, c.NextNew(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "0", tag.ClOrdID: clOrdID})
}

// Each pre-trade refusal over a real FIX session: an ExecutionReport
// Rejected with OrdRejReason 3 (or 99) and a Text naming the limit; a
// trade settles cash and inventory between the two accounts; a withdrawal
// of more than is free is refused; after a restart every balance and hold
// is the same (replay, and the checkpoints' hashes verified).
func TestRiskSpotRefusalsAndSettlementOverFIX(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Snapshot.EveryCommands = 4
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "BROKER01", "cash", "10000")
	mustFunds(t, n, false, "BROKER02", "AAPL", "50")
	if _, err := n.Funds(true, "BROKER01", "cash", "10000.01"); err == nil || !strings.Contains(err.Error(), "more than is free") {
		t.Fatalf("withdrawal of more than the balance: %v", err)
	}
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	b3 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")

	refused(t, b1, "qty over maxOrderQty", "Q1", "AAPL", "1", "101", "2", "1.00", "3", "maxOrderQty")
	refused(t, b3, "qty over BROKER03's maxOrderQty", "Q3", "AAPL", "1", "6", "2", "1.00", "3", "maxOrderQty")
	refused(t, b1, "notional over maxOrderNotional", "N1", "AAPL", "1", "100", "2", "150.00", "3", "maxOrderNotional")
	rests(t, b1, "buy holding 6000.00", "B1", "AAPL", "1", "60", "100.00")
	refused(t, b1, "buy over free cash", "C1", "AAPL", "1", "50", "2", "100.00", "3", "insufficient free cash")
	refused(t, b2, "sell over free inventory", "I1", "AAPL", "2", "51", "2", "100.00", "3", "insufficient free inventory")
	refused(t, b1, "market buy without protection", "M1", "MSFT", "1", "1", "1", "", "99", "protectionPrice")
	wantShow(t, n, "BROKER01", "openOrders 1 cash 10000.00 held 6000.00")

	// A trade: BROKER02 sells 10 into BROKER01's bid.
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "99.00")
	expect(t, "seller new", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	expect(t, "seller fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "10", tag.LastPx: "100.00"})
	expect(t, "buyer fill", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "10", tag.LeavesQty: "50"})
	wantShow(t, n, "BROKER01", "openOrders 1 cash 9000.00 held 5000.00 AAPL 10 held 0")
	wantShow(t, n, "BROKER02", "openOrders 0 cash 1000.00 held 0.00 AAPL 40 held 0")

	// A market buy of AAPL holds at the protection price, and trades.
	rests(t, b2, "ask", "S2", "AAPL", "2", "5", "101.00")
	b1.Send("D", tag.ClOrdID, "MB", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "1")
	expect(t, "market buy new", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.OrdType: "1"})
	expect(t, "market buy fill", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastPx: "101.00"})
	b2.Next(wait) // the seller's fill
	wantShow(t, n, "BROKER01", "openOrders 1 cash 8495.00 held 5000.00 AAPL 15 held 0")

	// Open orders: two more working buys make three; a fourth is refused.
	rests(t, b1, "second", "O2", "MSFT", "1", "1", "1.00")
	rests(t, b1, "third", "O3", "MSFT", "1", "1", "1.00")
	refused(t, b1, "fourth working order", "O4", "MSFT", "1", "1", "2", "1.00", "3", "maxOpenOrders")
	// A cancel releases its hold and its count.
	b1.Send("F", tag.OrigClOrdID, "O3", tag.ClOrdID, "X3", tag.Symbol, "MSFT", tag.Side, "1")
	expect(t, "cancel", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4"})
	rests(t, b1, "fourth after a cancel", "O5", "MSFT", "1", "1", "1.00")
	before, _ := n.AccountShow("BROKER01")
	wantShow(t, n, "BROKER01", "openOrders 3 cash 8495.00 held 5002.00 AAPL 15 held 0")

	before2, _ := n.AccountShow("BROKER02")
	// The working orders are GTC, which no cancel-on-disconnect takes: the
	// restart rebuilds every balance, hold and open order as it was.
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	b1.Close()
	b2.Close()
	b3.Close()
	n = startCfg(t, cfg)
	defer n.Stop()
	after, _ := n.AccountShow("BROKER01")
	after2, _ := n.AccountShow("BROKER02")
	if after != before || after2 != before2 {
		t.Fatalf("before the stop: %q, %q; after the restart: %q, %q", before, before2, after, after2)
	}
	wantShow(t, n, "BROKER02", "openOrders 0 cash 1505.00 held 0.00 AAPL 35 held 0")
}

// The kill switch over real FIX sessions: blocking BROKER01 cancels its
// working orders, GTC included, in every symbol; its new orders and
// replaces are refused with a Text naming the kill switch while BROKER02
// trades on; the block survives a restart; unblocked, BROKER01 trades.
func TestKillSwitchOverFIX(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	b1.Send("D", tag.ClOrdID, "G1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "GTC rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	rests(t, b1, "GTC rests in another symbol", "D1", "MSFT", "2", "5", "20.00")

	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		expect(t, "kill switch cancel", b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "4", tag.LeavesQty: "0"})
	}
	n1 := refused(t, b1, "blocked new order", "N1", "AAPL", "1", "1", "2", "10.00", "99", "kill switch")
	rests(t, b2, "another broker trades on", "B2", "AAPL", "1", "1", "10.00")
	// The broker's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the replies expected.
	waitConfirmed(t, n, 1, execSeq(t, n1), 1)
	wantShow(t, n, "BROKER01", "blocked true (own) openOrders 0")

	b1.Close()
	b2.Close()
	n, b1 = restartBroker01(t, n, cfg, addr)
	refused(t, b1, "blocked after a restart", "N2", "AAPL", "1", "1", "2", "10.00", "99", "kill switch")
	if _, err := n.Block("BROKER01", true); err != nil {
		t.Fatal(err)
	}
	rests(t, b1, "unblocked", "N3", "AAPL", "1", "1", "10.00")
}

// Self-trade prevention per broker over real FIX: BROKER01's
// cancelNewest cancels its own crossing buy; BROKER02, on the venue's
// "none", trades with itself.
func TestSelfTradePreventionPerAccountOverFIX(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01", "BROKER02")
	cfg.Match.STPAccounts = []config.AccountSTP{{CompID: "BROKER01", Mode: config.STPCancelNewest}}
	n := startCfg(t, cfg)
	defer n.Stop()
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()

	rests(t, b1, "BROKER01 ask", "A1", "AAPL", "2", "5", "10.00")
	b1.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "BROKER01 buy new", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
	got := expect(t, "BROKER01 buy cancelled", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "B1", tag.CumQty: "0"})
	if !strings.Contains(got[tag.Text], "self-trade") {
		t.Errorf("cancel Text %q does not say self-trade prevention", got[tag.Text])
	}

	rests(t, b2, "BROKER02 ask", "A2", "MSFT", "2", "5", "10.00")
	b2.Send("D", tag.ClOrdID, "B2", tag.Symbol, "MSFT", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "BROKER02 buy new", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B2"})
	expect(t, "BROKER02 trades with itself", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "5"})
}

// A standby with risk follows its primary to the same state: balances,
// holds and refusals are decided again from the stream and reach the
// primary's state hash (which covers the risk state) and balances.
func TestRiskStandbyReachesPrimaryState(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	spot := func(cfg config.Config) config.Config {
		cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01", Limits: config.RiskLimits{MaxOpenOrders: 40}}
		return cfg
	}
	p, _ := startRepl(t, spot(replCfg(dirP, "primary", "")), &logP)
	s, _ := startRepl(t, spot(replCfg(dirS, "standby", p.ReplicationAddr().String())), &logS)
	for _, a := range []string{"BROKER01", "BROKER02", "BROKER03"} {
		mustFunds(t, p, false, a, "cash", "5")
		for _, sym := range []string{"MSFT", "GOOG", "AMZN"} {
			mustFunds(t, p, false, a, sym, "40")
		}
	}
	for i := range 300 {
		side := matcher.Buy
		if i%2 == 1 {
			side = matcher.Sell
		}
		if err := p.Submit(order(uint32(1+i%3), fmt.Sprintf("R%d", i), side, int64(1+i%5), int64(1+i%7))); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "standby has everything", func() bool { return lastSeq(p) >= 300 && lastSeq(s) == lastSeq(p) })
	// The standby's pipeline applies the last frame after it journals it:
	// wait for the balances to agree (a fixed 100 ms was too short under
	// load), then the state hashes, taken once both stopped, must too.
	var showP, showS string
	deadline := time.Now().Add(wait)
	for {
		showP, _ = p.AccountShow("BROKER01")
		showS, _ = s.AccountShow("BROKER01")
		if showP == showS || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	hp := hashOf(t, p)
	if hs := hashOf(t, s); hs != hp {
		t.Fatalf("standby state hash %016x, primary %016x", hs, hp)
	}
	if showP != showS {
		t.Fatalf("primary %q, standby %q", showP, showS)
	}
	t.Log(showP)
}

// The risk rules are journaled: a restart with a lower maxOrderQty
// replays the orders accepted before under the limit they ran under (the
// order that is now too large still works), and decides new orders by the
// new one. Fails when replay takes the limits from the config.
func TestRiskRulesAreJournaled(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01")
	cfg.Snapshot = config.Snapshot{} // replay from the first record
	cfg.Risk = config.Risk{Mode: config.RiskModeLimits, Limits: config.RiskLimits{MaxOrderQty: 10}}
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "G8", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "8", tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "1")
	g8 := expect(t, "8 lots under maxOrderQty 10", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	// The broker's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the replies expected.
	waitConfirmed(t, n, 1, execSeq(t, g8), 1)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	b1.Close()

	cfg.Risk.Limits.MaxOrderQty = 5
	n = startCfg(t, cfg)
	defer n.Stop()
	wantShow(t, n, "BROKER01", "openOrders 1")
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	refused(t, b1, "8 lots over the new maxOrderQty 5", "N8", "AAPL", "1", "8", "2", "10.00", "3", "maxOrderQty")
	b1.Send("F", tag.OrigClOrdID, "G8", tag.ClOrdID, "XG8", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "the old order still works: it cancels", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.OrigClOrdID: "G8"})
}
