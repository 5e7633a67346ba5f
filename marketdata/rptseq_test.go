package marketdata_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/marketdata"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// rptSeqDictionary writes a copy of quickfixgo's stock FIX44.xml with
// RptSeq(83) added as venues add it: to W's body, after NetChgPrevDay,
// and last in each entry of X's NoMDEntries. It returns the copy's path.
func rptSeqDictionary(t *testing.T) string {
	t.Helper()
	stock, err := os.ReadFile(fixtest.StockDictionary(t, "FIX44.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(stock)
	const rptSeq = "<field name='RptSeq' required='N' />"
	insert := func(msgType, after string) {
		t.Helper()
		at := strings.Index(s, "msgtype='"+msgType+"'")
		end := strings.Index(s[at:], "</message>")
		i := strings.Index(s[at:at+end], after)
		if at < 0 || end < 0 || i < 0 {
			t.Fatalf("FIX44.xml: no %q in message %s", after, msgType)
		}
		i += at + len(after)
		s = s[:i] + "\n   " + rptSeq + s[i:]
	}
	insert("W", "<field name='NetChgPrevDay' required='N' />")
	insert("X", "<field name='EncodedText' required='N' />")
	path := filepath.Join(t.TempDir(), "FIX44-RptSeq.xml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rptSeqs checks that every entry of an incremental refresh m carries
// RptSeq, one more than the last of its symbol in its subscription
// (last, keyed by MDReqID and Symbol, W's RptSeq to start from), and
// moves last on. It returns the entries.
func rptSeqs(t *testing.T, m []field, last map[string]int) []string {
	t.Helper()
	es := entries(m, 279)
	for _, e := range es {
		key := get(m, 262) + " " + entryValue(e, 55)
		n, err := strconv.Atoi(entryValue(e, 83))
		if err != nil {
			t.Fatalf("X entry %q: no RptSeq (83) in it: %v", e, m)
		}
		want, started := last[key]
		if !started {
			t.Fatalf("X entry %q for %s: no W before it", e, key)
		}
		if n != want+1 {
			t.Fatalf("%s: RptSeq %d after %d, nothing lost: a gap (or a repeat) in its view (%q)", key, n, want, e)
		}
		last[key] = n
	}
	return es
}

// entryValue is the value of tag in an entry as entries writes it
// ("279=0 269=1 55=AAPL ..."); "" when absent.
func entryValue(e string, tag int) string {
	for _, kv := range strings.Fields(e) {
		if k, v, _ := strings.Cut(kv, "="); k == strconv.Itoa(tag) {
			return v
		}
	}
	return ""
}

// snapshotRptSeq reads W's RptSeq into last (keyed by MDReqID and
// Symbol) and returns it.
func snapshotRptSeq(t *testing.T, w []field, last map[string]int) int {
	t.Helper()
	n, err := strconv.Atoi(get(w, 83))
	if err != nil {
		t.Fatalf("W without RptSeq (83): %v", w)
	}
	last[get(w, 262)+" "+get(w, 55)] = n
	return n
}

// TestRptSeqPerSymbolOverFIX: a session configured with marketDataRptSeq
// gets RptSeq(83) in each entry of X and in the body of W. A quickfixgo
// initiator whose FIX44.xml adds RptSeq there takes them without a
// session Reject. In each subscription each symbol counts on its own,
// from its W's RptSeq (0 for a new subscription), one per entry, with
// no gap while nothing is lost: in the whole book of two symbols, and in
// a bids-only view of the top, which sees fewer updates and counts only
// those. A session without the option, on the stock FIX44.xml, gets no
// RptSeq and refuses nothing.
func TestRptSeqPerSymbolOverFIX(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions[0].MarketDataRptSeq = true // BROKER01; BROKER03 keeps the default
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start exchange: %v", err)
	}
	t.Cleanup(func() { n.Stop() })
	addr := cfg.FIX.Listen
	md := dialMDWith(t, addr, quickfix.BeginStringFIX44, "BROKER01", map[string]string{qfconfig.DataDictionary: rptSeqDictionary(t)})
	stock := dialMDWith(t, addr, quickfix.BeginStringFIX44, "BROKER03", map[string]string{qfconfig.DataDictionary: fixtest.StockDictionary(t, "FIX44.xml")})
	trader := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER02")

	last := map[string]int{}
	md.request("book", '1', 0, 1, "012", "AAPL", "MSFT")
	md.request("top", '1', 1, 1, "0", "AAPL")
	for range 3 {
		if w := md.nextValid("W"); snapshotRptSeq(t, w, last) != 0 {
			t.Fatalf("W of a new subscription with RptSeq %s, want 0: %v", get(w, 83), w)
		}
	}
	stock.request("book", '1', 0, 1, "012", "AAPL")
	if w := stock.nextValid("W"); get(w, 83) != "" {
		t.Fatalf("W with RptSeq to a session without marketDataRptSeq: %v", w)
	}

	for _, o := range [][5]string{
		{"S1", "AAPL", "2", "100", "101.25"}, // a new offer
		{"S2", "AAPL", "2", "50", "101.25"},  // its change
		{"B1", "AAPL", "1", "150", "101.25"}, // two trades, the offer's delete
		{"B2", "AAPL", "1", "10", "99"},      // the top bid
		{"B3", "AAPL", "1", "5", "99.50"},    // a better one
		{"S3", "MSFT", "2", "10", "50"},
		{"B4", "MSFT", "1", "4", "50"}, // a trade, the offer's change
		{"B5", "AAPL", "1", "7", "98"}, // below the top: the whole book only
		{"B6", "MSFT", "1", "1", "40"},
	} {
		trader.order(o[0], o[1], o[2], o[3], o[4])
	}
	// Each subscription's last update: AAPL's bid at 98 and MSFT's at 40
	// in the book, the bid at 99.50 at the top.
	done := map[string]bool{}
	for !(done["book AAPL 98.00"] && done["book MSFT 40.00"] && done["top AAPL 99.50"]) {
		x := md.nextValid("X")
		for _, e := range rptSeqs(t, x, last) {
			done[get(x, 262)+" "+entryValue(e, 55)+" "+entryValue(e, 270)] = true
		}
	}
	// Levels may be conflated within a pass; trades never are: AAPL's
	// book saw at least its two trades and two new bids, MSFT's its trade
	// and two levels.
	if last["book AAPL"] < 4 || last["top AAPL"] < 1 || last["book MSFT"] < 3 {
		t.Fatalf("RptSeqs reached %v: fewer updates than the orders made", last)
	}
	for seen98 := false; !seen98; {
		for _, e := range entries(stock.nextValid("X"), 279) {
			if entryValue(e, 83) != "" {
				t.Fatalf("X entry with RptSeq to a session without marketDataRptSeq: %q", e)
			}
			seen98 = seen98 || entryValue(e, 270) == "98.00"
		}
	}
}

// nextMarketData is the next W or X c's data dictionary let through.
func (c *mdClient) nextMarketData() []field {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-c.inbox:
			if t := get(m, 35); t == "W" || t == "X" {
				return m
			}
		case r := <-c.rejects:
			c.t.Fatalf("%s: its data dictionary refused a message (session Reject, %s)", c.sid, r)
		case <-deadline:
			c.t.Fatalf("%s: no W or X within %v", c.sid, wait)
		}
	}
}

// mdAcceptor is a FIX acceptor that hands MarketDataRequests to a feed,
// as the gateway does.
type mdAcceptor struct{ feed *marketdata.Feed }

func (a mdAcceptor) OnLogon(*fix.Session)    {}
func (a mdAcceptor) OnLogout(s *fix.Session) { a.feed.SessionEnded(s) }
func (a mdAcceptor) FromApp(s *fix.Session, m *fix.Message) {
	if string(m.MsgType()) == "V" {
		a.feed.Request(s, m)
	}
}

// TestRptSeqGapOnTradesConflatedAway: trades conflated away for lack of
// room (more than Options.MaxTradesPending between two passes) are a gap
// in RptSeq: the W that follows the pass's X carries the RptSeq of the
// last update it holds, past the trades never sent, so a quickfixgo
// initiator with RptSeq in its dictionary sees the gap as well as the
// fresh W. The feed here is fed by the test, as the publish stage would,
// so that its bound can be small.
func TestRptSeqGapOnTradesConflatedAway(t *testing.T) {
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	const maxPending = 2
	feed := marketdata.New(marketdata.Options{Symbols: []marketdata.Symbol{{Name: "AAA", Tick: cent, Lot: gateway.ScaleOf(1)}},
		MaxTradesPending: maxPending, RptSeqSessions: []string{"BROKER01"}, Log: logtest.Discard()})
	feed.Start()
	t.Cleanup(feed.Stop)
	d, err := fix.NewDictionary("FIX.4.4")
	if err == nil {
		err = feed.Extend(d)
	}
	if err != nil {
		t.Fatal(err)
	}
	acc, err := fix.NewAcceptor(fix.Config{Addr: "127.0.0.1:0", SenderCompID: "RINGEX", NotResent: feed.NotResent(), Log: logtest.Discard(),
		Sessions: []fix.SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "BROKER01", ResetOnLogon: true, Dictionary: d}}}, mdAcceptor{feed})
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acc.Stop)
	md := dialMDWith(t, acc.Addr().String(), quickfix.BeginStringFIX44, "BROKER01", map[string]string{qfconfig.DataDictionary: rptSeqDictionary(t)})
	last := map[string]int{}
	md.request("all", '1', 0, 1, "012", "AAA")
	snapshotRptSeq(t, md.nextValid("W"), last)

	s := marketdata.NewConflationStream(feed, nil)
	s.RestFiveSells()
	for last["all AAA"] < 5 { // five offers, one pass or several
		rptSeqs(t, md.nextValid("X"), last)
	}
	// One buy sweeps the five in one batch: five trades, two kept.
	s.SweepFiveSells()
	trades := s.Trades
	if trades != 5 {
		t.Fatalf("the stream made %d trades, want 5", trades)
	}
	sent := 0
	var w []field
	for w == nil {
		switch m := md.nextMarketData(); get(m, 35) {
		case "X":
			for _, e := range rptSeqs(t, m, last) {
				if entryValue(e, 269) == "2" {
					sent++
				}
			}
		case "W":
			w = m
		}
	}
	if sent != maxPending {
		t.Fatalf("%d trade entries sent, want MaxTradesPending (%d): the test no longer conflates trades away", sent, maxPending)
	}
	before := last["all AAA"]
	if got, want := snapshotRptSeq(t, w, last), before+trades-sent; got != want {
		t.Fatalf("W after %d trades conflated away: RptSeq %d, last X's %d, want %d: the lost trades are no gap", trades-sent, got, before, want)
	}
	if get(w, 270) != "10.04" {
		t.Fatalf("W after the lost trades: %v, want AAA's last trade at 10.04", w)
	}
	// What follows counts on from the W.
	s.Batch(matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, Side: matcher.Buy,
		Type: matcher.Limit, TIF: matcher.Day, Price: 990, Qty: 1})
	rptSeqs(t, md.nextValid("X"), last)
}
