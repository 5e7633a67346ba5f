package node_test

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// stuckSink is a primary's publisher that stops handing events on once
// stuck is set, until release is closed: the primary has journaled and
// replicated commands whose reports never reached a broker's socket.
type stuckSink struct {
	stuck   atomic.Bool
	release chan struct{}
	once    sync.Once
}

func (s *stuckSink) Publish(*matcher.Event) {
	if s.stuck.Load() {
		<-s.release
	}
}

func (s *stuckSink) unstick() { s.once.Do(func() { close(s.release) }) }

// TestPromotionResendsUnpublishedReports: the primary's publish stage
// stalls after the A orders; the B orders are journaled and replicated but
// never reported. The standby, promoted, resends to the broker after its
// Logon (ResetSeqNumFlag=Y) exactly the B reports, with their ExecIDs and
// PossResend=Y, and nothing of the A orders, which the primary had said it
// published.
func TestPromotionResendsUnpublishedReports(t *testing.T) {
	dirP := t.TempDir()
	var logP, logS logLines
	out := &stuckSink{release: make(chan struct{})}
	defer out.unstick()
	cfgP := replCfg(dirP, "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p, err := node.Start(cfgP, node.Options{Publisher: out, Log: logP.Tee(t, "P").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)
	defer func() { out.unstick(); p.Stop() }()

	submit := func(prefix string) {
		for i := range 10 { // buys only: one New report each, nothing crosses
			if err := p.Submit(order(1, fmt.Sprintf("%s%d", prefix, i), matcher.Buy, int64(100+i), 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	heard := func() int64 { st, _ := s.ReplicationStats(); return st.PrimaryPublished }
	submit("A")
	waitUntil(t, "the standby hears that the A reports went out", func() bool {
		return lastSeq(p) >= 10 && lastSeq(s) == lastSeq(p) && heard() >= lastSeq(p)
	})
	lastA := heard()
	out.stuck.Store(true)
	submit("B")
	waitUntil(t, "the standby has the B orders", func() bool { return lastSeq(p) >= lastA+10 && lastSeq(s) == lastSeq(p) })
	time.Sleep(100 * time.Millisecond) // several heartbeats: the published seq stays
	if got := heard(); got != lastA {
		t.Fatalf("the standby heard published seq %d, want %d (the primary's publish stage is stuck)", got, lastA)
	}

	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`found="after seq %d `, lastA); !logS.has("PROMOTION: reports the old primary's brokers may lack", " reports=10 ", want) {
		t.Errorf("no log line %q", want)
	}
	c := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer c.Close()
	for i := range 10 {
		m := c.Next(wait)
		f := fixtest.Fields(m)
		if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
			t.Errorf("report %d: PossResend(97) %q, want Y", i, pr)
		}
		if f[tag.MsgType] != "8" || f[tag.ExecType] != "0" || f[tag.ClOrdID] != fmt.Sprintf("B%d", i) {
			t.Errorf("report %d: %v, want the New report of B%d", i, f, i)
		}
		// The ExecID is the one the old primary would have sent: the seq of
		// the command times the stride (its first event).
		id, err := strconv.ParseInt(f[tag.ExecID], 10, 64)
		if err != nil || id%matcher.ExecIDStride != 0 || id/matcher.ExecIDStride <= lastA || id/matcher.ExecIDStride != lastA+int64(i)+1 {
			t.Errorf("report %d: ExecID %q, want seq %d × ExecIDStride", i, f[tag.ExecID], lastA+int64(i)+1)
		}
	}
	c.Quiet(300 * time.Millisecond) // nothing for the A orders
	if !logS.has("resent=10 ") {
		t.Error("the gateway did not log the resend")
	}
}

// TestPromotionResendsWhatABrokerNeverGot: reports the old primary
// published, but that never reached a broker, are resent after a
// failover; those its broker's TCP stack acknowledged are not. BROKER01
// rests a GTC buy and goes away (cancel-on-disconnect spares GTC orders);
// BROKER02's sell fills it. The primary hands both fill reports to its
// sessions: BROKER02's reaches its broker, BROKER01's waits in its session
// store for a reconnect that never comes, since the primary dies. On the
// promoted standby BROKER01 gets its fill with PossResend=Y, BROKER02
// nothing. The published seq alone (what the heartbeat said before
// delivery marks) would have resent nothing. BROKER01 speaks FIX 4.4, then
// FIX 4.2 (its fill then has ExecType 2 and ExecTransType 0).
func TestPromotionResendsWhatABrokerNeverGot(t *testing.T) {
	t.Run("FIX.4.4", func(t *testing.T) { promotionResendsWhatABrokerNeverGot(t, quickfix.BeginStringFIX44, "F") })
	t.Run("FIX.4.2", func(t *testing.T) { promotionResendsWhatABrokerNeverGot(t, quickfix.BeginStringFIX42, "2") })
}

func promotionResendsWhatABrokerNeverGot(t *testing.T, begin1, fillExecType string) {
	dirP := t.TempDir()
	var logP, logS logLines
	cfgP := replCfg(dirP, "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	cfgP.FIX.Sessions[0].BeginString = begin1
	p, err := node.Start(cfgP, node.Options{Log: logP.Tee(t, "P").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)

	b1 := fixtest.Dial(t, cfgP.FIX.Listen, begin1, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "GTC1", tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "1")
	waitConfirmed(t, p, 1, execSeq(t, expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "GTC1"})), 1)
	b1.Close()
	b2 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	b2.Send("D", tag.ClOrdID, "SELL1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "0")
	expect(t, "BROKER02's order", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "SELL1"})
	expect(t, "BROKER02's fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "SELL1"})
	sellSeq := lastSeq(p)

	// The standby has heard that BROKER02 got everything to its fill, and
	// that the fill's command was published.
	waitUntil(t, "the standby hears BROKER02's delivery mark", func() bool {
		return heard(s, sellSeq, 2, sellSeq)
	})
	st, _ := s.ReplicationStats()
	if got := st.PrimaryDelivered[1]; got/matcher.ExecIDStride >= sellSeq {
		t.Fatalf("BROKER01's delivery mark %d covers the fill's command %d, but BROKER01 was away", got, sellSeq)
	}
	b2.Close()
	failOver(t, p, s)
	if !logS.has("PROMOTION: reports the old primary's brokers may lack", " reports=1 ", `found="by the delivery marks`) {
		t.Error("no promotion log line counting one report by delivery marks")
	}

	b1 = fixtest.Dial(t, cfgS.FIX.Listen, begin1, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's fill after the failover: PossResend(97) %q, want Y", pr)
	}
	expect(t, "BROKER01's fill after the failover", m, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: fillExecType, tag.OrdStatus: "2", tag.ClOrdID: "GTC1", tag.LastQty: "10", tag.LastPx: "100.00",
	})
	b1.Quiet(300 * time.Millisecond)
	b2b := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2b.Close()
	b2b.Quiet(300 * time.Millisecond) // BROKER02 had both its reports
}

// TestPromotionRebuildsReportsBeyondTheBuffer: a broker away for longer
// than the standby's buffer of recent events still gets, after a failover,
// the report its old primary never got to it: the promoted standby rebuilds
// it from the journal (from the newest snapshot before the broker's mark),
// with the ExecID it had. A report made on the new primary before the
// broker's Logon waits for the broker too, and comes after the rebuilt one,
// instead of going to a session store that the broker's ResetSeqNumFlag=Y
// empties.
func TestPromotionRebuildsReportsBeyondTheBuffer(t *testing.T) {
	defer node.SetRecentEventsBound(16)()
	dirP := t.TempDir()
	var logS logLines
	cfgP := replCfg(dirP, "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p, err := node.Start(cfgP, node.Options{Log: logtest.Named(t, "P")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)
	// BROKER02 stays on while the filler (its resting buys, one New report
	// each) goes by, and reads every report: its mark covers them.
	b2 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	var lastB2 int64 // the command of BROKER02's last report
	filler := func(prefix string, count int) {
		for i := range count {
			if err := p.Submit(order(2, fmt.Sprintf("%s%d", prefix, i), matcher.Buy, int64(50+i%5), 1)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range count {
			f := expect(t, fmt.Sprintf("BROKER02's filler %d", i), b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
			id, _ := strconv.ParseInt(f[tag.ExecID], 10, 64)
			lastB2 = id / matcher.ExecIDStride
		}
	}
	filler("F", 45) // a snapshot (every 40 commands) before BROKER01's mark

	b1 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	for _, o := range []struct{ id, px string }{{"GTC1", "100"}, {"GTC2", "99"}} {
		b1.Send("D", tag.ClOrdID, o.id, tag.HandlInst, "1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10",
			tag.OrdType, "2", tag.Price, o.px, tag.TimeInForce, "1")
		waitConfirmed(t, p, 1, execSeq(t, expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: o.id})), 1)
	}
	b1.Close()
	b2.Send("D", tag.ClOrdID, "SELL1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "0")
	expect(t, "BROKER02's order", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "SELL1"})
	fill2 := expect(t, "BROKER02's fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "SELL1"})
	// The sell's command: BROKER01's cancel-on-disconnect (a command per
	// symbol) may come before or after it.
	id, err := strconv.ParseInt(fill2[tag.ExecID], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	sellSeq := id / matcher.ExecIDStride
	filler("G", 30) // pushes BROKER01's fill out of the standby's 16 events
	waitUntil(t, "the standby has everything and hears BROKER02 got it all", func() bool {
		return heard(s, lastSeq(p), 2, lastB2)
	})
	b2.Close()
	failOver(t, p, s)
	if !logS.has("are no longer in the buffer", "target_comp_id=BROKER01 ") {
		t.Error("the promotion did not say BROKER01's reports are rebuilt from the journal")
	}
	if logS.has("are no longer in the buffer", "target_comp_id=BROKER02 ") {
		t.Error("BROKER02's reports are rebuilt, but its mark covered every one")
	}
	// On the new primary, before BROKER01 is back, its other order fills.
	b2 = fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b2.Send("D", tag.ClOrdID, "SELL2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "99", tag.TimeInForce, "0")
	expect(t, "BROKER02's second order", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "SELL2"})
	expect(t, "BROKER02's second fill", b2.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.ClOrdID: "SELL2"})

	b1 = fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's fill from before the failover: PossResend(97) %q, want Y", pr)
	}
	f := expect(t, "BROKER01's fill from before the failover", m, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "GTC1", tag.LastQty: "10", tag.LastPx: "100.00",
	})
	if id, err := strconv.ParseInt(f[tag.ExecID], 10, 64); err != nil || id/matcher.ExecIDStride != sellSeq {
		t.Errorf("rebuilt fill: ExecID %q, want one of command %d's (the old primary's)", f[tag.ExecID], sellSeq)
	}
	m = b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr == "Y" {
		t.Error("BROKER01's fill made on the new primary came with PossResend=Y; it was never sent before")
	}
	expect(t, "BROKER01's fill on the new primary", m, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.OrdStatus: "2", tag.ClOrdID: "GTC2", tag.LastQty: "10", tag.LastPx: "99.00",
	})
	b1.Quiet(300 * time.Millisecond)
	waitUntil(t, "the rebuild's log line", func() bool { return logS.has("PROMOTION: reports rebuilt from the journal") })
	if !logS.has("PROMOTION: reports rebuilt from the journal", `replayed_from="the snapshot at seq`) {
		t.Error("the rebuild did not start from a snapshot")
	}
}

// heard says whether the standby s has every record up to last, has heard
// the primary published them, and has heard that account's broker
// acknowledged every report up to those of command markSeq.
func heard(s *node.Node, last int64, account int, markSeq int64) bool {
	st, _ := s.ReplicationStats()
	return lastSeq(s) == last && st.PrimaryPublished >= last && len(st.PrimaryDelivered) > account &&
		st.PrimaryDelivered[account]/matcher.ExecIDStride == markSeq
}

// failOver stops the primary p and promotes the standby s.
func failOver(t *testing.T, p, s *node.Node) {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
}

// startFIXPair starts a primary serving FIX (replCfg's config with a
// free FIX port, then mod where not nil) and its standby
// (startFIXStandby, logging to logS); the primary stops when the test
// ends.
func startFIXPair(t *testing.T, mod func(*config.Config), logS *logLines) (p, s *node.Node, cfgP, cfgS config.Config) {
	t.Helper()
	cfgP = replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	if mod != nil {
		mod(&cfgP)
	}
	p, err := node.Start(cfgP, node.Options{Log: logtest.Named(t, "P")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	s, cfgS = startFIXStandby(t, cfgP, p, logS)
	return p, s, cfgP, cfgS
}

// startFIXStandby starts a standby of p, with cfgP's sessions, that opens
// FIX on a port of its own once promoted, logging to logs; the test's
// cleanup stops it.
func startFIXStandby(t *testing.T, cfgP config.Config, p *node.Node, logs *logLines) (*node.Node, config.Config) {
	t.Helper()
	cfgS := replCfg(t.TempDir(), "standby", p.ReplicationAddr().String())
	cfgS.FIX.Listen = fixtest.FreeAddr(t)
	cfgS.FIX.Sessions = slices.Clone(cfgP.FIX.Sessions)
	s, err := node.Start(cfgS, node.Options{Log: logs.Tee(t, "S").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s, cfgS
}

// waitConfirmed waits until n's delivery mark for account covers the
// first reports of the command at seq to it (gateway.markCounter): its
// broker's engine answered the TestRequest sent after them
// (fix/delivery.go: confirmation), so a failover or restart resends none
// of them. A broker that goes away before that gets them again,
// PossResend=Y.
func waitConfirmed(t *testing.T, n *node.Node, account int, seq int64, reports int64) {
	t.Helper()
	waitUntil(t, "the broker's engine to confirm its reports", func() bool {
		d := n.Delivered()
		return len(d) > account && d[account] >= gateway.MarkBefore(seq)+reports
	})
}

// confirmSession makes sure the broker's engine on c has confirmed every
// report its session was sent, those that carry no delivery mark (a
// gateway's reject) or count under another account (a firm's) too: c
// cancels an order nobody has (id: ClOrdID of the cancel), the matcher's
// reject is the session's newest report, and it waits for account's mark
// to pass every mark before it. A test that stops the node next sees no
// resend (PossResend=Y) of them ahead of the replies it expects.
func confirmSession(t *testing.T, n *node.Node, c *fixtest.Client, account int, id string) {
	t.Helper()
	var before int64
	if d := n.Delivered(); len(d) > account {
		before = d[account]
	}
	c.Send("F", tag.OrigClOrdID, "NOPE", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "1")
	expect(t, "a cancel of an order nobody has", c.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: id})
	waitUntil(t, "the broker's engine to confirm the cancel's reject", func() bool {
		d := n.Delivered()
		return len(d) > account && d[account] > before
	})
}

// execSeq is the seq of the command whose report f is (its ExecID over
// matcher.ExecIDStride).
func execSeq(t *testing.T, f map[quickfix.Tag]string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(f[tag.ExecID], 10, 64)
	if err != nil {
		t.Fatalf("ExecID %q: %v", f[tag.ExecID], err)
	}
	return id / matcher.ExecIDStride
}
