package node_test

import (
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// stpRecords are the STP records of the journal under dir.
func stpRecords(t *testing.T, dir string) []matcher.STPRecord {
	return recordsOf(t, dir, matcher.STPRecordOf)
}

// awaitEvent waits (bounded) until out holds an event of ClOrdID cl that
// match says is the one awaited, and returns it.
func awaitEvent(t *testing.T, out *sink, cl string, match func(ev matcher.Event) bool) matcher.Event {
	t.Helper()
	for end := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		out.mu.Lock()
		for _, ev := range out.evs {
			if ev.ClOrdID == mustClOrdID(t, cl) && match(ev) {
				out.mu.Unlock()
				return ev
			}
		}
		out.mu.Unlock()
		if time.Now().After(end) {
			t.Fatalf("no such event of %s within %v: %+v", cl, wait, out.evs)
		}
	}
}

// A change of match.stp takes effect from the restart that journals it
// on, restoring a snapshot taken under the old mode: BROKER01's B1, filled
// by its own S1 under "none", stays filled (BROKER02's IOC finds nothing),
// and BROKER01's next self-match is cancelled under "cancelNewest". A
// restart with the same settings journals no STP record again.
func TestSTPChangeTakesEffectFromTheRestartOn(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	cfg.Match.STP = config.STPNone
	out := &sink{}
	n, err := node.Start(cfg, node.Options{Publisher: out, Log: logtest.Named(t, "none")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*matcher.Command{order(1, "B1", matcher.Buy, 100, 10), order(1, "S1", matcher.Sell, 100, 10)} {
		if err := n.Submit(o); err != nil {
			t.Fatal(err)
		}
	}
	awaitEvent(t, out, "B1", func(ev matcher.Event) bool { return ev.Type == matcher.EvFill && ev.LeavesQty == 0 })
	awaitSnapshotAt(t, dir, firstStartRecords(cfg)+2)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Match.STP = config.STPCancelNewest
	for run := range 2 {
		out = &sink{}
		n, err = node.Start(cfg, node.Options{Publisher: out, Log: logtest.Named(t, "cancelNewest")})
		if err != nil {
			t.Fatal(err)
		}
		tag := string(rune('2' + run))
		x := order(2, "X"+tag, matcher.Sell, 100, 10)
		x.TIF = matcher.IOC
		b, s := order(1, "B"+tag, matcher.Buy, 90, 5), order(1, "S"+tag, matcher.Sell, 90, 5)
		for _, o := range []*matcher.Command{x, b, s} {
			if err := n.Submit(o); err != nil {
				t.Fatal(err)
			}
		}
		ev := awaitEvent(t, out, "X"+tag, func(ev matcher.Event) bool { return ev.Type != matcher.EvAccepted })
		if ev.Type == matcher.EvFill || len(out.fills()) > 0 {
			t.Fatalf("run %d under cancelNewest: fills %+v; B1 was filled under none and must stay filled", run, out.fills())
		}
		ev = awaitEvent(t, out, "S"+tag, func(ev matcher.Event) bool { return ev.Type != matcher.EvAccepted })
		if ev.Type != matcher.EvCancelled || ev.Reason != matcher.ReasonSelfTrade {
			t.Fatalf("run %d: BROKER01's S%s meeting its own B%s under cancelNewest: %+v, want it cancelled (self-trade)", run, tag, tag, ev)
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	var venues []matcher.STPMode
	for _, r := range stpRecords(t, dir) {
		if r.Form == matcher.STPFormVenue {
			venues = append(venues, r.Mode)
		}
	}
	if len(venues) != 2 || venues[0] != matcher.STPNone || venues[1] != matcher.STPCancelIncoming {
		t.Fatalf("STP venue records %v, want none (the first start) and cancelNewest (the change), once each", venues)
	}
}

// A firm's stpScope and an account's stpAccounts mode change across a
// restart as match.stp does: with firm F1 (BROKER01, BROKER02) of scope
// "account" and match.stp cancelNewest, BROKER02's S1 trades with
// BROKER01's B1 (two accounts). Restarted with F1's scope "firm", the
// replay keeps that trade (BROKER03's IOC finds nothing to fill), while
// from then on BROKER02's S2 meeting BROKER01's B2 is a self-trade of the
// firm, cancelled; BROKER03, given cancelOldest by match.stpAccounts in
// the same restart, has its resting order cancelled by its own new one.
func TestFirmScopeAndAccountModeChangeFromTheRestartOn(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := venueWith(dir, addr, "BROKER01", "BROKER02", "BROKER03")
	cfg.Match.STP = config.STPCancelNewest
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}}}
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	rests(t, b1, "BROKER01's B1", "B1", "AAPL", "1", "10", "10.00")
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00")
	expect(t, "BROKER02's S1", b2.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S1"})
	expect(t, "S1 trades with BROKER01's B1 (scope account)", b2.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "S1", tag.LeavesQty: "0"})
	expect(t, "B1 filled", b1.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "B1", tag.LeavesQty: "0"})
	b1.Close()
	b2.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Firms[0].STPScope = config.STPScopeFirm
	cfg.Match.STPAccounts = []config.AccountSTP{{CompID: "BROKER03", Mode: config.STPCancelOldest}}
	n = startCfg(t, cfg)
	defer n.Stop()
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b3 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	b3.Send("D", tag.ClOrdID, "X1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "3")
	expect(t, "BROKER03's IOC X1", b3.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "X1"})
	expect(t, "X1 finds nothing: B1 stays filled", b3.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "C", tag.ClOrdID: "X1", tag.CumQty: "0"})

	rests(t, b1, "BROKER01's B2", "B2", "AAPL", "1", "5", "9.00")
	b2.Send("D", tag.ClOrdID, "S2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "9.00")
	expect(t, "BROKER02's S2", b2.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S2"})
	expect(t, "S2 meets its firm's B2 (scope firm, cancelNewest): cancelled", b2.NextNew(wait),
		map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "S2", tag.CumQty: "0"})

	rests(t, b3, "BROKER03's R3", "R3", "MSFT", "1", "5", "20.00")
	b3.Send("D", tag.ClOrdID, "I3", tag.Symbol, "MSFT", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "20.00", tag.TimeInForce, "1")
	expect(t, "BROKER03's I3", b3.NextNew(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "I3"})
	expect(t, "I3 meets BROKER03's own R3 (cancelOldest): R3 cancelled", b3.NextNew(wait),
		map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "R3"})
}
