package marketdata_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// logLines keeps the exchange's log lines for a test to read.
type logLines struct{ logtest.Lines }

// with returns the lines that contain every one of words.
func (l *logLines) with(words ...string) []string {
	var out []string
next:
	for _, line := range l.All() {
		for _, w := range words {
			if !strings.Contains(line, w) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// TestMarketDataOnlySession: MDONLY, a real FIX session configured with
// marketDataOnly, subscribes and gets the book, but its order is refused
// with a BusinessMessageReject (380=6, a Text) and reaches no book; when
// it logs out nothing is cancelled for it, while a broker's logout does
// cancel its Day orders.
func TestMarketDataOnlySession(t *testing.T) {
	var log logLines
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: "MDONLY", MarketDataOnly: true})
	n, err := node.Start(cfg, node.Options{Log: log.Tee(t, "").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	trader := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02")
	md := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "MDONLY")

	trader.order("S1", "AAPL", "2", "100", "101.25")
	trader.next("8")
	md.awaitView("01", "AAPL", "269=1 270=101.25 271=100")

	md.order("M1", "AAPL", "1", "100", "101.25") // would take S1
	j := md.next("j")
	if get(j, 380) != "6" || get(j, 372) != "D" || !strings.HasPrefix(get(j, 58), "market-data-only session") {
		t.Fatalf("MDONLY's order: %v, want BusinessMessageReject 380=6 372=D with a Text", j)
	}
	md.request("snap", '0', 0, -1, "01", "AAPL")
	if w := md.next("W"); strings.Join(entries(w, 269), "|") != "269=1 270=101.25 271=100" {
		t.Fatalf("the refused order changed the book: %v", w)
	}

	md.init.Stop()
	trader.init.Stop()
	for deadline := time.Now().Add(wait); len(log.with("BROKER02", "cancelling its resting Day orders")) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("BROKER02's logout cancelled nothing within %v", wait)
		}
	}
	if got := log.with("MDONLY", "Day orders"); len(got) > 0 {
		t.Fatalf("MDONLY's logout: %q, want nothing cancelled", got)
	}
}
