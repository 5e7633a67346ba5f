package node_test

import (
	"fmt"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestRejectedOrdersAreNotLoggedOneByOne: BROKER01's engine sends 100
// NewOrderSingles without OrdType (40), a required field, then a valid
// one; each of the 100 is refused with a session-level Reject (35=3). The
// log says so once, then with counts (fix's rejectLog), and does not grow
// with the broker's order rate: never a log line per order.
func TestRejectedOrdersAreNotLoggedOneByOne(t *testing.T) {
	var lines logtest.Lines
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	n, err := node.Start(cfg, node.Options{Log: lines.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	const sent = 100
	for i := range sent {
		b1.Send("D", tag.ClOrdID, fmt.Sprintf("R%d", i), tag.Symbol, "AAPL", tag.Side, "1",
			tag.OrderQty, "1", tag.Price, "1.00")
	}
	// The session handles its messages in order: once the next, valid,
	// order is answered, every one before it has been.
	b1.Send("D", tag.ClOrdID, "OK1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "1.00")
	expect(t, "the valid order after them", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "OK1"})
	if got := lines.With("level=WARN", "reject"); len(got) >= sent {
		t.Errorf("%d orders refused at the session level wrote %d WARN lines, one per order (%q ...)", sent, len(got), got[0])
	}
}
