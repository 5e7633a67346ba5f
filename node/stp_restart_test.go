package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestSTPChangedAcrossRestartReplaysAsItRan: with match.stp "none",
// BROKER01 (account 1) rests a GTC buy B1 of 10 at 100 and sells 10 at
// 100 (S1): the two trade, and the broker gets both fills. The operator
// sets match.stp to "cancelNewest" and restarts the node cleanly. The
// journal replays under the settings it ran with (the STP records, kind
// 23), so B1 stays filled: BROKER02's IOC sell X2 of 10 at 100 does not
// fill it a second time. (A refusal naming the setting would pass too.)
func TestSTPChangedAcrossRestartReplaysAsItRan(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Match.STP = config.STPNone
	var out sink
	n, err := node.Start(cfg, node.Options{Publisher: &out, Log: (&logLines{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Submit(order(1, "B1", matcher.Buy, 100, 10)); err != nil {
		t.Fatal(err)
	}
	if err := n.Submit(order(1, "S1", matcher.Sell, 100, 10)); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(wait); len(out.fills()) < 2 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
	}
	if f := out.fills(); len(f) != 2 || f[1].ClOrdID != mustClOrdID(t, "B1") || f[1].LeavesQty != 0 {
		t.Fatalf("before the restart: fills %+v, want S1 and B1 filled 10 at 100 (match.stp none)", f)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Match.STP = config.STPCancelNewest
	var out2 sink
	n, err = node.Start(cfg, node.Options{Publisher: &out2, Log: (&logLines{}).Logger()})
	if err != nil {
		if !strings.Contains(strings.ToLower(err.Error()), "stp") {
			t.Fatalf("restart with match.stp changed refused, but without naming the setting: %v", err)
		}
		return // a clear refusal is an answer
	}
	defer n.Stop()
	x := order(2, "X2", matcher.Sell, 100, 10)
	x.TIF = matcher.IOC
	if err := n.Submit(x); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		out2.mu.Lock()
		done := false
		for _, ev := range out2.evs {
			done = done || (ev.ClOrdID == mustClOrdID(t, "X2") && ev.LeavesQty == 0 && ev.Type != matcher.EvAccepted)
		}
		out2.mu.Unlock()
		if done || time.Now().After(end) {
			break
		}
	}
	for _, f := range out2.fills() {
		if f.ClOrdID == mustClOrdID(t, "B1") {
			t.Fatalf("after a restart with match.stp changed to cancelNewest, B1 (filled 10 of 10 before it) filled again: %+v; "+
				"the replay re-matched the journal with the new setting", f)
		}
	}
}

func mustClOrdID(t *testing.T, s string) matcher.ClOrdID {
	t.Helper()
	id, ok := matcher.MakeClOrdID(s)
	if !ok {
		t.Fatalf("ClOrdID %q", s)
	}
	return id
}
