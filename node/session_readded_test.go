package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestSessionReaddedByARollingFailoverGetsItsFill: BROKER03 rests a
// GTC sell. The operator takes BROKER03's session out of the primary's
// config (a restart; its account stays bound in the journal) while the
// order rests, and BROKER01's buy fills it: the fill is journaled, but no
// session is there to take it. The operator then puts BROKER03 back the
// usual rolling way: the standby's config has it, the primary fails over
// to it, and BROKER03 logs on to the new primary.
// The broker expects the fill it missed (PossResend=Y), as a single node
// restarted with BROKER03 back gives it (TestRemovedSessionKeepsItsAccount).
// The old primary's heartbeats carry mark 0 for an account without a
// session; before the fix the standby read it as "everything published
// was delivered", and the promotion resent nothing to BROKER03. Now 0 is
// unknown: the standby keeps the last mark it heard for the account
// (replica.Receiver.PrimaryDelivered), or resends every report.
func TestSessionReaddedByARollingFailoverGetsItsFill(t *testing.T) {
	var logP, logS logLines
	sessions := func(ids ...string) (out []config.Session) {
		for _, id := range ids {
			out = append(out, config.Session{BeginString: "FIX.4.4", TargetCompID: id})
		}
		return out
	}
	cfgP := replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	cfgP.FIX.Sessions = sessions("BROKER01", "BROKER02", "BROKER03")
	p := startFIXNode(t, cfgP, &logP, "P")
	cfgP.Replication.Listen = p.ReplicationAddr().String()
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)

	b3 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	b3.Send("D", tag.ClOrdID, "S3", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "1")
	expect(t, "BROKER03's GTC sell", b3.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "S3"})
	b3.Close()

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	cfgP.FIX.Sessions = sessions("BROKER01", "BROKER02") // BROKER03 taken out
	p = startFIXNode(t, cfgP, &logP, "P2")
	b1 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "4",
		tag.OrdType, "2", tag.Price, "101", tag.TimeInForce, "0")
	expect(t, "BROKER01's buy", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1"})
	expect(t, "BROKER01's fill against BROKER03's sell", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.LastQty: "4"})
	b1.Close()
	waitUntil(t, "the standby has the fill and hears it was published", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(s) == lastSeq(p) && st.PrimaryPublished >= lastSeq(p)
	})
	failOver(t, p, s)

	b3 = fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()
	awaitReport(t, "BROKER03 back on the new primary: the fill it missed while it had no session", b3, map[quickfix.Tag]string{
		tag.MsgType: "8", tag.ExecType: "F", tag.ClOrdID: "S3", tag.LastQty: "4", tag.PossResend: "Y"})
}
