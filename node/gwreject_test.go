package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestGatewayRejectReachesItsBrokerAfterAFailover: BROKER01 sends an
// order for a symbol the venue does not list and leaves at once, before
// its engine can confirm the gateway's reject (fix/delivery.go). The
// primary journals the refusal (a KindReject record), replicates it and
// reports it; then it fails over. On the promoted standby BROKER01's
// first report is that reject, PossResend=Y, with the ExecID the primary
// gave it (the record's seq × ExecIDStride) and its Text: rebuilt from
// the journal like any report, where before it lived only in the old
// primary's session store.
func TestGatewayRejectReachesItsBrokerAfterAFailover(t *testing.T) {
	var logS logLines
	p, s, cfgP, cfgS := startFIXPair(t, nil, &logS)

	b1 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "OK0", tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1",
		tag.TimeInForce, "1") // GTC: a logout leaves it
	okSeq := execSeq(t, expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "OK0"}))
	waitConfirmed(t, p, 1, okSeq, 1)
	b1.Send("D", tag.ClOrdID, "BAD1", tag.Symbol, "NOPE", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1")
	b1.Close() // gone before its engine confirms the reject
	waitUntil(t, "the standby has the reject and hears it was published", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(p) > okSeq && lastSeq(s) == lastSeq(p) && st.PrimaryPublished >= lastSeq(p)
	})
	failOver(t, p, s)

	b1 = fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's reject after the failover: PossResend(97) %q, want Y", pr)
	}
	got := expect(t, "BROKER01's reject after the failover", m, map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "8",
		tag.OrdStatus: "8", tag.ClOrdID: "BAD1", tag.Symbol: "NOPE", tag.Side: "1", tag.Text: "unknown symbol NOPE", tag.OrdRejReason: "1"})
	if seq := execSeq(t, got); seq != okSeq+1 {
		t.Errorf("ExecID %s: seq %d, want the reject record's, %d", got[tag.ExecID], seq, okSeq+1)
	}
	b1.Quiet(300 * time.Millisecond)
}

// TestThrottledBadOrdersJournalNoMoreThanTheThrottleLets: BROKER03,
// throttled to 1 message a second, sends 20 orders for a symbol the
// venue does not list at once. The FIX session refuses those over the
// throttle (BusinessMessageReject) before the gateway sees them; only
// those it lets through become reject records: the journal grows by
// exactly the ExecutionReports Rejected BROKER03 got, fewer than 20.
func TestThrottledBadOrdersJournalNoMoreThanTheThrottleLets(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions[2].ThrottleMsgsPerSec = 1
	if cfg.FIX.Sessions[2].TargetCompID != "BROKER03" {
		t.Fatalf("session 2 is %s", cfg.FIX.Sessions[2].TargetCompID)
	}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	bound := n.Stats()[0].Events // the accounts' bindings, journaled at start
	c := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer c.Close()
	const sent = 20
	for i := range sent {
		c.Send("D", tag.ClOrdID, fmt.Sprintf("Z%d", i), tag.Symbol, "NOPE", tag.Side, "1", tag.OrdType, "2", tag.Price, "1", tag.OrderQty, "1")
	}
	rejected := 0
	for range sent {
		switch f := fixtest.Fields(c.Next(wait)); {
		case f[tag.MsgType] == "8" && f[tag.ExecType] == "8":
			rejected++
		case f[tag.MsgType] != "j":
			t.Fatalf("got %v, want a reject or a throttle's BusinessMessageReject", f)
		}
	}
	if rejected == 0 || rejected == sent {
		t.Fatalf("%d of %d orders sent at once were rejected by the gateway, want some (and the rest throttled)", rejected, sent)
	}
	if got := n.Stats()[0].Events - bound; got != uint64(rejected) {
		t.Errorf("the ring took %d records, want one per reject sent (%d)", got, rejected)
	}
}

// TestGatewayRejectRebuiltAfterAPowerLoss: BROKER01's reject of an order
// for a symbol the venue does not list is journaled; the node stops and
// BROKER01's session store comes back empty (a power loss before it was
// fsynced, simulated by truncating its files). After the restart
// BROKER01's Logon brings the reject again, rebuilt from the journal
// with PossResend=Y and the same ExecID and Text.
func TestGatewayRejectRebuiltAfterAPowerLoss(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	n, err := node.Start(cfg, node.Options{Log: logtest.Named(t, "1")})
	if err != nil {
		t.Fatal(err)
	}
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "BAD1", tag.Symbol, "NOPE", tag.Side, "2", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1")
	live := expect(t, "BROKER01's reject", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "BAD1"})
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	emptyStore(t, dir, "BROKER01")
	n, err = node.Start(cfg, node.Options{Log: logtest.Named(t, "2")})
	if err != nil {
		t.Fatalf("restart after the power loss: %v", err)
	}
	defer n.Stop()
	b1 = fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	m := b1.Next(wait)
	if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
		t.Errorf("BROKER01's reject after the restart: PossResend(97) %q, want Y", pr)
	}
	expect(t, "BROKER01's reject after the restart", m, map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "8",
		tag.ClOrdID: "BAD1", tag.Symbol: "NOPE", tag.Side: "2", tag.ExecID: live[tag.ExecID], tag.Text: live[tag.Text],
		tag.TransactTime: live[tag.TransactTime]})
}

// TestRefusedMassCancelClOrdIDSameAfterRestart: BROKER01 sends two
// mass cancels for a symbol the venue does not list, M1 and M2; the
// gateway refuses both (journaled reject records). Then, live, it sends a
// new order with ClOrdID M1, and, after a restart on the same journal
// (session store intact), a new order with ClOrdID M2. The exchange's
// answer to the same input must not depend on a restart in between:
// either a refused mass cancel's ClOrdID is used (both orders refused as
// duplicates) or it is not (both accepted). A refused message leaves its
// ClOrdID unused (gateway/reject.go): the live gateway claims a mass
// cancel's ClOrdID only once its checks pass (onMassCancel), and a restart
// rebuilds used ClOrdIDs from the commands taken, not from the KindReject
// record (rememberClOrdIDs), so both orders are accepted.
func TestRefusedMassCancelClOrdIDSameAfterRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	for _, id := range []string{"M1", "M2"} {
		b1.Send("q", tag.ClOrdID, id, tag.MassCancelRequestType, "1", tag.Symbol, "NOPE")
		expect(t, "mass cancel "+id, b1.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: id, tag.MassCancelResponse: "0"})
	}
	order := func(c *fixtest.Client, id string) map[quickfix.Tag]string {
		c.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1",
			tag.TimeInForce, "1")
		return fixtest.Fields(c.NextNew(wait))
	}
	live := order(b1, "M1")
	b1.Close()
	_, b1 = restartBroker01(t, n, cfg, cfg.FIX.Listen)
	restarted := order(b1, "M2")
	if live[tag.ExecType] != restarted[tag.ExecType] || live[tag.Text] != restarted[tag.Text] {
		t.Errorf("a new order reusing a refused mass cancel's ClOrdID: live ExecType %q Text %q; after a restart ExecType %q Text %q; want the same answer",
			live[tag.ExecType], live[tag.Text], restarted[tag.ExecType], restarted[tag.Text])
	}
	if live[tag.ExecType] != "0" {
		t.Errorf("a new order reusing a refused mass cancel's ClOrdID: ExecType %q Text %q, want it accepted (a refused message leaves its ClOrdID unused)",
			live[tag.ExecType], live[tag.Text])
	}
}
