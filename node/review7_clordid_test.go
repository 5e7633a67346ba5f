package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestReview7RefusedMassCancelClOrdIDSameAfterRestart: BROKER01 sends two
// mass cancels for a symbol the venue does not list, M1 and M2; the
// gateway refuses both (journaled reject records). Then, live, it sends a
// new order with ClOrdID M1, and, after a restart on the same journal
// (session store intact), a new order with ClOrdID M2. The exchange's
// answer to the same input must not depend on a restart in between:
// either a refused mass cancel's ClOrdID is used (both orders refused as
// duplicates) or it is not (both accepted). Today the live gateway claims
// the ClOrdID before refusing the mass cancel (onMassCancel), while the
// restart rebuilds used ClOrdIDs from KindNew/Replace/Cancel/MassCancel
// records only, not from the KindReject record (rememberClOrdIDs).
func TestReview7RefusedMassCancelClOrdIDSameAfterRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	n, err := node.Start(cfg, node.Options{Log: logtest.Named(t, "1")})
	if err != nil {
		t.Fatal(err)
	}
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	for _, id := range []string{"M1", "M2"} {
		b1.Send("q", tag.ClOrdID, id, tag.MassCancelRequestType, "1", tag.Symbol, "NOPE")
		expect(t, "mass cancel "+id, b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: id, tag.MassCancelResponse: "0"})
	}
	order := func(c *fixtest.Client, id string) map[quickfix.Tag]string {
		c.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1",
			tag.TimeInForce, "1")
		return fixtest.Fields(c.NextNew(wait))
	}
	live := order(b1, "M1")
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n, err = node.Start(cfg, node.Options{Log: logtest.Named(t, "2")})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer n.Stop()
	b1 = fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	restarted := order(b1, "M2")
	if live[tag.ExecType] != restarted[tag.ExecType] || live[tag.Text] != restarted[tag.Text] {
		t.Errorf("a new order reusing a refused mass cancel's ClOrdID: live ExecType %q Text %q; after a restart ExecType %q Text %q; want the same answer",
			live[tag.ExecType], live[tag.Text], restarted[tag.ExecType], restarted[tag.Text])
	}
}
