package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestRestartCancelsDayOrdersOfDroppedSessions: BROKER01 (keeping its
// sequence numbers) rests a Day buy D1 at 100 and a GTC buy G1 at 99;
// BROKER03 (ResetSeqNumFlag=Y) a Day buy E3 at 98. The exchange goes down
// and every session with it. After the restart, before any broker is
// back, a sell at 99 meets G1, not D1: the Day orders of the
// cancel-on-disconnect sessions were cancelled, through the journal,
// before FIX opened. Each broker gets its cancels after its next Logon,
// with a Text that says cancel on disconnect, not mass cancel.
func TestRestartCancelsDayOrdersOfDroppedSessions(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	var logs logLines
	start := func() *node.Node {
		t.Helper()
		n, err := node.Start(cfg, node.Options{Log: logs.Tee(t, "").Logger()})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	day := func(c *matcher.Command) *matcher.Command { c.TIF = matcher.Day; return c }
	n := start()
	// Same-length ClOrdIDs: one symbol (order()).
	for _, c := range []*matcher.Command{day(order(1, "D1", matcher.Buy, 100, 10)), order(1, "G1", matcher.Buy, 99, 10), day(order(3, "E3", matcher.Buy, 98, 10))} {
		if err := n.Submit(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = start()
	defer n.Stop()
	if !logs.has("cancel on disconnect at start") {
		t.Error("no log line for the cancels at start")
	}
	if err := n.Submit(order(2, "S2", matcher.Sell, 99, 10)); err != nil {
		t.Fatal(err)
	}
	keepSeqNums := func(ss *quickfix.SessionSettings) { ss.Set(qfconfig.ResetOnLogon, "N") }
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX", keepSeqNums)
	defer b1.Close()
	got1 := until(b1, func(ms []map[quickfix.Tag]string) bool { return hasReport(ms, "F", "G1") && hasReport(ms, "4", "D1") })
	if hasReport(got1, "F", "D1") || !hasReport(got1, "F", "G1") {
		t.Errorf("BROKER01 got %v: want G1 filled, not D1", got1)
	}
	checkCODCancel(t, "BROKER01", got1, "D1")
	b3 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	checkCODCancel(t, "BROKER03", until(b3, func(ms []map[quickfix.Tag]string) bool { return hasReport(ms, "4", "E3") }), "E3")
}

// until collects what b gets, as fields with PossResend and PossDup as
// tags 97 and 43, until done says so or a while has passed.
func until(b *fixtest.Client, done func([]map[quickfix.Tag]string) bool) []map[quickfix.Tag]string {
	var got []map[quickfix.Tag]string
	for deadline := time.Now().Add(wait); time.Now().Before(deadline) && !done(got); time.Sleep(20 * time.Millisecond) {
		for _, m := range b.Drain() {
			f := fixtest.Fields(m)
			f[tag.PossResend], _ = m.Header.GetString(tag.PossResend)
			f[tag.PossDupFlag], _ = m.Header.GetString(tag.PossDupFlag)
			got = append(got, f)
		}
	}
	return got
}

func hasReport(ms []map[quickfix.Tag]string, execType, clOrd string) bool {
	for _, f := range ms {
		if f[tag.ExecType] == execType && f[tag.ClOrdID] == clOrd {
			return true
		}
	}
	return false
}

// checkCODCancel: exactly one cancel of clOrd, made after the restart (no
// PossResend; a broker keeping its numbers may get it by its
// ResendRequest, PossDup=Y), and its Text says cancel on disconnect.
func checkCODCancel(t *testing.T, who string, ms []map[quickfix.Tag]string, clOrd string) {
	t.Helper()
	n := 0
	for _, f := range ms {
		if f[tag.ExecType] != "4" || f[tag.ClOrdID] != clOrd {
			continue
		}
		n++
		if !strings.Contains(f[tag.Text], "cancel on disconnect") || f[tag.PossResend] == "Y" {
			t.Errorf("%s: cancel of %s %v: want Text saying cancel on disconnect, no PossResend", who, clOrd, f)
		}
	}
	if n != 1 {
		t.Errorf("%s got %d cancels of %s, want 1 (got %v)", who, n, clOrd, ms)
	}
}
