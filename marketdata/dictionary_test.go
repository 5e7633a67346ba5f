package marketdata_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// nextValid returns the next message of msgType c's data dictionary let
// through, skipping others, or fails the test at once with the session
// Reject c sent instead.
func (c *mdClient) nextValid(msgType string) []field {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-c.inbox:
			if get(m, 35) == msgType {
				return m
			}
		case r := <-c.rejects:
			c.t.Fatalf("%s: its stock data dictionary refused a message (session Reject, %s)", c.sid, r)
		case <-deadline:
			c.t.Fatalf("%s: no %s within %v", c.sid, msgType, wait)
		}
	}
}

// TestStockDictionaryAcceptsMarketData: a broker's engine validates what
// it receives against its FIX version's data dictionary. Quickfixgo
// initiators with the stock FIX42.xml and FIX44.xml, aggregated and by
// order, subscribe to a book that holds every entry type (bid, offer,
// trade, open, close, high, low): each gets its W, then the X of a new
// level, a change, trades, a delete, and an end of day's day prices,
// every MDUpdateAction of every entry type it asked for, and a Y; none
// sends a session Reject. (RptSeq(83) in W's body or X's entries, or
// MDEntryID(278) in W's, is refused by both versions' dictionaries.)
func TestStockDictionaryAcceptsMarketData(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions[2].BeginString = "FIX.4.2"  // BROKER03
	cfg.FIX.Sessions[3].MarketDataByOrder = true // BROKER04
	cfg.FIX.Sessions[4].BeginString = "FIX.4.2"  // BROKER05
	cfg.FIX.Sessions[4].MarketDataByOrder = true
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start exchange: %v", err)
	}
	t.Cleanup(func() { n.Stop() })
	addr := cfg.FIX.Listen

	trader := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER02")
	acks := func(reports int) {
		t.Helper()
		for range reports {
			trader.next("8")
		}
	}
	// A bid, an offer, a trade, an end of day (the close), a trade (open,
	// high, low): every entry type, GTC to outlive the end of day.
	trader.orderTIF("B1", "AAPL", "1", "10", "99", "1")
	trader.orderTIF("S1", "AAPL", "2", "100", "101.25", "1")
	trader.orderTIF("B2", "AAPL", "1", "5", "101.25", "1")
	acks(5) // B1, S1 new; B2 new, its fill, S1's
	if _, err := n.EndOfDay(); err != nil {
		t.Fatal(err)
	}
	trader.orderTIF("B3", "AAPL", "1", "5", "101.25", "1")
	acks(3)
	trader.awaitView("0124578", "AAPL", "269=0 270=99.00 271=10|269=1 270=101.25 271=90|269=2 270=101.25 271=5|"+
		"269=4 270=101.25|269=5 270=101.25|269=7 270=101.25|269=8 270=101.25")

	type client struct {
		name string
		c    *mdClient
		agg  string
	}
	dial := func(begin, sender, file, agg string) client {
		c := dialMDWith(t, addr, begin, sender, map[string]string{qfconfig.DataDictionary: fixtest.StockDictionary(t, file)})
		return client{begin + " " + sender, c, agg}
	}
	clients := []client{
		dial(quickfix.BeginStringFIX44, "BROKER01", "FIX44.xml", ""),
		dial(quickfix.BeginStringFIX44, "BROKER04", "FIX44.xml", "N"),
		dial(quickfix.BeginStringFIX42, "BROKER03", "FIX42.xml", ""),
		dial(quickfix.BeginStringFIX42, "BROKER05", "FIX42.xml", "N"),
	}
	for _, cl := range clients {
		cl.c.requestBook("all", '1', 0, 1, cl.agg, "0124578", "AAPL")
		w := cl.c.nextValid("W")
		var types string
		for _, e := range entries(w, 269) {
			types += e[len("269="):][:1]
		}
		if types != "0124578" {
			t.Fatalf("%s: W with MDEntryTypes %q, want one of each (0124578): %v", cl.name, types, w)
		}
	}

	trader.orderTIF("S2", "AAPL", "2", "10", "101.50", "1") // a new offer
	acks(1)
	trader.orderTIF("B4", "AAPL", "1", "30", "101.25", "1") // a trade, the offer's change
	acks(3)
	trader.orderTIF("B5", "AAPL", "1", "70", "101.50", "1") // trades, a new high, the offers' deletes
	acks(5)
	trader.orderTIF("B6", "AAPL", "1", "5", "99", "1") // the bid's change (by order: a new order)
	acks(1)
	if _, err := n.EndOfDay(); err != nil { // open, high, low deleted; the close changed
		t.Fatal(err)
	}
	for _, cl := range clients {
		var actions, types []byte
		for !(len(actions) == 3 && len(types) == 7) {
			for _, e := range entries(cl.c.nextValid("X"), 279) {
				a, typ := e[len("279=")], e[strings.Index(e, "269=")+len("269=")]
				if !slices.Contains(actions, a) {
					actions = append(actions, a)
				}
				if !slices.Contains(types, typ) {
					types = append(types, typ)
				}
			}
		}
		cl.c.request("nope", '0', 0, -1, "0", "NOPE")
		if y := cl.c.nextValid("Y"); get(y, 262) != "nope" || get(y, 281) != "0" {
			t.Fatalf("%s: Y %v, want MDReqID nope, MDReqRejReason 0", cl.name, y)
		}
		select {
		case r := <-cl.c.rejects:
			t.Fatalf("%s: its stock data dictionary refused a message (session Reject, %s)", cl.name, r)
		default:
		}
	}
}
