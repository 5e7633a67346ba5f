package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// replace sends an OrderCancelReplaceRequest of orig to qty at px (AAPL
// buy) and checks the OrderCancelReject it gets: every tag of want, and a
// Text that names text.
func replace(t *testing.T, c *fixtest.Client, who, orig, clOrdID, qty, px, text string, want map[quickfix.Tag]string) {
	t.Helper()
	c.Send("G", tag.OrigClOrdID, orig, tag.ClOrdID, clOrdID, tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, qty, tag.OrdType, "2", tag.Price, px)
	want[tag.MsgType], want[tag.ClOrdID], want[tag.OrigClOrdID], want[tag.CxlRejResponseTo] = "9", clOrdID, orig, "2"
	got := expect(t, who, c.Next(wait), want)
	if !strings.Contains(got[tag.Text], text) {
		t.Errorf("%s: Text %q does not name %q", who, got[tag.Text], text)
	}
}

// spotPair starts a spotVenue where BROKER01 holds cash 1000 and BROKER02
// 10 AAPL, and logs both on over FIX; the test's cleanup logs them off
// and stops the node.
func spotPair(t *testing.T) (n *node.Node, b1, b2 *fixtest.Client) {
	t.Helper()
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n = startCfg(t, spotVenue(dir, addr))
	t.Cleanup(func() { n.Stop() })
	mustFunds(t, n, false, "BROKER01", "cash", "1000")
	mustFunds(t, n, false, "BROKER02", "AAPL", "10")
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	t.Cleanup(b1.Close)
	b2 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	t.Cleanup(b2.Close)
	return n, b1, b2
}

// A replace the risk stage refuses, of a working order, over real FIX:
// the OrderCancelReject carries the order's OrderID and its OrdStatus (1
// partially filled, 0 new), CxlRejResponseTo 2, CxlRejReason 99 and a Text
// naming the limit, as the matcher's own refusals of a replace do; the
// order works on as it was, its hold unchanged.
func TestRiskRefusedReplaceReportsTheOrderOverFIX(t *testing.T) {
	n, b1, b2 := spotPair(t)

	b1.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "100.00", tag.TimeInForce, "1")
	orderID := expect(t, "buy rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})[tag.OrderID]
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "2", tag.OrdType, "2", tag.Price, "100.00")
	expect(t, "seller new", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	expect(t, "seller fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F"})
	expect(t, "buyer fill", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LeavesQty: "3"})
	wantShow(t, n, "BROKER01", "openOrders 1 cash 800.00 held 300.00 AAPL 2 held 0")

	replace(t, b1, "replace over free cash", "B1", "R1", "20", "100.00", "insufficient free cash", map[quickfix.Tag]string{
		tag.OrderID: orderID, tag.OrdStatus: "1", tag.CxlRejReason: "99"})
	replace(t, b1, "replace over maxOrderQty", "B1", "R2", "101", "100.00", "maxOrderQty", map[quickfix.Tag]string{
		tag.OrderID: orderID, tag.OrdStatus: "1", tag.CxlRejReason: "99"})
	wantShow(t, n, "BROKER01", "openOrders 1 cash 800.00 held 300.00 AAPL 2 held 0")
	b1.Send("H", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "the order after the refused replaces", b1.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "I", tag.OrderID: orderID, tag.OrdStatus: "1", tag.Price: "100.00", tag.OrderQty: "5", tag.LeavesQty: "3"})

	rests(t, b1, "a new buy", "B2", "AAPL", "1", "1", "1.00")
	b1.Send("H", tag.ClOrdID, "B2", tag.Symbol, "AAPL", tag.Side, "1")
	id2 := expect(t, "the new buy", b1.Next(wait), map[quickfix.Tag]string{tag.OrdStatus: "0"})[tag.OrderID]
	replace(t, b1, "replace of a new order over maxOrderNotional", "B2", "R3", "100", "150.00", "maxOrderNotional", map[quickfix.Tag]string{
		tag.OrderID: id2, tag.OrdStatus: "0", tag.CxlRejReason: "99"})
}

// A replace or a cancel of an order that is not working (an unknown
// ClOrdID, an order cancelled, an order filled), from an account short of
// cash and under limits, gets the matcher's answer over real FIX: unknown
// order (CxlRejReason 1) or too late (0), as under risk mode none, never a
// risk refusal.
func TestRiskReplaceOfAnOrderNotWorkingOverFIX(t *testing.T) {
	n, b1, b2 := spotPair(t)

	rests(t, b1, "a working buy", "W1", "AAPL", "1", "1", "90.00")
	rests(t, b1, "a buy to cancel", "C1", "AAPL", "1", "1", "90.00")
	b1.Send("F", tag.OrigClOrdID, "C1", tag.ClOrdID, "X1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "cancel", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4"})
	rests(t, b1, "a buy to fill", "F1", "AAPL", "1", "1", "100.00")
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "100.00")
	expect(t, "buyer filled", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "F1", tag.LeavesQty: "0"})
	wantShow(t, n, "BROKER01", "openOrders 1 cash 900.00 held 90.00 AAPL 1 held 0")

	unknown := map[quickfix.Tag]string{tag.OrderID: "NONE", tag.OrdStatus: "8", tag.CxlRejReason: "1"}
	tooLate := map[quickfix.Tag]string{tag.OrderID: "NONE", tag.OrdStatus: "8", tag.CxlRejReason: "0"}
	for _, r := range []struct {
		who, orig, clOrdID, qty, text string
		want                          map[quickfix.Tag]string
	}{
		{"unknown ClOrdID, over free cash", "NOPE", "R1", "20", "unknown order", unknown},
		{"unknown ClOrdID, over maxOrderQty", "NOPE", "R2", "101", "unknown order", unknown},
		{"cancelled order, over free cash", "C1", "R3", "20", "already filled or cancelled", tooLate},
		{"cancelled order, over maxOrderQty", "C1", "R4", "101", "already filled or cancelled", tooLate},
		{"filled order, over free cash", "F1", "R5", "20", "already filled or cancelled", tooLate},
		{"filled order, over maxOrderNotional", "F1", "R6", "100", "already filled or cancelled", tooLate},
	} {
		want := map[quickfix.Tag]string{}
		for k, v := range r.want {
			want[k] = v
		}
		replace(t, b1, r.who, r.orig, r.clOrdID, r.qty, "150.00", r.text, want)
	}
	b1.Send("F", tag.OrigClOrdID, "NOPE", tag.ClOrdID, "X2", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "cancel of an unknown ClOrdID", b1.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "9", tag.CxlRejResponseTo: "1", tag.CxlRejReason: "1", tag.OrderID: "NONE"})
	b1.Send("F", tag.OrigClOrdID, "F1", tag.ClOrdID, "X3", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "cancel of the filled order", b1.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "9", tag.CxlRejResponseTo: "1", tag.CxlRejReason: "0"})
	wantShow(t, n, "BROKER01", "openOrders 1 cash 900.00 held 90.00 AAPL 1 held 0")
}

// status asks for clOrdID's order (AAPL buy) and checks the answer.
func status(t *testing.T, c *fixtest.Client, who, clOrdID string, want map[quickfix.Tag]string) map[quickfix.Tag]string {
	t.Helper()
	c.Send("H", tag.ClOrdID, clOrdID, tag.Symbol, "AAPL", tag.Side, "1")
	want[tag.MsgType], want[tag.ExecType], want[tag.ClOrdID] = "8", "I", clOrdID
	return expect(t, who, c.NextNew(wait), want)
}

// The answer to an OrderStatusRequest names the order's account (1) as its
// ExecutionReports did: a working, a cancelled and a filled order of the
// firm's account ACC-A, also after a restart (from a snapshot and the
// journal); an order of the session's own account names none.
func TestStatusOfAFinishedOrderNamesItsAccountOverFIX(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Snapshot.EveryCommands = 4
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	mustFunds(t, n, false, "BROKER01", "cash", "1000")
	mustFunds(t, n, false, "BROKER02", "AAPL", "1")
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")

	for _, cl := range []string{"G1", "F1"} {
		b1.Send("D", tag.ClOrdID, cl, tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2",
			tag.Price, "10.00", tag.TimeInForce, "1")
		expect(t, "ACC-A buy rests", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: cl, tag.Account: "ACC-A"})
	}
	rests(t, b1, "a buy of the session's own account", "O1", "AAPL", "1", "1", "9.00")
	status(t, b1, "working order of ACC-A", "G1", map[quickfix.Tag]string{tag.OrdStatus: "0", tag.Account: "ACC-A"})
	b1.Send("F", tag.OrigClOrdID, "G1", tag.ClOrdID, "X1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "cancel", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "X1", tag.Account: "ACC-A"})
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "ACC-A's buy filled", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "F1", tag.Account: "ACC-A", tag.LeavesQty: "0"})
	b1.Send("F", tag.OrigClOrdID, "O1", tag.ClOrdID, "X2", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "cancel of the session's own order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "X2"})

	check := func(when string) {
		t.Helper()
		status(t, b1, when+": cancelled order of ACC-A", "G1", map[quickfix.Tag]string{tag.OrdStatus: "4", tag.Account: "ACC-A"})
		status(t, b1, when+": filled order of ACC-A", "F1", map[quickfix.Tag]string{tag.OrdStatus: "2", tag.Account: "ACC-A"})
		if got := status(t, b1, when+": cancelled order of BROKER01's own account", "O1", map[quickfix.Tag]string{tag.OrdStatus: "4"}); got[tag.Account] != "" {
			t.Errorf("%s: status of an order of the session's own account names Account %q", when, got[tag.Account])
		}
	}
	check("live")
	// The broker's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the replies expected.
	confirmSession(t, n, b1, 1, "CONFIRM")
	b1.Close()
	b2.Close()
	n, b1 = restartBroker01(t, n, cfg, addr)
	check("after a restart")
}
