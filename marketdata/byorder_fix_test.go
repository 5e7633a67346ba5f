package marketdata_test

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
	"github.com/ringex/ringex/node"
)

// replace sends an OrderCancelReplaceRequest (G) for a limit order.
func (c *mdClient) replace(orig, id, sym, side, qty, px string) {
	c.t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "G")
	for _, kv := range [][2]any{{tag.OrigClOrdID, orig}, {tag.ClOrdID, id}, {tag.Symbol, sym}, {tag.Side, side},
		{tag.OrderQty, qty}, {tag.OrdType, "2"}, {tag.Price, px}, {tag.HandlInst, "1"},
		{tag.TransactTime, time.Now().UTC().Format("20060102-15:04:05.000")}} {
		m.Body.SetString(kv[0].(quickfix.Tag), kv[1].(string))
	}
	if err := quickfix.SendToTarget(m, c.sid); err != nil {
		c.t.Fatalf("send G: %v", err)
	}
}

// cancel sends an OrderCancelRequest (F).
func (c *mdClient) cancel(orig, id, sym, side, qty string) {
	c.t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "F")
	for _, kv := range [][2]any{{tag.OrigClOrdID, orig}, {tag.ClOrdID, id}, {tag.Symbol, sym}, {tag.Side, side},
		{tag.OrderQty, qty}, {tag.TransactTime, time.Now().UTC().Format("20060102-15:04:05.000")}} {
		m.Body.SetString(kv[0].(quickfix.Tag), kv[1].(string))
	}
	if err := quickfix.SendToTarget(m, c.sid); err != nil {
		c.t.Fatalf("send F: %v", err)
	}
}

// TestBookByOrderOverFIX: a FIX 4.4 session configured with
// marketDataByOrder subscribes to a book by order (AggregatedBook N) with a
// quickfixgo initiator and hears each order by its OrderID: a new order
// joins its price's queue, a partial fill and a replace that keeps
// priority change its size, a replace that loses priority is a delete and
// a new at the back, a cancel deletes it; a snapshot lists the orders in
// time priority with their MDEntryPositionNo.
func TestBookByOrderOverFIX(t *testing.T) {
	addr := startExchange(t)
	md := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER04")
	trader := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER02")
	md.requestBook("ob", '1', 0, 1, "N", "01", "AAPL")
	if w := md.next("W"); get(w, 262) != "ob" || get(w, 268) != "0" {
		t.Fatalf("snapshot of the empty book: %v", w)
	}
	trader.order("S1", "AAPL", "2", "100", "101.25")
	s1 := get(trader.next("8"), 37)
	wantX(t, md, "ob", "279=0 269=1 55=AAPL 270=101.25 271=100 37="+s1+"")
	trader.order("S2", "AAPL", "2", "50", "101.25")
	s2 := get(trader.next("8"), 37)
	wantX(t, md, "ob", "279=0 269=1 55=AAPL 270=101.25 271=50 37="+s2+"")

	trader.order("B1", "AAPL", "1", "30", "101.25") // fills 30 of S1, the first in the queue
	for range 3 {                                   // B1 new, its fill, S1's fill
		trader.next("8")
	}
	wantX(t, md, "ob", "279=1 269=1 55=AAPL 270=101.25 271=70 37="+s1+"") //: the trade

	trader.replace("S2", "S2a", "AAPL", "2", "20", "101.25") // smaller, same price: keeps its place
	trader.next("8")
	wantX(t, md, "ob", "279=1 269=1 55=AAPL 270=101.25 271=20 37="+s2+"")
	trader.replace("S1", "S1a", "AAPL", "2", "150", "101.25") // larger: to the back of the queue
	trader.next("8")
	wantX(t, md, "ob", "279=2 269=1 55=AAPL 270=101.25 37="+s1+"|279=0 269=1 55=AAPL 270=101.25 271=120 37="+s1+"")

	md.requestBook("snap", '0', 0, -1, "N", "01", "AAPL")
	w := md.next("W")
	if got := strings.Join(entries(w, 269), "|"); got != "269=1 270=101.25 271=20 37="+s2+" 290=1|269=1 270=101.25 271=120 37="+s1+" 290=2" {
		t.Fatalf("snapshot by order: %s", got)
	}
	trader.cancel("S2a", "S2c", "AAPL", "2", "20")
	trader.next("8")
	wantX(t, md, "ob", "279=2 269=1 55=AAPL 270=101.25 37="+s2+"")

	// The same session's book by price is there beside it.
	md.request("px", '0', 0, -1, "1", "AAPL")
	if got := strings.Join(entries(md.next("W"), 269), "|"); got != "269=1 270=101.25 271=120" {
		t.Fatalf("snapshot by price: %s", got)
	}
}

// TestDayPricesAcrossEndOfDayAndRestart: the open, high and low are the
// day's first, highest and lowest trade, the close the last trade price
// of the day before; an end of day closes them; a restarted node rebuilds
// them from its journal, the trades before its newest snapshot included.
func TestDayPricesAcrossEndOfDayAndRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Snapshot = config.Snapshot{EveryCommands: 2} // a checkpoint every 100 ms that has two commands
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { n.Stop() }()
	trader := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02")
	md := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01")
	trade := func(px string) {
		t.Helper()
		trader.orderTIF("S"+px, "MSFT", "2", "5", px, "1")
		trader.orderTIF("B"+px, "MSFT", "1", "5", px, "1")
		for range 4 { // S new; B new, its fill and S's
			trader.next("8")
		}
	}
	trade("250")
	trade("252")
	trade("249")
	md.awaitView("4578", "MSFT", "269=4 270=250.00|269=7 270=252.00|269=8 270=249.00")

	md.request("live", '1', 0, 1, "4578", "MSFT")
	md.next("W")
	eod, err := n.EndOfDay()
	if err != nil {
		t.Fatal(err)
	}
	x := md.next("X")
	if got := strings.Join(entries(x, 279), "|"); !strings.HasPrefix(got, "279=2 269=4 55=MSFT 270=250.00") ||
		!strings.Contains(got, "|279=0 269=5 55=MSFT 270=249.00") || strings.Count(got, "|") != 3 {
		t.Fatalf("X at the end of the day: %s", got)
	}
	trade("251")
	md.awaitView("4578", "MSFT", "269=4 270=251.00|269=5 270=249.00|269=7 270=251.00|269=8 270=251.00")
	// A snapshot after the day's first trade: a start replays the journal
	// from it, and the day's prices must not start there.
	dir := filepath.Join(cfg.DataDir, "journal")
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		if seq, _, _, ok, err := journal.LatestSnapshot(dir); err == nil && ok && seq > eod {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot after the end of day (sequence %d) within %v", eod, wait)
		}
	}
	trade("248")
	md.awaitView("4578", "MSFT", "269=4 270=251.00|269=5 270=249.00|269=7 270=251.00|269=8 270=248.00")

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if n, err = node.Start(cfg, node.Options{Log: logtest.New(t)}); err != nil {
		t.Fatal(err)
	}
	after := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03")
	after.awaitView("4578", "MSFT", "269=4 270=251.00|269=5 270=249.00|269=7 270=251.00|269=8 270=248.00")
}
