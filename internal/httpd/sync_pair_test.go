package httpd_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestReadyzWhileAcknowledgementsAreHeld: a primary of a pair with
// replication mode sync and onStandbyLost "wait" whose standby is not
// there acknowledges nothing (REPLICATION WAITING): BROKER01's order gets
// no ExecutionReport. Once the order has waited past syncTimeoutMs,
// /readyz answers 503 with the reason (node.ReplicationStats.Holding), as
// it does for a shard primary that may not acknowledge, not 200 "primary,
// serving FIX". (A primary with nothing waiting stays ready:
// TestReadyzOfAPairAndAnOrphan.)
func TestReadyzWhileAcknowledgementsAreHeld(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication = config.Replication{}
	if err := json.Unmarshal([]byte(`{"role": "primary", "listen": "127.0.0.1:0", "primary": "", "mode": "sync",
		"onStandbyLost": "wait", "syncTimeoutMs": 100, "heartbeatMs": 20}`), &cfg.Replication); err != nil {
		t.Fatal(err)
	}
	n, srv := startWithEndpoint(t, cfg)
	srv.Attach(n)
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b1.Send("D", tag.ClOrdID, "W1", tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1",
		tag.OrdType, "2", tag.Price, "1.00", tag.TimeInForce, "0")

	// Ten times syncTimeoutMs and more: the order is held, /readyz says so.
	code, body := 0, ""
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		if code, body = get(t, srv, "/readyz"); code == http.StatusServiceUnavailable {
			break
		}
	}
	if ms := b1.Drain(); len(ms) != 0 {
		t.Fatalf("the order was acknowledged without a standby (%v): the premise does not hold", fixtest.Fields(ms[0]))
	}
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while BROKER01's order waits for a standby that is not there: HTTP %d %q, want 503 with the reason", code, strings.TrimSpace(body))
	}
}

// TestStandbyCountsItsJournalCommits: a standby journals every record
// its primary sends, one write and one fsync per frame (replica.Receiver),
// and with sync replication every acknowledgement waits for that fsync.
// Its ringex_journal_commit_seconds (and ringex_journal_batch_records)
// count those commits, so that a slow standby disk shows on its own
// dashboard and in docs/operations.md's RingexSlowFsync alert.
func TestStandbyCountsItsJournalCommits(t *testing.T) {
	p, _ := replicated(t, "primary", "")
	_, srvS := replicated(t, "standby", p.ReplicationAddr().String())
	code := 0
	for range 300 { // at most 30 s
		if code, _ = get(t, srvS, "/readyz"); code == http.StatusOK {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatal("the standby did not catch up within 30 s")
	}
	m := scrape(t, srvS)
	if m["ringex_journal_last_seq"] <= 0 {
		t.Fatalf("the standby journaled nothing (ringex_journal_last_seq %v): the premise does not hold", m["ringex_journal_last_seq"])
	}
	if got := m["ringex_journal_commit_seconds_count"]; got == 0 {
		t.Errorf("standby: ringex_journal_last_seq %v, ringex_journal_commit_seconds_count %v: its journal commits are not counted",
			m["ringex_journal_last_seq"], got)
	}
}
