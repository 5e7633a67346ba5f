package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestAccountCommands: `ringex account` over the admin endpoint deposits,
// shows, refuses a withdrawal of more than is there and withdraws, with
// the admin token; without it, nothing moves. It blocks and unblocks a
// session and a firm, and the block of @fees is refused, saying why. A
// member's own block and its firm's are independent: the member's unblock
// says it stays blocked by its firm, the firm's unblock names the members
// that stay blocked by their own block, and show says which blocks hold.
func TestAccountCommands(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = fixtest.FreeAddr(t)
	cfg.Replication.AdminToken = "s3cret"
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER02", "BROKER03"}}}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	defer serveAdmin(cfg, n)()
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		verb, rest := args[0], args[1:]
		code := accountMain(append([]string{verb, "--admin", cfg.Replication.Admin}, rest...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"deposit", "BROKER01", "cash", "100.50"}, 1, "unauthorized"},
		{[]string{"deposit", "--token", "s3cret", "BROKER01", "cash", "100.50"}, 0, "ok deposit at sequence"},
		{[]string{"deposit", "--token", "s3cret", "BROKER01", "AAPL", "7"}, 0, "ok deposit at sequence"},
		{[]string{"deposit", "--token", "s3cret", "BROKER01", "cash", "0.001"}, 1, "not a positive whole number of risk.cashUnit"},
		{[]string{"withdraw", "--token", "s3cret", "BROKER01", "cash", "100.51"}, 1, "more than is free"},
		{[]string{"withdraw", "--token", "s3cret", "BROKER01", "cash", "0.50"}, 0, "ok withdraw at sequence"},
		{[]string{"show", "--token", "s3cret", "BROKER01"}, 0, "openOrders 0 cash 100.00 held 0.00 AAPL 7 held 0"},
		{[]string{"show", "--token", "s3cret", "NOBODY"}, 1, "no session"},
		{[]string{"block", "--token", "s3cret", "BROKER01"}, 0, "ok block at sequence"},
		{[]string{"show", "--token", "s3cret", "BROKER01"}, 0, "blocked true"},
		{[]string{"unblock", "--token", "s3cret", "BROKER01"}, 0, "ok unblock at sequence"},
		{[]string{"block", "--token", "s3cret", "@fees"}, 1, "@fees is the venue's fee account (account 0): it holds the fees collected and places no orders, so it cannot be blocked"},
		{[]string{"block", "--token", "s3cret", "BROKER02"}, 0, "ok block at sequence"},
		{[]string{"block", "--token", "s3cret", "F1"}, 0, "ok block at sequence"},
		{[]string{"show", "--token", "s3cret", "BROKER02"}, 0, "blocked true (own, firm F1) openOrders 0"},
		{[]string{"unblock", "--token", "s3cret", "BROKER02"}, 0, "BROKER02's own block is lifted; it stays blocked by firm F1's block until F1 is unblocked\n"},
		{[]string{"show", "--token", "s3cret", "BROKER02"}, 0, "blocked true (firm F1) openOrders 0"},
		{[]string{"block", "--token", "s3cret", "BROKER02"}, 0, "ok block at sequence"},
		{[]string{"unblock", "--token", "s3cret", "F1"}, 0, "firm F1's block is lifted from each of its members; these stay blocked by their own block until unblocked by name: BROKER02\n"},
		{[]string{"show", "--token", "s3cret", "BROKER02"}, 0, "blocked true (own) openOrders 0"},
		{[]string{"show", "--token", "s3cret", "BROKER03"}, 0, "blocked false openOrders 0"},
		{[]string{"unblock", "--token", "s3cret", "BROKER02"}, 0, "ok unblock at sequence"},
		{[]string{"show", "--token", "s3cret", "BROKER02"}, 0, "blocked false openOrders 0"},
		{[]string{"block", "--token", "s3cret", "F1"}, 0, "ok block at sequence"},
		{[]string{"unblock", "--token", "s3cret", "F1"}, 0, "firm F1's block is lifted from each of its members; none is blocked on its own\n"},
	}
	for _, s := range steps {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.out) {
			t.Errorf("account %v: exit %d, %q; want %d and %q", s.args, code, out, s.code, s.out)
		}
	}
}
