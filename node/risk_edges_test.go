package node_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// Limits: docs/config.md says of risk.limits.maxOrderNotional "a market
// order counts at its symbol's protection price (none: not limited)". AAPL
// has a protection price of 200.00 and the limit is 10 000.00, so a market
// order of 100 lots (20 000.00) is over it on either side: both are
// Rejected with OrdRejReason 3 and a Text naming maxOrderNotional. Only the
// buy trades no worse than the protection price (its journaled Price); the
// sell's notional is counted at it all the same (checkNew).
func TestMarketSellOverNotionalAtProtectionPrice(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	defer n.Stop()
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()

	refused(t, b1, "market buy of 100 at protection 200.00 = 20 000.00", "MB", "AAPL", "1", "100", "1", "", "3", "maxOrderNotional")
	refused(t, b1, "market sell of 100 at protection 200.00 = 20 000.00", "MS", "AAPL", "2", "100", "1", "", "3", "maxOrderNotional")
}

// cashOf reads the cash and its hold from 'account show' of compID.
func cashOf(t *testing.T, n *node.Node, compID string) (cash, held float64, show string) {
	t.Helper()
	show, err := n.AccountShow(compID)
	m := regexp.MustCompile(` cash (-?[0-9.]+) held (-?[0-9.]+)`).FindStringSubmatch(show)
	if err != nil || m == nil {
		t.Fatalf("account show %s: %q, %v", compID, show, err)
	}
	cash, _ = strconv.ParseFloat(m[1], 64)
	held, _ = strconv.ParseFloat(m[2], 64)
	return cash, held, show
}

// showUntil asks for compID's 'account show' until ok says it is what
// the test waits for, at most wait.
func showUntil(t *testing.T, n *node.Node, compID string, ok func(string) bool) {
	t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		show, err := n.AccountShow(compID)
		if err == nil && ok(show) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("account show %s = %q, %v: not what the test waits for", compID, show, err)
		}
	}
}

// Spot balances, over FIX (the scenario of
// risk.TestReplaceAfterAFeeCutNeverHoldsMoreThanTheCash): BROKER01 rests a
// GTC buy of 1 AAPL at 100.00 under risk.feeBps 100 (it holds 101.00). The
// venue restarts with the fee cut to 0. BROKER01 has 20 000.00 free and
// amends the buy to 200 lots at 100.00, which costs exactly 20 000.00 now.
// The amend is refused for cash or accepted holding what the order will
// pay: never more held than the account has, and no negative cash once
// BROKER02 sells into it (the replace's terms pay the fee in force at it,
// reserved and settled alike).
func TestReplaceAfterAFeeCutOverFIX(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Limits, cfg.Risk.Accounts, cfg.Risk.FeeBps = config.RiskLimits{}, nil, 100
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "BROKER01", "cash", "20101")
	mustFunds(t, n, false, "BROKER02", "AAPL", "200")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	rests(t, b1, "GTC buy of 1 at 100.00 under 100 bps", "B1", "AAPL", "1", "1", "100.00")
	wantShow(t, n, "BROKER01", "openOrders 1 cash 20101.00 held 101.00")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Risk.FeeBps = 0
	n = startCfg(t, cfg)
	defer n.Stop()
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b1.Send("G", tag.OrigClOrdID, "B1", tag.ClOrdID, "B2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "200",
		tag.OrdType, "2", tag.Price, "100.00", tag.TimeInForce, "1")
	if f := fixtest.Fields(b1.Next(wait)); f[tag.MsgType] != "8" || f[tag.ExecType] != "5" {
		return // refused: what the broker may expect
	}
	// The report goes out before the settle step moves the hold.
	showUntil(t, n, "BROKER01", func(show string) bool { return !strings.Contains(show, "held 101.00") })
	if cash, held, show := cashOf(t, n, "BROKER01"); held > cash {
		t.Errorf("after the amend to 200 lots: %q: more held than the account has", show)
	}
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "200", tag.OrdType, "2", tag.Price, "100.00")
	reportsUntil(t, "BROKER01's fill", b1, "B2", "F")
	showUntil(t, n, "BROKER01", func(show string) bool { return strings.Contains(show, "openOrders 0 ") })
	if cash, _, show := cashOf(t, n, "BROKER01"); cash < 0 {
		t.Errorf("after BROKER02 filled the amended buy: %q: negative cash", show)
	}
}

// A replace is judged on the difference: BROKER02 holds 10 AAPL and offers
// all 10 (a GTC sell holding the 10). It amends the offer DOWN to 5 lots,
// at the same price: the order would hold less, never more, so the amend is
// accepted (ExecType Replaced, LeavesQty 5) and 5 lots are released, though
// nothing is free. The check's first bound (the whole new quantity on top
// of the order's hold) refuses it; decided again on the exact state
// (risk.State.CheckExact) it needs nothing more. A cancel and a new order
// would drop the order's time priority, which a pure quantity decrease
// keeps in the matcher.
func TestAmendDownWithEverythingHeld(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, spotVenue(dir, addr))
	defer n.Stop()
	mustFunds(t, n, false, "BROKER02", "AAPL", "10")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	rests(t, b2, "GTC sell of all 10", "S1", "AAPL", "2", "10", "100.00")
	wantShow(t, n, "BROKER02", "AAPL 10 held 10")
	b2.Send("G", tag.OrigClOrdID, "S1", tag.ClOrdID, "S2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5",
		tag.OrdType, "2", tag.Price, "100.00", tag.TimeInForce, "1")
	got := fixtest.Fields(b2.Next(wait))
	if got[tag.MsgType] != "8" || got[tag.ExecType] != "5" || got[tag.ClOrdID] != "S2" || got[tag.LeavesQty] != "5" {
		t.Fatalf("amend of the sell down to 5 lots: %v, want an ExecutionReport Replaced with LeavesQty 5", got)
	}
	wantShow(t, n, "BROKER02", "AAPL 10 held 5")
}

// Each refusal has a Text naming the limit, and an OrderCancelReject's
// OrdStatus(39) is the order's status after the reject. BROKER01's GTC buy
// B1 works (New). It amends it to 101 lots, over risk.limits.maxOrderQty
// (100), and gets an OrderCancelReject naming the limit that says the order
// still works: 39=0 and OrderID(37) the order's, as the matcher's own
// replace refusals do (an amend that changes the side gets 39=0 here); B1
// then cancels as a working order.
func TestRiskRefusedAmendSaysTheOrderStillWorks(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	defer n.Stop()
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b1.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "1")
	orderID := expect(t, "B1 rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})[tag.OrderID]

	b1.Send("G", tag.OrigClOrdID, "B1", tag.ClOrdID, "B2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "the matcher's refusal of a side change", b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "B2",
		tag.OrdStatus: "0", tag.OrderID: orderID})

	b1.Send("G", tag.OrigClOrdID, "B1", tag.ClOrdID, "B3", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "101",
		tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "1")
	got := expect(t, "risk's refusal of an amend over maxOrderQty", b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "B3",
		tag.OrdStatus: "0", tag.OrderID: orderID})
	if !strings.Contains(got[tag.Text], "maxOrderQty") {
		t.Errorf("Text %q does not name maxOrderQty", got[tag.Text])
	}
	b1.Send("F", tag.OrigClOrdID, "B1", tag.ClOrdID, "X1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "B1 still worked: cancelled", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "X1"})
}
