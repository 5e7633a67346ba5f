package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestTickSizeChangedAcrossRestartKeepsPrices: BROKER01 rests a GTC buy
// B1 of 10 AAPL at 100.00 (tickSize 0.01: 10000 ticks). The operator
// changes AAPL's tickSize to 0.05 and restarts the node. The journal holds
// prices in ticks, so read with the new tick B1 would bid 500.00: the
// start is refused, naming the tick size (the symbol scale record, kind
// 22), or B1 is still at 100.00 (a status request shows its price).
func TestTickSizeChangedAcrossRestartKeepsPrices(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	n, err := node.Start(cfg, node.Options{Log: logtest.Named(t, "1")})
	if err != nil {
		t.Fatal(err)
	}
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10", tag.OrdType, "2",
		tag.Price, "100.00", tag.TimeInForce, "1")
	expect(t, "BROKER01's GTC buy at 100.00", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1", tag.Price: "100.00"})
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
	cfg.Symbols[0].TickSize = "0.05"
	n, err = node.Start(cfg, node.Options{Log: logtest.Named(t, "2")})
	if err != nil {
		if !strings.Contains(strings.ToLower(err.Error()), "tick") {
			t.Fatalf("restart with AAPL's tickSize changed refused, but without naming it: %v", err)
		}
		return // a clear refusal is an answer
	}
	defer n.Stop()
	b1 = fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b1.Send("H", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1")
	got := expect(t, "status of B1 after the restart", b1.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "I", tag.ClOrdID: "B1"})
	if got[tag.Price] != "100.00" {
		t.Fatalf("after a restart with AAPL's tickSize 0.01 → 0.05, BROKER01's buy B1 (sent at 100.00) bids %s: "+
			"the journal's ticks are read with the new tick size", got[tag.Price])
	}
}
