package gateway_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

// TestRejectIsSentOnlyOnceDurable: the gateway's own refusal of a new
// order (an unknown symbol, longer than a record keeps) is submitted as
// a KindReject record and reported only when the record is published
// (durable), not when the gateway refuses it: while the exchange holds
// the record, the broker has nothing; once released, it gets the
// ExecutionReport, with the record's ExecID and the symbol cut to what
// the record keeps, the Text saying so.
func TestRejectIsSentOnlyOnceDurable(t *testing.T) {
	x, addr := start(t, gateway.Options{})
	x.mu.Lock()
	x.holding = true
	x.mu.Unlock()
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	long := "NOPE-A-SYMBOL-FAR-LONGER-THAN-A-RECORD-KEEPS"
	a.Send("D", tag.ClOrdID, "BAD1", tag.Symbol, long, tag.Side, "1", tag.OrdType, "2", tag.Price, "1", tag.OrderQty, "1")
	var rec matcher.Command
	for i := 0; i < 1000; i++ { // at most 10 s
		if cmds := x.commands(); len(cmds) > 0 {
			rec = cmds[0]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r, ok := matcher.GatewayRejectOf(&rec)
	if !ok || r.Request != 'D' || r.Reason != matcher.ReasonUnknownSymbol || r.ClOrdID.String() != "BAD1" ||
		string(r.ValueBytes()) != long[:matcher.RejectValueLen] || r.Cut != matcher.CutValue {
		t.Fatalf("submitted %+v (%+v, %v), want the refusal's KindReject record", rec, r, ok)
	}
	// The refusal ran on the session's goroutine before Submit returned;
	// a report sent there would be on its way already.
	time.Sleep(100 * time.Millisecond)
	if got := a.Drain(); len(got) != 0 {
		t.Fatalf("the broker got %v before its refusal was durable", got)
	}
	x.release()
	check(t, "the refusal, once durable", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "8",
		tag.OrdStatus: "8", tag.ClOrdID: "BAD1", tag.OrderID: "NONE", tag.Side: "1", tag.Symbol: long[:matcher.RejectValueLen],
		tag.ExecID: strconv.FormatInt(rec.Seq*matcher.ExecIDStride, 10), tag.Text: "unknown symbol " + long[:matcher.RejectValueLen] + "..."})
}

// TestRejectWhenTheRingTakesNothing: with the exchange refusing input
// (stopping), a refusal cannot be journaled either: the broker gets it
// at once, unjournaled, with its own text and an R ExecID, and an order
// that passes the gateway's checks is refused "not accepting".
func TestRejectWhenTheRingTakesNothing(t *testing.T) {
	x, addr := start(t, gateway.Options{})
	x.mu.Lock()
	x.refusing = errors.New("stopping")
	x.mu.Unlock()
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	a.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "10.001", tag.OrderQty, "1")
	got := check(t, "price off the tick", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "B1",
		tag.Text: "Price 10.001 is not a positive multiple of the tick size (nor too large)"})
	if id := got[tag.ExecID]; len(id) < 2 || id[0] != 'R' {
		t.Errorf("ExecID %q, want R and a number (not journaled)", id)
	}
	a.Send("F", tag.ClOrdID, "C1", tag.OrigClOrdID, "B0", tag.Symbol, "AAPL", tag.Side, "1")
	check(t, "cancel", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "C1", tag.OrigClOrdID: "B0",
		tag.Text: "exchange is not accepting orders"})
	a.Send("q", tag.ClOrdID, "M1", tag.MassCancelRequestType, "7")
	check(t, "mass cancel", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M1", tag.MassCancelResponse: "0",
		tag.Text: "exchange is not accepting requests"})
	if n := len(x.commands()); n != 0 {
		t.Errorf("%d commands recorded, want none", n)
	}
}

// TestRefusedMassCancelLeavesItsClOrdIDUnused: a refused message claims
// no ClOrdID. BROKER01's mass cancel M0 for unlisted ZZZZ, then M0 with an
// unsupported MassCancelRequestType, are refused for those; M0 for all
// orders is then taken, and a fourth M0 is refused as a duplicate.
func TestRefusedMassCancelLeavesItsClOrdIDUnused(t *testing.T) {
	_, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	a.Send("q", tag.ClOrdID, "M0", tag.MassCancelRequestType, "1", tag.Symbol, "ZZZZ")
	check(t, "unknown symbol", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M0",
		tag.MassCancelResponse: "0", tag.MassCancelRejectReason: "1"})
	a.Send("q", tag.ClOrdID, "M0", tag.MassCancelRequestType, "3")
	check(t, "unsupported type", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M0",
		tag.MassCancelResponse: "0", tag.MassCancelRejectReason: "0"})
	a.Send("q", tag.ClOrdID, "M0", tag.MassCancelRequestType, "7")
	check(t, "taken", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M0",
		tag.MassCancelResponse: "7", tag.TotalAffectedOrders: "0"})
	a.Send("q", tag.ClOrdID, "M0", tag.MassCancelRequestType, "7")
	check(t, "duplicate", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M0",
		tag.MassCancelResponse: "0", tag.MassCancelRejectReason: "99", tag.Text: "duplicate ClOrdID M0"})
}

// TestRejectWithALaterWhyCodeIsReported: a gateway refusal's Why
// is journaled, and "a new one goes at the end" (gateway/reject.go
// rejectWhy): a journal written by a later build, replayed by this one
// (a standby in a rolling upgrade, a rollback, a promotion rebuilding
// reports), can hold a Why this build does not know: its report names
// the reason (rejectText) and echoes no symbol (RejectSymbol). Here the
// record of BROKER01's refused order for unlisted NOPE carries Why 200;
// BROKER01 must get an ExecutionReport Rejected naming the reason, and
// nothing may panic.
func TestRejectWithALaterWhyCodeIsReported(t *testing.T) {
	x, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonUnknownSymbol, Why: 200, Side: '1'}
	copy(r.ClOrdID[:], "BAD1")
	copy(r.Value[:], "NOPE")
	cmd := r.Command()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("publishing the record of a refusal with Why 200 panicked: %v", p)
			}
		}()
		if err := x.Submit(&cmd); err != nil {
			t.Fatal(err)
		}
	}()
	check(t, "the refusal with a later Why", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "8",
		tag.OrdStatus: "8", tag.ClOrdID: "BAD1", tag.OrdRejReason: "1"})
}
