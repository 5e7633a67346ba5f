package httpd_test

import (
	"encoding/json"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/httpd"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestStatusShowsTheBookAfterARestart: BROKER01 rests a GTC bid of 10
// AAPL at 100.25, BROKER02 sells 4 into it, and the node restarts; 6
// still rest (the journal rebuilds the book, and the open day's trades).
// /status.json shows at once, before any order touches AAPL again, its
// bid, 6 @ 100.25, and its last trade, 4 @ 100.25.
func TestStatusShowsTheBookAfterARestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = ""
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	trade(t, cfg) // a GTC bid of 10, 4 of it traded
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n, srv := startWithEndpoint(t, cfg)
	srv.Attach(n)
	settle(t, n)
	v := statusOf(t, srv)
	if len(v.Node.Symbols) == 0 {
		t.Fatal("/status.json lists no symbols")
	}
	if aapl := v.Node.Symbols[0]; aapl.Name != "AAPL" || !aapl.HasTop || aapl.BidPx != "100.25" || aapl.BidQty != 6 ||
		!aapl.HasTrade || aapl.LastPx != "100.25" || aapl.LastQty != 4 {
		t.Errorf("AAPL after the restart: %+v, want the bid that rests, 6 @ 100.25, and the last trade, 4 @ 100.25", aapl)
	}
}

func statusOf(t *testing.T, srv *httpd.Server) struct{ Node node.Status } {
	t.Helper()
	code, body := get(t, srv, "/status.json")
	if code != 200 {
		t.Fatalf("/status.json: HTTP %d %s", code, body)
	}
	var v struct{ Node node.Status }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
