package httpd_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/httpd"
)

// awaitSeries scrapes until one of the series named is present, at most
// 30 s, and returns the last scrape.
func awaitSeries(t *testing.T, srv *httpd.Server, series ...string) map[string]float64 {
	t.Helper()
	var got map[string]float64
	for range 3000 {
		got = scrape(t, srv)
		for _, s := range series {
			if _, ok := got[s]; ok {
				return got
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return got
}

// TestRiskFeeRecordCountedUnderItsKind: a venue with risk.mode spot and
// a fee journals, before FIX opens, one rule record per rule the config
// sets: limits, protection prices and the fee (KindRiskFee, the highest
// kind). ringex_commands_total counts the fee record under
// kind="risk_fee", the name matcher.Kind gives it, and has no series
// with a made-up kind (a kind beyond node/observe.go's per-kind counters
// would be folded onto kind 0 and exported as "kind(0)").
func TestRiskFeeRecordCountedUnderItsKind(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = ""
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01", FeeBps: 10}
	n, srv := startWithEndpoint(t, cfg)
	srv.Attach(n)
	settle(t, n)
	got := awaitSeries(t, srv, `ringex_commands_total{kind="risk_fee"}`, `ringex_commands_total{kind="kind(0)"}`)
	if v := got[`ringex_commands_total{kind="risk_fee"}`]; v != 1 {
		t.Errorf(`ringex_commands_total{kind="risk_fee"} = %v, want 1 (the fee record journaled at start)`, v)
	}
	for series, v := range got {
		if strings.HasPrefix(series, "ringex_commands_total{") && strings.Contains(series, `kind="kind(`) {
			t.Errorf("%s = %v: a kind with no name", series, v)
		}
	}
}

// TestThrottledOrdersCountedAsRejects: BROKER01 is throttled to 1
// message a second and sends 20 NewOrderSingles at once: every one over
// the throttle is refused (BusinessMessageReject, "Throttle limit
// exceeded") by the FIX session itself and never reaches the gateway or
// the ring. ringex_rejects_total{source="gateway"} rises by exactly the
// refusals BROKER01 got (reason "throttled").
func TestThrottledOrdersCountedAsRejects(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = ""
	cfg.FIX.Sessions[0].ThrottleMsgsPerSec = 1
	n, srv := startWithEndpoint(t, cfg)
	srv.Attach(n)
	settle(t, n)
	before := scrape(t, srv)
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	const sent = 20
	for i := range sent {
		b1.Send("D", tag.ClOrdID, fmt.Sprintf("T%d", i), tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "1",
			tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "1.00", tag.TimeInForce, "0")
	}
	throttled := 0
	for range sent {
		f := fixtest.Fields(b1.Next(wait))
		if f[tag.MsgType] == "j" && strings.Contains(f[tag.Text], "Throttle") {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatalf("none of %d orders sent at once was throttled at 1 message a second", sent)
	}
	sum := func(m map[string]float64) float64 {
		var s float64
		for series, v := range m {
			if strings.HasPrefix(series, "ringex_rejects_total{") && strings.Contains(series, `source="gateway"`) {
				s += v
			}
		}
		return s
	}
	after := scrape(t, srv)
	if got := sum(after) - sum(before); got != float64(throttled) {
		t.Errorf("BROKER01 had %d orders refused by its throttle; ringex_rejects_total{source=\"gateway\"} rose by %v", throttled, got)
	}
}

// TestOperationsDocListsEveryLabelValue: docs/operations.md is where an
// operator looks up what a series means, and the row of
// ringex_stage_lag_slots and of ringex_commands_total names every stage
// and kind a node exports: one with risk.mode limits, right after its
// start, exports the stage "risk" (node/risk.go) and the kinds
// bind_account, deposit, withdraw, block, unblock, risk_limits and
// risk_symbol (matcher.Kind.String) besides the order kinds.
// TestOperationsDocListsEveryMetric checks the metric names.
func TestOperationsDocListsEveryLabelValue(t *testing.T) {
	page, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // metric → its row
	for _, line := range strings.Split(string(page), "\n") {
		if m := regexp.MustCompile("^\\| `(ringex_[a-z_]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = ""
	cfg.Risk = config.Risk{Mode: config.RiskModeLimits}
	n, srv := startWithEndpoint(t, cfg)
	srv.Attach(n)
	settle(t, n)
	label := regexp.MustCompile(`^(ringex_stage_lag_slots|ringex_commands_total)\{(?:stage|kind)="([^"]+)"\}$`)
	for series := range scrape(t, srv) {
		m := label.FindStringSubmatch(series)
		if m == nil {
			continue
		}
		if !strings.Contains(rows[m[1]], "`"+m[2]+"`") {
			t.Errorf("%s is exported; the docs/operations.md row of %s does not name %q", series, m[1], m[2])
		}
	}
}
