package gateway_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestSelfTradePreventionPerOrder: a broker names its order's self-trade
// prevention with SelfMatchPreventionInstruction (2964) over a real FIX
// session; the venue's default (none here) would let it trade with itself.
func TestSelfTradePreventionPerOrder(t *testing.T) {
	const stpTag = quickfix.Tag(2964)
	_, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()

	t.Run("decrement_cancels_the_smaller_and_restates_the_larger", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "30", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "resting new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
		a.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "70", tag.OrdType, "2", tag.Price, "10.00", stpTag, "4")
		check(t, "incoming new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1", tag.OrderQty: "70"})
		check(t, "resting cancelled", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.OrdStatus: "4", tag.ClOrdID: "S1",
			tag.LeavesQty: "0", tag.CumQty: "0", tag.Text: "self-trade prevention"})
		check(t, "incoming restated", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "D", tag.OrdStatus: "0", tag.ClOrdID: "B1",
			tag.OrderQty: "40", tag.LeavesQty: "40", tag.CumQty: "0", tag.ExecRestatementReason: "5", tag.Text: "self-trade prevention"})
	})
	t.Run("cancel_incoming", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "S2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00", stpTag, "1")
		check(t, "new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S2"})
		check(t, "incoming cancelled", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "S2", tag.Text: "self-trade prevention"})
	})
	t.Run("unknown_instruction_rejected", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "S3", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00", stpTag, "9")
		got := check(t, "rejected", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdStatus: "8", tag.ClOrdID: "S3"})
		if want := "unsupported SelfMatchPreventionInstruction 9 (want 1 cancel incoming, 2 cancel resting, 3 cancel both or 4 decrement)"; got[tag.Text] != want {
			t.Errorf("Text %q, want %q", got[tag.Text], want)
		}
	})
	t.Run("without_instruction_the_venue_default_trades", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "S4", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "40", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "new", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S4"})
		check(t, "taker fill", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "S4", tag.LastQty: "40"})
		check(t, "maker fill", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "B1", tag.LastQty: "40", tag.LeavesQty: "0"})
	})
}
