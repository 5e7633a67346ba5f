package node_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

// Kill switch: "blocks an account ... and cancels every working order of
// it, GTC included, through the ring", as one record. BROKER01 rests a GTC
// buy; the block record alone goes through the ring (what node.Block
// journals) and the node stops, as a crash right after it would. The block
// record itself cancels the account's working orders in every partition,
// so the account is blocked with no working order at once, and after the
// restart; were an order still working, BROKER02's sell would trade with
// the blocked account's buy, which the test would report.
func TestKillSwitchCancelsSurviveACrashAfterTheBlock(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Risk.Mode = config.RiskModeLimits
	n := startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	rests(t, b1, "GTC buy", "G1", "AAPL", "1", "5", "10.00")
	show, _ := n.AccountShow("BROKER01")
	if !strings.HasPrefix(show, "account 1 BROKER01 ") {
		t.Fatalf("account show BROKER01 = %q, want account 1", show)
	}
	block, err := matcher.AccountBlock{Account: 1}.Command()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Submit(&block); err != nil {
		t.Fatal(err)
	}
	// The block record alone cancels the account's orders (every
	// partition applies it): nothing is left for a crash to leave working.
	wantShow(t, n, "BROKER01", "blocked true (own) openOrders 0")
	b1.Close()
	n, b1 = restartBroker01(t, n, cfg, addr)
	show, _ = n.AccountShow("BROKER01")
	if strings.HasSuffix(show, "blocked true (own) openOrders 0") {
		return
	}
	t.Errorf("after the restart: %q, want the blocked account with no working order", show)
	b2 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b2.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	fill := reportsUntil(t, "BROKER01", b1, "G1", "F")
	t.Errorf("blocked BROKER01's G1 traded after the block: %v", fill[len(fill)-1])
}
