package node_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

const wait = 10 * time.Second

func startNode(t *testing.T, dir, addr string) *node.Node {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = addr
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start exchange: %v", err)
	}
	return n
}

// expect checks that m carries every field in want (tag → exact value) and
// returns its fields for further checks.
func expect(t *testing.T, who string, m *quickfix.Message, want map[quickfix.Tag]string) map[quickfix.Tag]string {
	t.Helper()
	got := fixtest.Fields(m)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: tag %d = %q, want %q (message %v)", who, k, got[k], v, got)
		}
	}
	return got
}

// TestOrderLifecycleAcrossRestart is the walking skeleton's proof: two
// brokers trade over real FIX sessions; every ExecutionReport field is
// checked; the rest is cancelled; after a restart on the same journal an
// order that rested before it still trades.
func TestOrderLifecycleAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	addr := fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)

	seller := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	buyer := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	execIDs := map[string]bool{}
	uniqueExec := func(f map[quickfix.Tag]string) {
		t.Helper()
		id := f[tag.ExecID]
		if id == "" || execIDs[id] {
			t.Errorf("ExecID %q empty or repeated", id)
		}
		execIDs[id] = true
	}

	// The seller rests 100 AAPL at 101.25.
	seller.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
		tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "0")
	sellNew := expect(t, "seller new", seller.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "0", tag.OrdStatus: "0", tag.ClOrdID: "S1", tag.Symbol: "AAPL",
		tag.Side: "2", tag.OrderQty: "100", tag.Price: "101.25", tag.CumQty: "0", tag.LeavesQty: "100", tag.AvgPx: "0",
	})
	uniqueExec(sellNew)
	sellOrderID := sellNew[tag.OrderID]
	if sellOrderID == "" || sellOrderID == "NONE" {
		t.Fatalf("seller's order has no OrderID: %v", sellNew)
	}

	// The buyer crosses it partly: 40 at 101.30 trades 40 at the resting 101.25.
	buyer.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "40",
		tag.OrdType, "2", tag.Price, "101.30", tag.TimeInForce, "0")
	buyNew := expect(t, "buyer new", buyer.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "0", tag.OrdStatus: "0", tag.ClOrdID: "B1", tag.CumQty: "0", tag.LeavesQty: "40",
	})
	uniqueExec(buyNew)
	buyFill := expect(t, "buyer fill", buyer.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "B1", tag.OrderID: buyNew[tag.OrderID],
		tag.Side: "1", tag.LastQty: "40", tag.LastPx: "101.25", tag.CumQty: "40", tag.LeavesQty: "0", tag.AvgPx: "101.25",
	})
	uniqueExec(buyFill)
	sellFill := expect(t, "seller fill", seller.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.OrdStatus: "1", tag.ClOrdID: "S1", tag.OrderID: sellOrderID,
		tag.Side: "2", tag.LastQty: "40", tag.LastPx: "101.25", tag.CumQty: "40", tag.LeavesQty: "60", tag.AvgPx: "101.25",
	})
	uniqueExec(sellFill)

	// A cancel of an order nobody sent is refused.
	seller.Send("F", tag.OrigClOrdID, "NOPE", tag.ClOrdID, "C0", tag.Symbol, "AAPL", tag.Side, "2")
	expect(t, "unknown cancel", seller.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "9", tag.ClOrdID: "C0", tag.OrigClOrdID: "NOPE", tag.CxlRejResponseTo: "1", tag.CxlRejReason: "1",
	})

	// The seller rests a second order, then cancels the rest of the first.
	seller.Send("D", tag.ClOrdID, "S2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "50",
		tag.OrdType, "2", tag.Price, "102", tag.TimeInForce, "1")
	s2New := expect(t, "second sell new", seller.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "0", tag.OrdStatus: "0", tag.ClOrdID: "S2", tag.LeavesQty: "50", tag.Price: "102.00",
	})
	uniqueExec(s2New)
	seller.Send("F", tag.OrigClOrdID, "S1", tag.ClOrdID, "C1", tag.Symbol, "AAPL", tag.Side, "2")
	cancelled := expect(t, "cancel rest", seller.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "4", tag.OrdStatus: "4", tag.ClOrdID: "C1", tag.OrigClOrdID: "S1",
		tag.OrderID: sellOrderID, tag.CumQty: "40", tag.LeavesQty: "0", tag.AvgPx: "101.25",
	})
	uniqueExec(cancelled)
	buyer.Quiet(200 * time.Millisecond)

	// The exchange stops; S2 is GTC, so it rests across the restart
	// (cancel-on-disconnect cancels Day orders at the next start).
	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	seller.Close()
	buyer.Close()

	// Restart on the same journal: S2 must still rest, and trade.
	n = startNode(t, dir, addr)
	defer n.Stop()
	seller = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer seller.Close()
	buyer = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer buyer.Close()

	// S1, cancelled before the restart, still answers a status request with
	// its final state, rebuilt from the journal; to its owner only.
	seller.Send("H", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2")
	uniqueExec(expect(t, "status of the cancelled order after restart", seller.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "I", tag.OrdStatus: "4", tag.ClOrdID: "S1", tag.OrderID: sellOrderID,
		tag.OrderQty: "100", tag.Price: "101.25", tag.CumQty: "40", tag.LeavesQty: "0", tag.AvgPx: "101.25",
	}))
	buyer.Send("H", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2")
	expect(t, "status of another broker's order", buyer.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "I", tag.OrdStatus: "8", tag.Text: "unknown order",
	})

	buyer.Send("D", tag.ClOrdID, "B2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "50",
		tag.OrdType, "2", tag.Price, "102", tag.TimeInForce, "0")
	uniqueExec(expect(t, "buyer new after restart", buyer.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B2"}))
	uniqueExec(expect(t, "buyer fill after restart", buyer.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "F", tag.OrdStatus: "2", tag.LastQty: "50", tag.LastPx: "102.00", tag.CumQty: "50", tag.LeavesQty: "0",
	}))
	uniqueExec(expect(t, "resting sell fills after restart", seller.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "S2", tag.OrderID: s2New[tag.OrderID],
		tag.LastQty: "50", tag.LastPx: "102.00", tag.CumQty: "50", tag.LeavesQty: "0", tag.AvgPx: "102.00",
	}))
}

// TestGatewayRejectsBadOrders: input that cannot become a valid command is
// answered with a specific reject and changes nothing: only the
// refusal reaches the ring, as a KindReject record (one each), which no
// engine acts on.
func TestGatewayRejectsBadOrders(t *testing.T) {
	addr := fixtest.FreeAddr(t)
	dir := t.TempDir()
	n := startNode(t, dir, addr)
	defer n.Stop()
	bound := n.Stats()[0].Events // the accounts' bindings, journaled at start
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer c.Close()

	cases := []struct {
		name     string
		fields   []any
		reason   string
		textHint string
	}{
		{"unknown_symbol", []any{tag.Symbol, "ZZZZ", tag.Side, "1", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10"}, "1", "unknown symbol"},
		{"off_tick_price", []any{tag.Symbol, "IBM", tag.Side, "1", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.001"}, "99", "tick"},
		{"negative_quantity", []any{tag.Symbol, "IBM", tag.Side, "1", tag.OrderQty, "-5", tag.OrdType, "2", tag.Price, "10"}, "13", "OrderQty"},
		{"unknown_side", []any{tag.Symbol, "IBM", tag.Side, "7", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10"}, "11", "Side"},
		{"limit_without_price", []any{tag.Symbol, "IBM", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2"}, "99", "Price"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clOrd := "X" + string(rune('A'+i))
			c.Send("D", append([]any{tag.ClOrdID, clOrd}, tc.fields...)...)
			got := expect(t, tc.name, c.Next(wait), map[quickfix.Tag]string{
				tag.MsgType: "8", tag.ExecType: "8", tag.OrdStatus: "8", tag.ClOrdID: clOrd, tag.OrdRejReason: tc.reason,
			})
			if !containsFold(got[tag.Text], tc.textHint) {
				t.Errorf("Text %q does not mention %q", got[tag.Text], tc.textHint)
			}
		})
	}
	// Only the refusals reached the ring: one KindReject record each.
	if s := n.Stats(); len(s) == 0 || s[0].Name != "writers" || s[0].Events != bound+uint64(len(cases)) {
		t.Fatalf("the ring took other than %d refusals: %+v", len(cases), s)
	}
	var kinds []matcher.Kind
	if err := journal.Read(filepath.Join(dir, "journal"), int64(bound)+1, func(seq int64, rec []byte) error {
		var cmd matcher.Command
		if err := cmd.DecodeAt(rec, seq); err != nil {
			return err
		}
		kinds = append(kinds, cmd.Kind)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		if k != matcher.KindReject || len(kinds) != len(cases) {
			t.Errorf("journal after the bindings: %v, want only rejects", kinds)
			break
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// TestDuplicateClOrdIDAcrossSymbolsAndRestart: a broker cannot reuse a
// ClOrdID, whichever symbol (and so match partition) it names, and not after
// the exchange restarts: the set is rebuilt from the journal.
func TestDuplicateClOrdIDAcrossSymbolsAndRestart(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)
	c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER04", "RINGEX")
	order := func(cl, sym string) {
		c.Send("D", tag.ClOrdID, cl, tag.Symbol, sym, tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "1.00", tag.TimeInForce, "1")
	}
	order("DUP1", "AAPL") // symbol 1: partition 1 of 2
	expect(t, "first use", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "DUP1"})
	order("DUP1", "MSFT") // symbol 2: partition 0
	expect(t, "reuse on another partition", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdRejReason: "6", tag.ClOrdID: "DUP1"})
	// The broker's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the replies expected.
	// The gateway's reject carries no delivery mark.
	confirmSession(t, n, c, 4, "CONFIRM")

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	n = startNode(t, dir, addr)
	defer n.Stop()
	c = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER04", "RINGEX")
	defer c.Close()
	order("DUP1", "GOOG")
	expect(t, "reuse after restart", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdRejReason: "6", tag.ClOrdID: "DUP1"})
	order("FRESH", "GOOG")
	expect(t, "a fresh id", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "FRESH"})
}
