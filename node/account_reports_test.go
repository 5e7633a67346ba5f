package node_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestReportsOfAFirmAccountNameItAfterACrash: the reports of an order for
// the firm's account ACC-A carry Account (1) live and, rebuilt from the
// journal after a crash lost the session stores' last writes, resent
// (PossResend=Y) to the session and to the firm's drop copy; the reports
// of orders for the session's own account carry no tag 1, whether the
// broker named it or not.
func TestReportsOfAFirmAccountNameItAfterACrash(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	stores, saved := filepath.Join(dir, "fix"), filepath.Join(t.TempDir(), "fix")
	if err := os.CopyFS(saved, os.DirFS(stores)); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	b1 := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b1.Send("D", tag.ClOrdID, "G1", tag.Account, "ACC-A", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2",
		tag.Price, "10.00", tag.TimeInForce, "1")
	expect(t, "G1 live", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "G1", tag.Account: "ACC-A"})
	b1.Send("D", tag.ClOrdID, "O1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	noAccount(t, "O1 (no tag 1), refused for the session's cash", expect(t, "O1", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "O1"}))
	b1.Send("D", tag.ClOrdID, "O2", tag.Account, "BROKER01", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "10.00")
	noAccount(t, "O2 (tag 1 its own), refused for the session's cash", expect(t, "O2", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.ClOrdID: "O2"}))
	b1.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// The crash: the stores lose what was written since the copy.
	if err := os.RemoveAll(stores); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(stores, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	for _, who := range []string{"BROKER01", "DROPCOPY"} {
		c := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, who, "RINGEX")
		got := map[string]map[quickfix.Tag]string{}
		for range 3 {
			f := fixtest.Fields(c.Next(wait))
			got[f[tag.ClOrdID]] = f
		}
		c.Close()
		if f := got["G1"]; f == nil || f[tag.PossResend] != "Y" || f[tag.Account] != "ACC-A" {
			t.Errorf("%s: G1 rebuilt after the crash: %v, want PossResend Y and Account ACC-A", who, f)
		}
		for _, id := range []string{"O1", "O2"} {
			if f := got[id]; f == nil || f[tag.PossResend] != "Y" {
				t.Errorf("%s: %s rebuilt after the crash: %v, want PossResend Y", who, id, f)
			} else {
				noAccount(t, who+" "+id+" rebuilt", f)
			}
		}
	}
}

// noAccount fails unless report f carries no Account (1).
func noAccount(t *testing.T, who string, f map[quickfix.Tag]string) {
	t.Helper()
	if v, ok := f[tag.Account]; ok {
		t.Errorf("%s: Account %q, want none (the session's own account)", who, v)
	}
}
