package node_test

import (
	"testing"
	"time"

	"github.com/ringex/ringex/config"
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
