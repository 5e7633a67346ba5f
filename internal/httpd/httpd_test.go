package httpd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/httpd"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

const wait = 10 * time.Second

// exchange starts a node with one FIX port and the endpoint beside it,
// not yet attached.
func exchange(t *testing.T) (*node.Node, *httpd.Server, config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = ""
	n, srv := startWithEndpoint(t, cfg)
	return n, srv, cfg
}

// startWithEndpoint starts a node on cfg and an endpoint on a free
// loopback port, not attached; both stop when the test ends.
func startWithEndpoint(t *testing.T, cfg config.Config) (*node.Node, *httpd.Server) {
	t.Helper()
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	srv, err := httpd.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return n, srv
}

func get(t *testing.T, srv *httpd.Server, path string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + srv.Addr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// trade has BROKER01 rest a buy and BROKER02 cross it, and sends an order
// for a symbol the exchange does not list; it waits for every report. The
// sessions stay logged on until the test ends.
func trade(t *testing.T, cfg config.Config) {
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	t.Cleanup(b1.Close)
	b2 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	t.Cleanup(b2.Close)
	b1.Send("D", tag.ClOrdID, "BUY1", tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100.25", tag.TimeInForce, "1")
	fixtest.Expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	b2.Send("D", tag.ClOrdID, "SELL1", tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "4",
		tag.OrdType, "2", tag.Price, "100.25", tag.TimeInForce, "0")
	fixtest.Expect(t, "BROKER02's order", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	fixtest.Expect(t, "BROKER02's fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F"})
	fixtest.Expect(t, "BROKER01's fill", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F"})
	b2.Send("D", tag.ClOrdID, "BAD1", tag.HandlInst, "1", tag.Symbol, "NOPE", tag.Side, "2", tag.OrderQty, "1",
		tag.OrdType, "2", tag.Price, "1", tag.TimeInForce, "0")
	fixtest.Expect(t, "BROKER02's reject", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8"})
}

// scrape reads /metrics into series → value; a series is its name and
// labels as written ("ringex_commands_total{kind=\"new\"}").
func scrape(t *testing.T, srv *httpd.Server) map[string]float64 {
	t.Helper()
	code, body := get(t, srv, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d: %s", code, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[series] = v
	}
	return out
}

// settle waits, at most 30 s, until every stage has passed every slot
// published: what a node journals of its own at start is done.
func settle(t *testing.T, n *node.Node) {
	t.Helper()
	for range 3000 {
		stages, idle := n.Status().Stages, true
		for _, s := range stages[1:] {
			idle = idle && s.Events == stages[0].Events
		}
		if idle {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the pipeline did not drain in 30 s")
}

// TestMetricsCountWhatTheNodeDid: after two brokers trade over FIX, a
// scrape shows, beside what it showed before (a node may journal records
// of its own at start), the two orders, the fills, the gateway's reject
// (journaled: a reject record, counted as the gateway's and not the
// matcher's), one latency observation per record answered (the orders
// and the reject), and the sessions logged on.
func TestMetricsCountWhatTheNodeDid(t *testing.T) {
	n, srv, cfg := exchange(t)
	srv.Attach(n)
	settle(t, n)
	before := scrape(t, srv)
	trade(t, cfg)
	more := map[string]float64{
		`ringex_commands_total{kind="new"}`:                              2,
		`ringex_commands_total{kind="reject"}`:                           1,
		`ringex_fills_total`:                                             2,
		`ringex_rejects_total{reason="unknown_symbol",source="gateway"}`: 1,
		`ringex_ack_latency_seconds_count`:                               3,
		`ringex_ack_latency_seconds_bucket{le="+Inf"}`:                   3,
		`ringex_stage_events_total{stage="writers"}`:                     3,
		`ringex_stage_events_total{stage="publish"}`:                     3,
		`ringex_journal_last_seq`:                                        3,
	}
	// The brokers can have their reports before the publish stage counts
	// its batch (at the batch's end): scrape until the counters have
	// moved as far as they should, at most 30 s, then check them.
	var after map[string]float64
	for range 3000 {
		after = scrape(t, srv)
		moved := true
		for series, want := range more {
			moved = moved && after[series]-before[series] >= want
		}
		if moved {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for series, want := range more {
		if got, ok := after[series]; !ok || got-before[series] != want {
			t.Errorf("%s went from %v to %v (present %v), want %v more", series, before[series], got, ok, want)
		}
	}
	if m := `ringex_rejects_total{reason="unknown_symbol",source="matcher"}`; after[m] != before[m] {
		t.Errorf("%s went from %v to %v: the gateway's reject counted as the matcher's too", m, before[m], after[m])
	}
	if after["ringex_journal_commit_seconds_count"] <= before["ringex_journal_commit_seconds_count"] {
		t.Error("no journal commit counted")
	}
	for series, want := range map[string]float64{
		`ringex_node_running`:                                  1,
		`ringex_role{role="single"}`:                           1,
		`ringex_serving_fix`:                                   1,
		`ringex_ready`:                                         1,
		`ringex_fix_sessions_logged_on`:                        2,
		`ringex_fix_session_logged_on{session="BROKER02"}`:     1,
		`ringex_fix_session_logged_on{session="BROKER03"}`:     0,
		`ringex_fix_outbound_queue_bytes{session="BROKER01"}`:  0,
		`ringex_fix_resend_requests_total{session="BROKER01"}`: 0,
		`ringex_stage_lag_slots{stage="publish"}`:              0,
		`ringex_journal_segments{copy="hot"}`:                  1,
		`ringex_snapshot_duration_seconds_count`:               0,
	} {
		if got, ok := after[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if _, ok := after["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// TestHealth: /livez answers with or without a node; /readyz is 503,
// with the reason, until a node that serves FIX is attached, and again
// once it is detached.
func TestHealth(t *testing.T) {
	n, srv, _ := exchange(t)
	if code, body := get(t, srv, "/livez"); code != 200 {
		t.Errorf("/livez without a node: HTTP %d %q, want 200", code, body)
	}
	if code, body := get(t, srv, "/readyz"); code != 503 || !strings.Contains(body, "no node running") {
		t.Errorf("/readyz without a node: HTTP %d %q, want 503 saying no node runs", code, body)
	}
	srv.Attach(n)
	if code, body := get(t, srv, "/readyz"); code != 200 || !strings.Contains(body, "serving FIX") {
		t.Errorf("/readyz with a serving node: HTTP %d %q, want 200", code, body)
	}
	srv.Detach()
	if code, _ := get(t, srv, "/readyz"); code != 503 {
		t.Errorf("/readyz after Detach: HTTP %d, want 503", code)
	}
	if code, _ := get(t, srv, "/livez"); code != 200 {
		t.Errorf("/livez after Detach: HTTP %d, want 200", code)
	}
}

// TestReady: the readiness rule, case by case.
func TestReady(t *testing.T) {
	for _, c := range []struct {
		name string
		st   node.Status
		ok   bool
		why  string
	}{
		{"primary_serving", node.Status{Role: "primary", ServingFIX: true}, true, "serving FIX"},
		{"single_serving", node.Status{Role: "single", ServingFIX: true}, true, "serving FIX"},
		{"standby_caught_up", node.Status{Role: "standby", CaughtUp: true}, true, "caught up"},
		{"standby_behind", node.Status{Role: "standby"}, false, "not caught up"},
		{"primary_stopped", node.Status{Role: "primary", ServingFIX: true, Stopped: "journal commit: disk full"}, false, "disk full"},
		{"primary_not_serving", node.Status{Role: "primary"}, false, "not serving FIX"},
		{"shard_leader_may_acknowledge", node.Status{Role: "primary", ServingFIX: true,
			Shard: &node.ShardStatus{Shard: "s1", Token: 7, Leading: true, MayAcknowledge: true}}, true, "serving FIX"},
		{"shard_leader_guard_out", node.Status{Role: "primary", ServingFIX: true,
			Shard: &node.ShardStatus{Shard: "s1", Token: 7, Leading: true, Why: "the lease guard ran out"}}, false, "shard s1 under term 7, not acknowledging: the lease guard ran out"},
		{"shard_standby_caught_up", node.Status{Role: "standby", CaughtUp: true, Shard: &node.ShardStatus{Shard: "s1"}}, true, "caught up"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, why := httpd.Ready(&c.st)
			if ok != c.ok || !strings.Contains(why, c.why) {
				t.Errorf("Ready = %v %q, want %v and a reason with %q", ok, why, c.ok, c.why)
			}
		})
	}
}

// TestStatusJSON: the page's feed names the role, the sessions and the
// market the trade left: a bid of 6 at 100.25 and a last trade of 4.
// The status is read figure by figure, and the publish stage stores a
// batch's last trades after it has handed the batch's reports on, so a
// broker may hold its fill a moment before the page shows the trade: the
// test reads the page until it does, at most 10 s.
func TestStatusJSON(t *testing.T) {
	n, srv, cfg := exchange(t)
	srv.Attach(n)
	trade(t, cfg)
	for range 1000 {
		if v := statusOf(t, srv); len(v.Node.Symbols) > 0 && v.Node.Symbols[0].HasTrade {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, body := get(t, srv, "/status.json")
	if code != 200 {
		t.Fatalf("/status.json: HTTP %d %s", code, body)
	}
	var v struct {
		Ready bool
		Node  node.Status
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Ready || v.Node.Role != "single" || len(v.Node.Sessions) != len(cfg.FIX.Sessions) {
		t.Errorf("status: ready %v role %q sessions %d", v.Ready, v.Node.Role, len(v.Node.Sessions))
	}
	aapl := v.Node.Symbols[0]
	if aapl.Name != "AAPL" || !aapl.HasTop || aapl.BidPx != "100.25" || aapl.BidQty != 6 || aapl.AskQty != 0 ||
		!aapl.HasTrade || aapl.LastPx != "100.25" || aapl.LastQty != 4 {
		t.Errorf("AAPL: %+v, want bid 6 @ 100.25, no ask, last 4 @ 100.25", aapl)
	}
	if code, page := get(t, srv, "/"); code != 200 || !strings.Contains(page, "<title>ringex status</title>") {
		t.Errorf("/: HTTP %d", code)
	}
}

// TestProfilesOnlyWhenAsked: /debug/pprof/ answers nothing until
// ServeProfiles, then a CPU profile that `go tool pprof` reads (gzipped
// protobuf).
func TestProfilesOnlyWhenAsked(t *testing.T) {
	_, srv, _ := exchange(t)
	if code, _ := get(t, srv, "/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Fatalf("/debug/pprof/cmdline before ServeProfiles: HTTP %d, want 404", code)
	}
	srv.ServeProfiles()
	if code, body := get(t, srv, "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/ after ServeProfiles: HTTP %d %.80q, want 200 listing the profiles", code, body)
	}
	code, body := get(t, srv, "/debug/pprof/profile?seconds=1")
	if code != 200 || !strings.HasPrefix(body, "\x1f\x8b") {
		t.Fatalf("/debug/pprof/profile?seconds=1: HTTP %d %.80q, want 200 and a gzipped profile", code, body)
	}
}
