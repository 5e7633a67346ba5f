package node_test

import (
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestEndOfDayOverFIX: the operator ends the trading day. The broker's
// resting Day order is reported expired (ExecType C), its GTC order is not
// and still refuses its ClOrdID; ids used the day before are accepted
// again; and a restart keeps the new day's ids, not the old day's.
func TestEndOfDayOverFIX(t *testing.T) {
	dir := t.TempDir()
	addr := fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)
	b := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")

	newOrder := func(cl, tif, px string) {
		b.Send("D", tag.ClOrdID, cl, tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
			tag.OrdType, "2", tag.Price, px, tag.TimeInForce, tif)
	}
	newOrder("DAY1", "0", "100")
	dayNew := expect(t, "day order new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "DAY1"})
	newOrder("GTC1", "1", "99")
	expect(t, "gtc order new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "GTC1"})
	// A cancel of an order nobody has: only the gateway remembers its ClOrdID.
	b.Send("F", tag.OrigClOrdID, "NOPE", tag.ClOrdID, "OLD1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "unknown cancel", b.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "OLD1"})

	if _, err := n.EndOfDay(); err != nil {
		t.Fatalf("end of day: %v", err)
	}
	expect(t, "day order expired", b.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "C", tag.OrdStatus: "C", tag.ClOrdID: "DAY1", tag.OrderID: dayNew[tag.OrderID],
		tag.CumQty: "0", tag.LeavesQty: "0", tag.Text: "day order expired at the end of the trading day",
	})
	b.Quiet(300 * time.Millisecond) // nothing for the GTC order

	// The new day: yesterday's ids are fresh, the live GTC order's is not.
	newOrder("DAY1", "0", "98")
	expect(t, "expired order's id reused", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "DAY1"})
	newOrder("GTC1", "0", "97")
	expect(t, "live GTC order's id refused", b.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "8", tag.ClOrdID: "GTC1", tag.Text: "duplicate ClOrdID",
	})
	// Used today on a cancel the matcher refused: only the gateway knows it.
	b.Send("F", tag.OrigClOrdID, "NOPE", tag.ClOrdID, "NEW1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "unknown cancel today", b.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "NEW1"})

	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	b.Close()

	// After a restart the used set is the new day's, rebuilt from the
	// journal from the end-of-day record on.
	n = startNode(t, dir, addr)
	defer n.Stop()
	b = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b.Close()
	newOrder("NEW1", "0", "96")
	expect(t, "today's id refused after restart", b.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "8", tag.ClOrdID: "NEW1", tag.Text: "duplicate ClOrdID NEW1",
	})
	newOrder("OLD1", "0", "96")
	expect(t, "yesterday's id accepted after restart", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "OLD1"})
}
