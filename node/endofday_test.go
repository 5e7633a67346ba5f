package node_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
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
	refusedGTC := expect(t, "live GTC order's id refused", b.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "8", tag.ClOrdID: "GTC1", tag.Text: "duplicate ClOrdID",
	})
	// Used today on a cancel the matcher refused: only the gateway knows it.
	b.Send("F", tag.OrigClOrdID, "NOPE", tag.ClOrdID, "NEW1", tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "unknown cancel today", b.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "NEW1"})
	// The broker's engine confirms every report before the stop, the
	// cancel's reject (no ExecID: the one report after the refusal's mark)
	// too: else the next start resends them (PossResend=Y) ahead of the
	// replies expected.
	after := gateway.MarkBefore(execSeq(t, refusedGTC)) + 1
	waitUntil(t, "the broker's engine to confirm the cancel's reject", func() bool {
		d := n.Delivered()
		return len(d) > 1 && d[1] > after
	})

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
	expect(t, "today's Day order cancelled at the restart (cancel on disconnect)", b.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "4", tag.ClOrdID: "DAY1", tag.Text: "cancel on disconnect: the session dropped, or the exchange restarted",
	})
	newOrder("NEW1", "0", "96")
	expect(t, "today's id refused after restart", b.Next(wait), map[quickfix.Tag]string{
		tag.ExecType: "8", tag.ClOrdID: "NEW1", tag.Text: "duplicate ClOrdID NEW1",
	})
	newOrder("OLD1", "0", "96")
	expect(t, "yesterday's id accepted after restart", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "OLD1"})
}

// TestDayLeftOpenEndsAtStart: the journal's trading day began two days ago
// and no primary ran at its end (tradingDay.endUTC). The node ends it as
// it starts, before FIX opens: the broker gets its Day order's expiry, its
// GTC order still rests, and the day's ClOrdIDs are free again. A restart
// on the new day ends nothing.
func TestDayLeftOpenEndsAtStart(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.Options{Dir: filepath.Join(dir, "journal"), Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).UnixNano()
	day, gtc := order(1, "DAY1", matcher.Buy, 100, 10), order(1, "GTC1", matcher.Buy, 99, 10)
	day.TIF = matcher.Day
	var buf [matcher.CommandSize]byte
	for i, c := range []*matcher.Command{day, gtc} {
		c.Seq, c.TimeNs = int64(i+1), old
		if err := j.Append(c.Seq, c.Encode(buf[:])); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()

	start := func(logs *logLines) (*node.Node, string) {
		cfg := config.Default()
		cfg.DataDir = dir
		cfg.FIX.Listen = fixtest.FreeAddr(t)
		cfg.TradingDay.EndUTC = "21:00"
		n, err := node.Start(cfg, node.Options{Log: logs.Tee(t, "").Logger()})
		if err != nil {
			t.Fatal(err)
		}
		return n, cfg.FIX.Listen
	}
	var logs logLines
	n, addr := start(&logs)
	if !logs.has("was not ended at") {
		t.Fatal("no log line for the day left open")
	}
	// The broker keeps its sequence numbers (no reset): the expiry, sent
	// while it was away, comes by resend.
	keepSeqNums := func(ss *quickfix.SessionSettings) { ss.Set(qfconfig.ResetOnLogon, "N") }
	b := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX", keepSeqNums)
	expect(t, "Day order expired", b.Next(wait), map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "C", tag.OrdStatus: "C", tag.ClOrdID: "DAY1",
	})
	b.Quiet(300 * time.Millisecond) // nothing for the GTC order
	b.Send("D", tag.ClOrdID, "DAY1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "98", tag.TimeInForce, "0")
	expect(t, "yesterday's id accepted", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "DAY1"})
	b.Send("H", tag.ClOrdID, "GTC1", tag.Symbol, "MSFT", tag.Side, "1") // order() put it on symbol 2
	expect(t, "GTC order rests", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "0", tag.ClOrdID: "GTC1"})
	b.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	var again logLines
	n, _ = start(&again)
	defer n.Stop()
	if again.has("was not ended at") {
		t.Fatal("a restart on the new day ended it again")
	}
}
