package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// Drop copy: "a FIX session type that receives a copy of every
// ExecutionReport of its firm's accounts". BROKER01 sends an order for a
// symbol the venue does not list, one whose price is off the tick, and a
// cancel naming an OrigClOrdID over 24 characters; the gateway refuses each itself (an
// ExecutionReport Rejected, 150=8, or an OrderCancelReject). Its drop copy,
// DROPCOPY, logged on the whole time, gets a copy of each (797=Y on the
// ExecutionReports) before the copy of BROKER01's next, valid order's New
// (Gateway.sendReject).
func TestDropCopyGetsTheGatewaysRejects(t *testing.T) {
	cfg := dropCopyConfig(t, t.TempDir())
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	dc := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()

	b1.Send("D", tag.ClOrdID, "BAD1", tag.Symbol, "NOPE", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1")
	expect(t, "BROKER01's unknown symbol", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "BAD1"})
	b1.Send("D", tag.ClOrdID, "BAD2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "100.001", tag.OrderQty, "1")
	expect(t, "BROKER01's price off the tick", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "BAD2"})
	b1.Send("F", tag.OrigClOrdID, "AN-ORIGCLORDID-OF-30-CHARACTER", tag.ClOrdID, "X1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "BROKER01's cancel naming an OrigClOrdID longer than 24 characters", b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "X1"})
	b1.Send("D", tag.ClOrdID, "OK1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1")
	expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "OK1"})

	copies := reportsUntil(t, "DROPCOPY", dc, "OK1", "0")
	got := map[string]bool{}
	for _, f := range copies {
		// 797=Y on the ExecutionReport; FIX 4.4 defines no 797 in an OrderCancelReject.
		if (f[tag.CopyMsgIndicator] == "Y" && f[tag.ExecType] == "8") || (f[tag.CopyMsgIndicator] == "" && f[tag.MsgType] == "9") {
			got[f[tag.ClOrdID]] = true
		}
	}
	for _, id := range []string{"BAD1", "BAD2", "X1"} {
		if !got[id] {
			t.Errorf("DROPCOPY has no copy of BROKER01's reject of %s (copies before OK1's New: %v)", id, copies)
		}
	}
}
