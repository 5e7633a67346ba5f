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
// (797, FIX 4.4 on), so a broker's FIX 4.2 engine validating with its
// stock dictionary would refuse every copy that carried it. COPY42, such
// an engine, the drop copy of BROKER01 and BROKER02, takes every copy
// (none is answered with a session Reject): of the gateway's own rejects
// (an ExecutionReport Rejected, an OrderCancelReject), of a New, the
// fills of a trade, a Canceled, the matcher's cancel reject and a mass
// cancel's Canceled, each the report the broker got (same ExecID), none
// with 797; not the OrderMassCancelReports (a mass cancel's, the
// gateway's refusal of one), which FIX 4.2 does not have.
// DROPCOPY, FIX 4.4 with its stock dictionary, takes every copy too, the
// mass cancel report included, its ExecutionReports with 797=Y and the
// rest without (FIX 4.4 defines 797 in no OrderCancelReject or
// OrderMassCancelReport); MARKED42, a FIX 4.2 drop copy whose session
// says its engine's dictionary adds the tag (copyMsgIndicator), gets
// 797=Y on its ExecutionReports.
func TestDropCopyFIX42StockDictionary(t *testing.T) {
	cfg := dropCopy42Config(t, t.TempDir())
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.2", TargetCompID: "MARKED42",
		DropCopyOf: []string{"BROKER01", "BROKER02"}, CopyMsgIndicator: true})
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	dc44 := dialStock(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "DROPCOPY")
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
	newOrder(b1, "B5", "AAPL", "1", "80", "3")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B5", "0")...)
	b1.Send("q", tag.ClOrdID, "M1", tag.MassCancelRequestType, "7") // B5's Canceled, an OrderMassCancelReport
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "M1", "")...)
	b1.Send("q", tag.ClOrdID, "M0", tag.MassCancelRequestType, "1", tag.Symbol, "ZZZZ") // the gateway's OrderMassCancelReport rejecting it
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "M0", "")...)
	newOrder(b1, "B6", "AAPL", "1", "70", "1") // its New's copy comes after any of the mass cancel's
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B6", "0")...)

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
		fix42  bool
	}{{"DROPCOPY", dc44, "Y", false}, {"COPY42", dc42, "", true}, {"MARKED42", marked, "Y", true}} {
		want := map[string]bool{}
		for _, f := range brokers {
			if !(dc.fix42 && f[tag.MsgType] == "r") { // FIX 4.2 has no OrderMassCancelReport
				want[key(f)] = true
			}
		}
		n := 14
		if dc.fix42 {
			n -= 2
		}
		if len(want) != n {
			t.Fatalf("%s: brokers got %d reports it should copy, want %d (the gateway's 2 rejects, 5 New, 2 fills, 2 Canceled, "+
				"the matcher's cancel reject, 2 mass cancel reports but to FIX 4.2): %v", dc.name, len(want), n, brokers)
		}
		for _, f := range reportsUntil(t, dc.name, dc.c, "B6", "0") {
			want97 := dc.want97
			if f[tag.MsgType] != "8" {
				want97 = "" // no version has 797 in an OrderCancelReject or an OrderMassCancelReport
			}
			if f[tag.CopyMsgIndicator] != want97 || f[tag.PossResend] != "" {
				t.Errorf("%s: %v, want CopyMsgIndicator %q and no PossResend", dc.name, f, want97)
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
