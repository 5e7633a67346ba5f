package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// Price bands over FIX: AAPL has priceBand "1.00" around refPrice
// "100.00". A buy at 101.01 is Rejected (OrdRejReason 3, order exceeds
// limit) with a Text naming the band; one at 101.00 rests. The band is
// journaled, not read from the config on replay: the venue restarts with
// priceBand "5.00", and the replay still rejected the buy at 101.01 (a
// sell at 101.01 finds no buyer there) while a new buy at 104.00 is
// inside the new band. A bad band is refused at start, naming the key.
func TestPriceBandOverFIXIsJournaled(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	cfg.Symbols[0].PriceBand, cfg.Symbols[0].RefPrice = "1.00", "100.00"
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	refused(t, b1, "buy at 101.01, outside 1.00 around 100.00", "B1", "AAPL", "1", "1", "2", "101.01", "3", "price band")
	rests(t, b1, "buy at 101.00", "B2", "AAPL", "1", "1", "101.00")
	// BROKER01's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the replies expected.
	waitConfirmed(t, n, 1, execSeq(t, refused(t, b1, "buy at 98.99", "B3", "AAPL", "1", "1", "2", "98.99", "3", "price band")), 1)
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg.Symbols[0].PriceBand = "5.00"
	n = startCfg(t, cfg)
	defer n.Stop()
	b1 = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "101.01", tag.TimeInForce, "3")
	expect(t, "IOC sell at 101.01", b2.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "0", tag.ClOrdID: "S1"})
	expect(t, "IOC sell at 101.01 finds no buyer (the rejected buy did not rest on replay)", b2.Next(wait),
		map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "C", tag.CumQty: "0"})
	rests(t, b1, "buy at 104.00, inside the new band of 5.00", "B4", "AAPL", "1", "1", "104.00")
	refused(t, b1, "buy at 105.01", "B5", "AAPL", "1", "1", "2", "105.01", "3", "price band")

	for key, edit := range map[string]func(*config.Symbol){
		"priceBand": func(s *config.Symbol) { s.PriceBand = "0.005" },
		"refPrice":  func(s *config.Symbol) { s.RefPrice = "-1" },
	} {
		bad := cfg
		bad.Symbols = append([]config.Symbol(nil), cfg.Symbols...)
		edit(&bad.Symbols[0])
		bad.DataDir = t.TempDir()
		bad.FIX.Listen = fixtest.FreeAddr(t)
		if err := bad.Check(); err != nil {
			t.Fatalf("%s: Check: %v", key, err)
		}
		if m, err := node.Start(bad, node.Options{Log: logtest.New(t)}); err == nil || !strings.Contains(err.Error(), key) {
			if m != nil {
				m.Stop()
			}
			t.Errorf("start with a bad %s: %v; want a refusal naming it", key, err)
		}
	}
}

// A band from the config and a blocked firm are both engine state: a
// checkpoint taken while both are in force (engine snapshot version 7)
// restores at the next start, its state hash verified, with the firm
// still blocked and the band still in force.
func TestBandAndBlockedFirmSurviveACheckpoint(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Risk.Mode = config.RiskModeLimits
	cfg.Symbols[0].PriceBand, cfg.Symbols[0].RefPrice = "1.00", "100.00"
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n := startCfg(t, cfg)
	after, err := n.Block("F1", false)
	if err != nil {
		t.Fatal(err)
	}
	awaitSnapshotAt(t, dir, after)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	refused(t, b1, "BROKER01 of blocked firm F1 after a restart from the checkpoint", "N1", "AAPL", "1", "1", "2", "100.00", "99", "kill switch")
	b4 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER04", "RINGEX")
	defer b4.Close()
	refused(t, b4, "buy at 101.01 after a restart from the checkpoint", "N2", "AAPL", "1", "1", "2", "101.01", "3", "price band")
	rests(t, b4, "buy at 101.00 after a restart from the checkpoint", "N3", "AAPL", "1", "1", "101.00")
}
