package node_test

import (
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// TestDropCopyGetsTheGatewaysRejectAfterAFailover: DROPCOPY (drop copy of
// every session) is away while BROKER01, on the primary, sends an order
// for a symbol the venue does not list (the gateway rejects it itself,
// 150=8) and then a valid order. The primary fails over. DROPCOPY's first
// Logon on the new primary brings the copies of both: the reject is
// journaled (a KindReject record), so it is rebuilt and resent like the
// New of OK1 (97=Y, 797=Y), not lost with the old primary's session store.
func TestDropCopyGetsTheGatewaysRejectAfterAFailover(t *testing.T) {
	var logS logLines
	p, s, cfgP, cfgS := startFIXPair(t, func(c *config.Config) {
		c.FIX.Sessions = append(c.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY", DropCopyOf: []string{"*"}})
	}, &logS)

	b1 := fixtest.Dial(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "BAD1", tag.Symbol, "NOPE", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1")
	expect(t, "BROKER01's unknown symbol", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "BAD1"})
	b1.Send("D", tag.ClOrdID, "OK1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrdType, "2", tag.Price, "100", tag.OrderQty, "1")
	expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "OK1"})
	b1.Close()
	waitUntil(t, "the standby has the order and hears it was published", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(p) >= 1 && lastSeq(s) == lastSeq(p) && st.PrimaryPublished >= lastSeq(p)
	})
	failOver(t, p, s)

	dc := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	copies := reportsUntil(t, "DROPCOPY", dc, "OK1", "0")
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, m := range dc.Drain() { // anything that follows, for at most 1 s
			copies = append(copies, fixtest.Fields(m))
		}
	}
	for _, f := range copies {
		if f[tag.ClOrdID] == "BAD1" && f[tag.ExecType] == "8" && f[tag.CopyMsgIndicator] == "Y" {
			return
		}
	}
	t.Fatalf("DROPCOPY on the promoted standby never got the copy of BROKER01's reject of BAD1 (150=8, 797=Y); it got %v", copies)
}
