package node_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// dropCopy42Config is dropCopyConfig plus COPY42 (account 10), a FIX 4.2
// drop copy of BROKER01 and BROKER02 (its name shares no part with
// DROPCOPY's, so that restoreStore finds each one's store alone).
func dropCopy42Config(t *testing.T, dir string) config.Config {
	cfg := dropCopyConfig(t, dir)
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.2", TargetCompID: "COPY42",
		DropCopyOf: []string{"BROKER01", "BROKER02"}})
	return cfg
}

// dialStock logs a drop copy on with a broker's engine that validates what
// it receives with its version's stock data dictionary (quickfixgo's
// FIX42.xml or FIX44.xml, unchanged).
func dialStock(t *testing.T, addr, begin, sender string) *fixtest.Client {
	t.Helper()
	file := "FIX44.xml"
	if begin == quickfix.BeginStringFIX42 {
		file = "FIX42.xml"
	}
	return fixtest.Dial(t, addr, begin, sender, "RINGEX", fixtest.WithDataDictionary(fixtest.StockDictionary(t, file)))
}

// TestDropCopyFIX42StockDictionary: FIX 4.2 defines no CopyMsgIndicator
// (797, FIX 4.3 on), so a broker's FIX 4.2 engine validating with its
// stock dictionary would refuse every copy that carried it. COPY42, such
// an engine, the drop copy of BROKER01 and BROKER02, takes every copy
// (none is answered with a session Reject): of the gateway's own rejects
// (an ExecutionReport Rejected, an OrderCancelReject), of a New, the
// fills of a trade, a Canceled, and the matcher's cancel reject, each
// the report the broker got (same ExecID), none with 797. DROPCOPY, FIX
// 4.4, gets each with 797=Y, and so does MARKED42, a FIX 4.2 drop copy
// whose session says its engine's dictionary adds the tag
// (copyMsgIndicator).
func TestDropCopyFIX42StockDictionary(t *testing.T) {
	cfg := dropCopy42Config(t, t.TempDir())
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.2", TargetCompID: "MARKED42",
		DropCopyOf: []string{"BROKER01", "BROKER02"}, CopyMsgIndicator: true})
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	dc44 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc44.Close()
	dc42 := dialStock(t, cfg.FIX.Listen, quickfix.BeginStringFIX42, "COPY42")
	defer dc42.Close()
	marked := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX42, "MARKED42", "RINGEX")
	defer marked.Close()
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()

	newOrder := func(b *fixtest.Client, id, sym, side, px, qty string) {
		b.Send("D", tag.ClOrdID, id, tag.Symbol, sym, tag.Side, side, tag.OrdType, "2", tag.Price, px, tag.OrderQty, qty)
	}
	cancel := func(id, orig string) {
		b1.Send("F", tag.ClOrdID, id, tag.OrigClOrdID, orig, tag.Symbol, "AAPL", tag.Side, "1")
	}
	newOrder(b1, "BAD1", "NOPE", "1", "100", "1")        // the gateway's ExecutionReport Rejected
	cancel("X1", "AN-ORIGCLORDID-OF-30-CHARACTER")       // the gateway's OrderCancelReject
	brokers := reportsUntil(t, "BROKER01", b1, "X1", "") // MsgType 9: no ExecType
	newOrder(b1, "B1", "AAPL", "1", "100", "10")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B1", "0")...)
	newOrder(b2, "S2", "AAPL", "2", "100", "10")
	brokers = append(brokers, reportsUntil(t, "BROKER02", b2, "S2", "F")...)
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B1", "F")...)
	newOrder(b1, "B3", "AAPL", "1", "90", "4")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B3", "0")...)
	cancel("C3", "B3")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "C3", "4")...)
	cancel("C4", "B1") // filled: the matcher's OrderCancelReject
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "C4", "")...)

	// A copy is the broker's report: same MsgType, ClOrdID and ExecID
	// (an OrderCancelReject has none); ExecType differs by version (a
	// fill is F in FIX 4.4, 2 in FIX 4.2).
	key := func(f map[quickfix.Tag]string) string {
		return f[tag.MsgType] + "/" + f[tag.ClOrdID] + "/" + f[tag.ExecID]
	}
	for _, dc := range []struct {
		name   string
		c      *fixtest.Client
		want97 string
	}{{"DROPCOPY", dc44, "Y"}, {"COPY42", dc42, ""}, {"MARKED42", marked, "Y"}} {
		want := map[string]bool{}
		for _, f := range brokers {
			want[key(f)] = true
		}
		if len(want) != 9 {
			t.Fatalf("brokers got %d reports, want 9 (the gateway's 2 rejects, 3 New, 2 fills, a Canceled, the matcher's cancel reject): %v", len(want), brokers)
		}
		for _, f := range reportsUntil(t, dc.name, dc.c, "C4", "") {
			if f[tag.CopyMsgIndicator] != dc.want97 || f[tag.PossResend] != "" {
				t.Errorf("%s: %v, want CopyMsgIndicator %q and no PossResend", dc.name, f, dc.want97)
			}
			if !want[key(f)] {
				t.Errorf("%s: %v, which no broker got as such", dc.name, f)
			}
			delete(want, key(f))
		}
		if len(want) > 0 {
			t.Errorf("%s lacks copies of %v", dc.name, want)
		}
	}
}
