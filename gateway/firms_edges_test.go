package gateway_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
)

// TestCancelNamingAnAccountTheSessionMayNotUse: an OrderCancelRequest (F)
// whose Account (1) names an account its session may not use is bad
// input, as on a new order or a replace: it gets an OrderCancelReject
// naming the account, and the order keeps working.
func TestCancelNamingAnAccountTheSessionMayNotUse(t *testing.T) {
	x, a := firmOrderS1Resting(t)
	n := len(x.orders())
	a.Send("F", tag.OrigClOrdID, "S1", tag.ClOrdID, "C1", tag.Account, "OTHER", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10")
	got := check(t, "cancel of an account the session may not use", a.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "C1"})
	if got[tag.MsgType] != "9" {
		t.Errorf("got MsgType %s ExecType %s OrdStatus %s, want an OrderCancelReject (9)", got[tag.MsgType], got[tag.ExecType], got[tag.OrdStatus])
	}
	if m := len(x.orders()); m != n {
		t.Errorf("%d orders reached the exchange, want none (only the journaled refusal)", m-n)
	}
}

// TestCancelNamingAnotherAccountOfTheFirm: an OrderCancelRequest (F) whose
// Account (1) is another account than the order's (ACC-B for an ACC-A
// order) does not cancel it: as for a replace (ReasonUnknownOrder), the
// account named does not have that order.
func TestCancelNamingAnotherAccountOfTheFirm(t *testing.T) {
	_, a := firmOrderS1Resting(t)
	a.Send("F", tag.OrigClOrdID, "S1", tag.ClOrdID, "C1", tag.Account, "ACC-B", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10")
	got := check(t, "cancel for ACC-B of ACC-A's order", a.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "C1"})
	if got[tag.MsgType] != "9" {
		t.Errorf("got MsgType %s ExecType %s OrdStatus %s, want an OrderCancelReject (9): the order is ACC-A's", got[tag.MsgType], got[tag.ExecType], got[tag.OrdStatus])
	}
	// It kept working: a cancel naming its own account takes it.
	a.Send("F", tag.OrigClOrdID, "S1", tag.ClOrdID, "C2", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10")
	check(t, "cancel for ACC-A", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "C2", tag.Account: "ACC-A"})
}

// TestUnknownAccountRejectReason: FIX 4.4 gives an order whose Account (1)
// the venue does not know for its sender OrdRejReason (103) 15, "Unknown
// account(s)"; FIX 4.2, which has no such value, 0 with the Text.
func TestUnknownAccountRejectReason(t *testing.T) {
	x := startFirms(t)
	a := logOn(t, x, "FIX.4.4", "BROKER01")
	c := logOn(t, x, "FIX.4.2", "BROKER42")
	a.Send("D", tag.ClOrdID, "X1", tag.Account, "OTHER", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	check(t, "FIX 4.4", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "X1", tag.OrdRejReason: "15"})
	c.Send("D", tag.ClOrdID, "X2", tag.HandlInst, "1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
	check(t, "FIX 4.2", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "X2", tag.OrdRejReason: "0"})
}
