package httpd_test

import (
	"strings"
	"testing"
	"time"

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

// Review (issue 20, commands by kind): a venue with risk.mode spot and a
// fee journals, before FIX opens, one rule record per rule the config
// sets: limits, protection prices and the fee (KindRiskFee). An operator
// reading ringex_commands_total expects the fee record under
// kind="risk_fee", the name matcher.Kind gives it, and no series with a
// made-up kind. Instead it is counted as kind="kind(0)" and risk_fee is
// missing: node/observe.go sizes the per-kind counters with kindSlots = 16
// ("> the highest matcher.Kind"), but KindRiskFee is 16, and
// batchCounts.command takes k %= kindSlots, folding it onto slot 0.
func TestReviewRiskFeeRecordCountedUnderItsKind(t *testing.T) {
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
