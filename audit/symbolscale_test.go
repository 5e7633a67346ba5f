package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// A journal written with AAPL's tickSize 0.01 verifies and replays under
// that config; under 0.05 (or MSFT's lotSize 10), verify and the trail
// (`ringex replay`) refuse it naming the symbol and the key, as a node's
// start does, instead of printing its prices five times too high.
func TestVerifyAndTrailRefuseAnotherTickOrLot(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discardEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := matcher.MakeClOrdID("B1")
	if err := n.Submit(&matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, Side: matcher.Buy, Type: matcher.Limit,
		TIF: matcher.GTC, Price: 10000, Qty: 10, ClOrdID: cl}); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil { // drains the ring: B1 is journaled
		t.Fatal(err)
	}
	refusal := func(c config.Config) string {
		t.Helper()
		v, err := VenueOf(c)
		if err != nil {
			t.Fatal(err)
		}
		msg := ""
		rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
		if err != nil {
			msg = err.Error()
		}
		if rep != nil {
			for _, p := range rep.Problems {
				msg += " " + p.Error()
			}
		}
		var out bytes.Buffer
		if _, err := Trail(&out, TrailOptions{Dir: cfg.DataDir + "/journal", Venue: v}); err != nil {
			msg += " | trail: " + err.Error()
		}
		return msg
	}
	if msg := refusal(cfg); msg != "" {
		t.Fatalf("verify and trail under the config that wrote the journal: %s", msg)
	}
	tick, lot := cfg, cfg
	tick.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
	tick.Symbols[0].TickSize = "0.05"
	lot.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
	lot.Symbols[1].LotSize = 10
	for _, c := range []struct {
		cfg   config.Config
		words []string
	}{{tick, []string{"AAPL", "tickSize"}}, {lot, []string{"MSFT", "lotSize"}}} {
		msg := refusal(c.cfg)
		if !strings.Contains(msg, "trail:") {
			t.Errorf("trail with %v changed: no refusal (%q)", c.words, msg)
		}
		for _, w := range c.words {
			if strings.Count(msg, w) < 2 {
				t.Errorf("verify and trail with %v changed: %q; want both refusals to name %s", c.words, msg, w)
			}
		}
	}
}
