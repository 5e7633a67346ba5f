package gateway_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

const (
	stpInstruction = quickfix.Tag(2964) // SelfMatchPreventionInstruction
	stpID          = quickfix.Tag(2362) // SelfMatchPreventionID
	accA, accB     = 1024, 1025         // firm FIRM1's named accounts' ids
)

// startFirms runs a venue with one firm, FIRM1, owning sessions BROKER01
// and BROKER02 and accounts ACC-A and ACC-B, whose self-trade prevention
// is cancelNewest with scope account; BROKER42 is in no firm. The
// engine's bindings name every account, as the node journals them.
func startFirms(t *testing.T) *exchange {
	t.Helper()
	firm := map[string]uint32{"ACC-A": accA, "ACC-B": accB}
	opts := gateway.Options{Sessions: []gateway.Session{
		{BeginString: "FIX.4.4", TargetCompID: "BROKER01", Accounts: firm},
		{BeginString: "FIX.4.4", TargetCompID: "BROKER02", Accounts: firm},
		{BeginString: "FIX.4.2", TargetCompID: "BROKER42"},
	}}
	names := []string{"BROKER01", "BROKER02", "ACC-A", "ACC-B"}
	mc := matcher.Config{Firms: []matcher.FirmSTP{{Scope: matcher.STPScopeAccount, Names: names}}}
	for _, n := range names {
		mc.NamedSTP = append(mc.NamedSTP, matcher.NamedSTP{Name: n, Mode: matcher.STPCancelIncoming})
	}
	var binds []matcher.Command
	for _, b := range []matcher.AccountBinding{{Account: 1, Name: "BROKER01"}, {Account: 2, Name: "BROKER02"},
		{Account: 3, Name: "BROKER42"}, {Account: accA, Name: "ACC-A"}, {Account: accB, Name: "ACC-B"}} {
		c, err := b.Command()
		if err != nil {
			t.Fatal(err)
		}
		binds = append(binds, c)
	}
	x, addr := startEngine(t, opts, mc, binds)
	x.addr = addr
	return x
}

// logOn logs the session begin/sender on to x's FIX address; it closes
// when the test ends.
func logOn(t *testing.T, x *exchange, begin, sender string) *fixtest.Client {
	t.Helper()
	c := fixtest.Dial(t, x.addr, begin, sender, "RINGEX")
	t.Cleanup(c.Close)
	return c
}

// firmOrderS1Resting starts the firms exchange, logs BROKER01 on, and rests
// its sell S1 of 10 AAPL at 10.00 for account ACC-A.
func firmOrderS1Resting(t *testing.T) (*exchange, *fixtest.Client) {
	t.Helper()
	x := startFirms(t)
	a := logOn(t, x, "FIX.4.4", "BROKER01")
	a.Send("D", tag.ClOrdID, "S1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00")
	check(t, "new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
	return x, a
}

// TestFirmAccounts: over real FIX sessions, an order names its firm's
// account with Account (1); reports go to the session that sent it, risk
// and self-trade prevention act on the account; an account the session
// may not use is rejected, naming it, and changes nothing.
func TestFirmAccounts(t *testing.T) {
	x := startFirms(t)
	a := logOn(t, x, "FIX.4.4", "BROKER01")
	b := logOn(t, x, "FIX.4.4", "BROKER02")
	c := logOn(t, x, "FIX.4.2", "BROKER42")

	t.Run("order_for_a_firm_account_goes_to_its_session", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "S1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
		cmds := x.commands()
		if got := cmds[len(cmds)-1]; got.Account != 1 || got.Owner != accA {
			t.Errorf("command: session account %d, owner %d; want 1, %d", got.Account, got.Owner, accA)
		}
	})
	t.Run("same_account_from_another_session_of_the_firm_is_a_self_trade", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
		check(t, "cancelled", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "B1", tag.Text: "self-trade prevention"})
	})
	t.Run("another_account_of_the_firm_trades_with_scope_account", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B2", tag.Account, "ACC-B", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "4", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B2"})
		check(t, "taker fill", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "B2", tag.LastQty: "4"})
		check(t, "maker fill to the session that sent it", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "S1", tag.LastQty: "4"})
	})
	t.Run("an_account_the_session_may_not_use_is_rejected", func(t *testing.T) {
		n := len(x.orders())
		a.Send("D", tag.ClOrdID, "X1", tag.Account, "OTHER", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "rejected", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdStatus: "8", tag.ClOrdID: "X1",
			tag.Text: "account OTHER may not be used by session BROKER01"})
		c.Send("D", tag.ClOrdID, "X2", tag.HandlInst, "1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "rejected, no firm", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "X2",
			tag.Text: "account ACC-A may not be used by session BROKER42"})
		if m := len(x.orders()); m != n {
			t.Errorf("%d orders reached the exchange, want none (only the journaled refusal)", m-n)
		}
	})
	t.Run("own_compid_as_account_is_the_sessions_own", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "O1", tag.Account, "BROKER01", tag.Symbol, "IBM", tag.Side, "2", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "50.00")
		check(t, "new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "O1"})
		cmds := x.commands()
		if got := cmds[len(cmds)-1]; got.Owner != 0 || got.OwnerID() != 1 {
			t.Errorf("owner %d (id %d), want 0 (the session's own, 1)", got.Owner, got.OwnerID())
		}
	})
	t.Run("replace_for_another_account_is_refused", func(t *testing.T) {
		a.Send("G", tag.OrigClOrdID, "S1", tag.ClOrdID, "S1b", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "8", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "cancel reject", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "S1b", tag.OrigClOrdID: "S1"})
		a.Send("G", tag.OrigClOrdID, "S1", tag.ClOrdID, "S1c", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "8", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "replaced", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "5", tag.ClOrdID: "S1c", tag.OrderQty: "8", tag.LeavesQty: "4"})
	})
}

// TestSTPGroupsOverFIX: SelfMatchPreventionID (2362) on a NewOrderSingle
// over real FIX: two orders of FIRM1 in the same group never trade (the
// firm's mode, cancelNewest, cancels the incoming one), orders in
// different groups trade; a group that is not a positive integer is
// rejected with a Text.
func TestSTPGroupsOverFIX(t *testing.T) {
	x := startFirms(t)
	a := logOn(t, x, "FIX.4.4", "BROKER01")
	b := logOn(t, x, "FIX.4.4", "BROKER02")

	a.Send("D", tag.ClOrdID, "S1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00", stpID, "7")
	check(t, "group 7 rests", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
	if cmds := x.commands(); cmds[len(cmds)-1].STPGroup != 7 {
		t.Errorf("STP group %d, want 7", cmds[len(cmds)-1].STPGroup)
	}
	t.Run("same_group_of_the_firm_is_prevented", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B1", tag.Account, "ACC-B", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "3", tag.OrdType, "2", tag.Price, "10.00", stpID, "7")
		check(t, "new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
		check(t, "cancelled", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "B1", tag.Text: "self-trade prevention"})
	})
	t.Run("another_group_trades", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B2", tag.Account, "ACC-B", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "3", tag.OrdType, "2", tag.Price, "10.00", stpID, "8")
		check(t, "new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B2"})
		check(t, "taker fill", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "B2", tag.LastQty: "3"})
		check(t, "maker fill", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "S1", tag.LastQty: "3"})
	})
	t.Run("a_group_that_is_not_a_positive_integer_is_rejected", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B3", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "3", tag.OrdType, "2", tag.Price, "10.00", stpID, "x1")
		check(t, "rejected", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "B3",
			tag.Text: "SelfMatchPreventionID x1 is not a positive integer below 4294967296"})
	})
}

// TestReplaceSTPModeOverFIX: SelfMatchPreventionInstruction (2964) on an
// OrderCancelReplaceRequest applies to that replace's matching, as on a
// new order: the account's mode (cancelNewest) would cancel the replaced
// buy; the replace's own, 2 (cancel resting), cancels the resting sell.
func TestReplaceSTPModeOverFIX(t *testing.T) {
	x := startFirms(t)
	a := logOn(t, x, "FIX.4.4", "BROKER01")
	a.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.10")
	check(t, "sell rests", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
	a.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "9.90")
	check(t, "buy rests", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
	a.Send("G", tag.OrigClOrdID, "B1", tag.ClOrdID, "B2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.10", stpInstruction, "2")
	check(t, "replaced", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "5", tag.ClOrdID: "B2", tag.Price: "10.10"})
	check(t, "resting sell cancelled", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "S1", tag.Text: "self-trade prevention"})
	if cmds := x.commands(); cmds[len(cmds)-1].STP != uint8(matcher.STPCancelResting)+1 {
		t.Errorf("replace STP %d, want %d", cmds[len(cmds)-1].STP, uint8(matcher.STPCancelResting)+1)
	}
	a.Send("G", tag.OrigClOrdID, "B2", tag.ClOrdID, "B3", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.10", stpInstruction, "9")
	got := check(t, "bad instruction", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "B3"})
	if got[tag.Text] == "" {
		t.Error("the cancel reject names no reason")
	}
}
