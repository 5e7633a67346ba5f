package marketdata

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// rptChecker follows the RptSeq of each subscription's symbols as a
// broker would, and fails the test on a gap where nothing was lost.
type rptChecker struct {
	t    *testing.T
	last map[string]int64 // MDReqID and Symbol → its last RptSeq
	gaps int              // Ws past the last count: updates lost
}

func (c *rptChecker) rpt(fs []tv, what string) int64 {
	n, err := strconv.ParseInt(value(fs, tagRptSeq), 10, 64)
	if err != nil {
		c.t.Fatalf("%s without RptSeq: %v", what, fs)
	}
	return n
}

// check reads messages m of one subscription, sent with nothing lost
// unless mayLose. An incremental view's X entries each count one more;
// its W after the first carries the count it is current to; a full
// refresh view's W on a change counts one more.
func (c *rptChecker) check(m []sent, full, mayLose bool) {
	c.t.Helper()
	for _, s := range m {
		id := value(s.fields, tagMDReqID)
		if s.msgType == "W" {
			key := id + " " + value(s.fields, tagSymbol)
			n := c.rpt(s.fields, "W")
			was, seen := c.last[key]
			switch {
			case !seen && n != 0:
				c.t.Fatalf("%s: first W with RptSeq %d, want 0", key, n)
			case seen && full && n != was+1 && !mayLose:
				c.t.Fatalf("%s: full refresh W with RptSeq %d after %d, nothing lost", key, n, was)
			case seen && !full && n != was && !mayLose:
				c.t.Fatalf("%s: W with RptSeq %d after %d, nothing lost", key, n, was)
			case seen && n < was:
				c.t.Fatalf("%s: W with RptSeq %d after %d: the count went back", key, n, was)
			case seen && !full && n > was:
				c.gaps++
			}
			c.last[key] = n
			continue
		}
		for _, g := range groups(s.fields, tagMDUpdateAction) {
			key := id + " " + value(g, tagSymbol)
			n := c.rpt(g, "X entry")
			if was, seen := c.last[key]; !seen || n != was+1 {
				c.t.Fatalf("%s: X entry with RptSeq %d after %d (seen %v): a gap with nothing lost", key, n, was, seen)
			}
			c.last[key] = n
		}
	}
}

// TestRptSeqCountsEachViewOnItsOwn: over a random order stream, every
// view of a session with RptSeq (the whole book, the first 3 levels of
// some entry types, the bids alone, the book by order, the top as full
// refreshes) sees its own count per symbol with no gap while nothing is
// lost. A subscriber that falls behind is sent nothing; the count goes on,
// so the W of each symbol it gets on catching up carries a count past its
// last X where it missed updates: a gap, and X follow on from the W, at
// the counts of a subscription of the same view that never fell behind.
func TestRptSeqCountsEachViewOnItsOwn(t *testing.T) {
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	var syms []Symbol
	for _, n := range testSymbols {
		syms = append(syms, Symbol{Name: n, Tick: cent, Lot: gateway.ScaleOf(1)})
	}
	const comp = "SEQ"
	f := New(Options{Symbols: syms, ByOrderSessions: []string{comp}, RptSeqSessions: []string{comp}, Log: logtest.Discard()})
	f.pass()
	views := []struct {
		body string
		full bool
		rec  *recorder
	}{
		{body: vBody("whole", '1', 0, 1, "0124578", "AAA", "BBB")},
		{body: vBody("top3", '1', 3, 1, "012", "AAA", "BBB")},
		{body: vBody("bids", '1', 0, 1, "0", "AAA", "BBB")},
		{body: byOrderBody(vBody("orders", '1', 0, 1, "012", "AAA", "BBB"))},
		{body: vBody("topfull", '1', 1, 0, "01", "AAA", "BBB"), full: true},
		{body: vBody("twin", '1', 0, 1, "0124578", "AAA", "BBB")}, // whole's view, never behind
	}
	c := &rptChecker{t: t, last: map[string]int64{}}
	for i := range views {
		views[i].rec = &recorder{begin: "FIX.4.4", comp: comp}
		f.request(views[i].rec, requestMsg(t, "FIX.4.4", views[i].body))
		c.check(views[i].rec.take(), views[i].full, false)
	}
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}})
	g := &orderGen{rng: rand.New(rand.NewPCG(18, 83))}
	var evs []matcher.Event
	step := func(slowBehind bool) {
		for range 1 + g.rng.IntN(6) {
			g.seq++
			cmd := g.next(g.seq)
			evs = e.Apply(&cmd, evs[:0])
			g.observe(evs)
			for k := range evs {
				f.Apply(&evs[k])
			}
		}
		f.EndBatch()
		f.pass()
		for i, v := range views {
			c.check(v.rec.take(), v.full, i == 0 && slowBehind)
		}
	}
	for range 200 {
		step(false)
	}
	if c.gaps != 0 {
		t.Fatalf("%d gaps with nothing lost", c.gaps)
	}
	slow := views[0].rec
	slow.queued = DefaultBehindBytes + 1
	for range 20 {
		step(true)
	}
	slow.queued = 0
	step(true) // the catch-up: a W per symbol, then updates
	for range 50 {
		step(false)
	}
	if c.gaps == 0 {
		t.Fatal("a subscriber that missed 20 batches caught up with no gap in RptSeq")
	}
	for _, sym := range testSymbols {
		if a, b := c.last["whole "+sym], c.last["twin "+sym]; a != b {
			t.Errorf("%s: RptSeq %d to the subscriber that fell behind, %d to one of the same view that did not: its count stopped while it was behind", sym, a, b)
		}
	}
}
