package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

type discardEvents struct{}

func (discardEvents) Publish(*matcher.Event) {}

// TestVerifyRiskJournal: a journal written by a node with risk mode spot
// (tight balances, so the risk stage refuses many orders) verifies: every
// checkpoint hash, which covers the risk state, and every snapshot, which
// holds it, recomputed and equal by replaying check, match and settle.
// Replayed as a venue without risk, the same journal does not verify.
func TestVerifyRiskJournal(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Snapshot = config.Snapshot{EveryCommands: 1 << 40} // checkpoints only where the test submits them
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01", Limits: config.RiskLimits{MaxOpenOrders: 4}}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discardEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		c := riskTestCommand(r, i)
		if i%500 == 249 {
			c = matcher.Command{Kind: matcher.KindCheckpoint}
		}
		if err := n.Submit(&c); err != nil {
			t.Fatal(err)
		}
		if i%500 == 249 {
			// Funds returns once the publish stage has passed it: the
			// checkpoint is taken, and its hash record follows.
			waitPublished(t, n)
		}
	}
	rep := stopAndVerify(t, n, cfg)
	if !rep.OK() || rep.Checkpoints != 4 || rep.CheckpointsOK < 3 || rep.SnapshotsOK < 3 {
		t.Fatalf("verify of a risk journal: ok %v, checkpoints %d (%d equal), snapshots %d (%d equal), problems %v, kinds %v",
			rep.OK(), rep.Checkpoints, rep.CheckpointsOK, rep.Snapshots, rep.SnapshotsOK, rep.Problems, rep.Kinds)
	}
	none := cfg
	none.Risk = config.Risk{}
	vn, _ := VenueOf(none)
	if rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: vn}); err == nil && rep.OK() {
		t.Fatal("the risk journal verified as a venue without risk")
	}
}

func writeConfig(t *testing.T, path string, cfg config.Config) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func riskTestCommand(r *rand.Rand, i int) matcher.Command {
	a := 1 + uint32(r.IntN(4))
	sym := 1 + uint32(r.IntN(2))
	switch p := r.IntN(100); {
	case p < 6:
		c, _ := matcher.Funds{Account: a, Amount: 1 + r.Int64N(3000)}.Command()
		return c
	case p < 10:
		c, _ := matcher.Funds{Account: a, Symbol: sym, Amount: 1 + r.Int64N(30)}.Command()
		return c
	case p < 13:
		c, _ := matcher.Funds{Withdraw: true, Account: a, Amount: 1 + r.Int64N(1000)}.Command()
		return c
	case p < 18:
		return matcher.MassCancel{Account: a, Symbol: sym, Scope: matcher.ScopeAllOrders}.Command()
	}
	c := matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: sym, Side: matcher.Side(1 + r.IntN(2)),
		Type: matcher.Limit, TIF: matcher.GTC, Qty: 1 + r.Int64N(10), Price: 95 + r.Int64N(10)}
	c.ClOrdID, _ = matcher.MakeClOrdID(fmt.Sprintf("r%d", i))
	return c
}

// TestReplayAccount: `ringex replay account` shows a broker's balances
// and holds at a moment (after a seq), and at the end, as the node had
// them.
func TestReplayAccount(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discardEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit := func(c matcher.Command) {
		if err := n.Submit(&c); err != nil {
			t.Fatal(err)
		}
	}
	dep, _ := matcher.Funds{Account: 1, Amount: 100_000}.Command() // 1000.00
	mustSubmit(dep)
	inv, _ := matcher.Funds{Account: 2, Symbol: 1, Amount: 50}.Command()
	mustSubmit(inv)
	buy := matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 10, Price: 5000}
	buy.ClOrdID, _ = matcher.MakeClOrdID("b1")
	mustSubmit(buy) // holds 500.00
	sell := matcher.Command{Kind: matcher.KindNew, Account: 2, Symbol: 1, Side: matcher.Sell, Type: matcher.Limit, TIF: matcher.Day, Qty: 4, Price: 4900}
	sell.ClOrdID, _ = matcher.MakeClOrdID("s1")
	mustSubmit(sell)                                                      // trades 4 at 50.00
	if _, err := n.Funds(false, "BROKER01", "cash", "0.01"); err != nil { // waits for the publish stage
		t.Fatal(err)
	}
	live, _ := n.AccountShow("BROKER01")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	f := t.TempDir() + "/cfg.json"
	writeConfig(t, f, cfg)
	// seqs 1 to 8 are the symbols' scale records, 9 the STP venue record
	// and 10 the risk venue record (journaled before the first command)
	at := func(i int) string { return strconv.Itoa(len(cfg.Symbols) + 2 + i) }
	for _, tc := range []struct{ at, want string }{
		{at(1), "BROKER01 after seq " + at(1) + " "},
		{at(1), "open orders 0, cash 1000.00 held 0.00"},
		{at(3), "open orders 1, cash 1000.00 held 500.00"},
		{"", "open orders 1, cash 800.01 held 300.00, AAPL 4 held 0"},
	} {
		args := []string{"account", "--journal", cfg.DataDir + "/journal", "--config", f, "--broker", "BROKER01"}
		if tc.at != "" {
			args = append(args, "--at", tc.at)
		}
		var out, errOut bytes.Buffer
		code := Main(args, &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("replay account --at %q: exit %d, %q %q; want %q", tc.at, code, out.String(), errOut.String(), tc.want)
		}
	}
	t.Logf("live: %s", live)
}

// TestReplayFirmAccount: `ringex replay account --broker NAME` shows a
// firm's named account (FIX Account, tag 1) by the name the journal binds,
// with the hold of an order its firm's session placed for it; the
// session's own account holds nothing. After the session is blocked on
// its own and then the firm, each shows which blocks it holds, and the
// firm's kill switch has released the order's hold.
func TestReplayFirmAccount(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01"}, Accounts: []string{"ACC-A"}}}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Funds(false, "ACC-A", "cash", "1000"); err != nil {
		t.Fatal(err)
	}
	buy := matcher.Command{Kind: matcher.KindNew, Account: 1, Owner: matcher.FirstNamedAccount, Symbol: 1, Side: matcher.Buy,
		Type: matcher.Limit, TIF: matcher.GTC, Qty: 10, Price: 5000}
	buy.ClOrdID, _ = matcher.MakeClOrdID("b1")
	if err := n.Submit(&buy); err != nil {
		t.Fatal(err)
	}
	seq, err := n.Funds(false, "ACC-A", "cash", "0.01") // waits for the publish stage
	if err != nil {
		t.Fatal(err)
	}
	// Then BROKER01 blocked on its own, and its firm (ACC-A with it).
	if _, err := n.Block("BROKER01", false); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Block("F1", false); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	f := t.TempDir() + "/cfg.json"
	writeConfig(t, f, cfg)
	at := strconv.FormatInt(seq, 10)
	for _, tc := range []struct{ broker, at, want string }{
		{"ACC-A", at, "account 1024 ACC-A"},
		{"ACC-A", at, "blocked false, open orders 1, cash 1000.01 held 500.00"},
		{"BROKER01", at, "open orders 0, cash 0.00 held 0.00"},
		{"ACC-A", "", "blocked true (firm), open orders 0, cash 1000.01 held 0.00"},
		{"BROKER01", "", "blocked true (own, firm), open orders 0"},
	} {
		args := []string{"account", "--journal", cfg.DataDir + "/journal", "--config", f, "--broker", tc.broker}
		if tc.at != "" {
			args = append(args, "--at", tc.at)
		}
		var out, errOut bytes.Buffer
		code := Main(args, &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("replay account --broker %s: exit %d, %q %q; want %q", tc.broker, code, out.String(), errOut.String(), tc.want)
		}
	}
}

// TestReplayAccountByCompID: `ringex replay account --broker COMPID` finds
// a broker by the account the journal binds its CompID to, whatever the
// config's session list says: the list was reordered, ALPHA removed and
// GAMMA added between two runs, and replay runs with yet another order.
func TestReplayAccountByCompID(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	venue := func(compIDs ...string) config.Config {
		cfg := config.Default()
		cfg.DataDir, cfg.FIX.Listen = dir, addr
		cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
		cfg.FIX.Sessions = nil
		for _, id := range compIDs {
			cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: id})
		}
		return cfg
	}
	run := func(cfg config.Config, deposits ...string) {
		n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(deposits); i += 2 {
			if _, err := n.Funds(false, deposits[i], "cash", deposits[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	run(venue("ALPHA", "BETA"), "ALPHA", "10", "BETA", "20")
	run(venue("GAMMA", "BETA"), "GAMMA", "30", "BETA", "0.50", "ALPHA", "0.01")
	f := t.TempDir() + "/cfg.json"
	writeConfig(t, f, venue("BETA", "GAMMA"))
	for _, tc := range []struct{ broker, want string }{
		{"ALPHA", "account 1 ALPHA"},
		{"ALPHA", "cash 10.01 held 0.00"},
		{"BETA", "account 2 BETA"},
		{"BETA", "cash 20.50 held 0.00"},
		{"GAMMA", "account 3 GAMMA"},
		{"GAMMA", "cash 30.00 held 0.00"},
	} {
		var out, errOut bytes.Buffer
		code := Main([]string{"account", "--journal", dir + "/journal", "--config", f, "--broker", tc.broker}, &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("replay account --broker %s: exit %d, %q %q; want %q", tc.broker, code, out.String(), errOut.String(), tc.want)
		}
	}
}
