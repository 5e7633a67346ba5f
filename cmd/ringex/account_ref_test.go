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

// accountRun runs `ringex account VERB --admin ADDR ARGS...`: its exit
// status, stdout and stderr.
func accountRun(addr, verb string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := accountMain(append([]string{verb, "--admin", addr}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestAccountRefRetriesSafely: `ringex account deposit --ref R` run twice
// deposits once (the second answers "already applied" with the first
// sequence); without --ref each invocation is a request of its own; a
// block retried with its ref is not journaled again.
func TestAccountRefRetriesSafely(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = fixtest.FreeAddr(t)
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	defer serveAdmin(cfg, n)()
	adm := cfg.Replication.Admin
	code, first, _ := accountRun(adm, "deposit", "--ref", "ops-42", "BROKER01", "cash", "10")
	if code != 0 || !strings.HasPrefix(first, "ok deposit at sequence ") {
		t.Fatalf("deposit: exit %d, %q", code, first)
	}
	seq := strings.Fields(first)[4]
	code, again, _ := accountRun(adm, "deposit", "--ref", "ops-42", "BROKER01", "cash", "10")
	if want := "ok deposit at sequence " + seq + ", already applied (ref ops-42)"; code != 0 || !strings.HasPrefix(again, want) {
		t.Fatalf("the retry: exit %d, %q; want %q", code, again, want)
	}
	for range 2 {
		if code, out, errOut := accountRun(adm, "deposit", "BROKER01", "cash", "1"); code != 0 || strings.Contains(out, "already") {
			t.Fatalf("deposit without --ref: exit %d, %q %q", code, out, errOut)
		}
	}
	if code, out, _ := accountRun(adm, "show", "BROKER01"); code != 0 || !strings.Contains(out, "cash 12.00") {
		t.Fatalf("show: exit %d, %q; want cash 12.00 (10 once, 1 twice)", code, out)
	}
	if code, out, _ := accountRun(adm, "block", "--ref", "kill-1", "BROKER02"); code != 0 || !strings.HasPrefix(out, "ok block") {
		t.Fatalf("block: exit %d, %q", code, out)
	}
	last := n.Status().Journal.LastSeq
	if code, out, _ := accountRun(adm, "block", "--ref", "kill-1", "BROKER02"); code != 0 || !strings.Contains(out, "already applied (ref kill-1)") {
		t.Fatalf("block retried: exit %d, %q", code, out)
	}
	if got := n.Status().Journal.LastSeq; got != last {
		t.Fatalf("the block's retry journaled %d records", got-last)
	}
	// The ref of the deposit of 10.00, reused for a deposit of 500 and for
	// the kill switch: refused (exit 1), naming what the ref was for, and
	// nothing moves or is blocked.
	want := "ref ops-42 was used at sequence " + seq + " for another request: deposit 10.00 cash of BROKER01"
	if code, out, _ := accountRun(adm, "deposit", "--ref", "ops-42", "BROKER01", "cash", "500"); code != 1 || !strings.HasPrefix(out, "error ") || !strings.Contains(out, want) {
		t.Fatalf("a deposit of 500 with the ref of the deposit of 10: exit %d, %q; want exit 1 and %q", code, out, want)
	}
	if code, out, _ := accountRun(adm, "block", "--ref", "ops-42", "BROKER01"); code != 1 || !strings.Contains(out, want) {
		t.Fatalf("a block with the ref of the deposit: exit %d, %q; want exit 1 and %q", code, out, want)
	}
	if code, out, _ := accountRun(adm, "show", "BROKER01"); code != 0 || !strings.Contains(out, "blocked false") || !strings.Contains(out, "cash 12.00") {
		t.Fatalf("show after the refused reuses: exit %d, %q; want not blocked, cash 12.00", code, out)
	}
	if code, _, errOut := accountRun(adm, "deposit", "--ref", "a b", "BROKER01", "cash", "1"); code != 2 || !strings.Contains(errOut, "--ref") {
		t.Fatalf("a ref with a space: exit %d, %q; want a usage error", code, errOut)
	}
}

// TestAccountRefTimeoutPrintsRetry: a deposit at a sync primary that no
// standby acknowledges gets no outcome within --timeout: the CLI says the
// record is journaled at sequence N, outcome pending, prints the command
// that asks again with the same ref, and exits 3. Once a standby
// acknowledges, that very command prints the outcome: applied once.
func TestAccountRefTimeoutPrintsRetry(t *testing.T) {
	repl := func(role config.Role, primary string) config.Config {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.FIX.Listen = fixtest.FreeAddr(t)
		cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
		cfg.Replication = config.Replication{Role: role, Listen: "127.0.0.1:0", Primary: primary, Mode: config.ModeSync,
			OnStandbyLost: config.LostWait, SyncTimeoutMs: 2000, HeartbeatMs: 20, Admin: fixtest.FreeAddr(t)}
		return cfg
	}
	cfgP := repl(config.RolePrimary, "")
	p, err := node.Start(cfgP, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	defer serveAdmin(cfgP, p)()
	code, out, errOut := accountRun(cfgP.Replication.Admin, "deposit", "--timeout", "300ms", "BROKER01", "cash", "5")
	if code != 3 || !strings.Contains(out, "journaled at sequence") || !strings.Contains(out, "outcome pending") {
		t.Fatalf("deposit held by the sync primary: exit %d, %q %q; want 3, journaled, outcome pending", code, out, errOut)
	}
	i := strings.Index(errOut, "\n  ringex account deposit ")
	if i < 0 {
		t.Fatalf("no command to ask again in %q", errOut)
	}
	printed := strings.Fields(strings.TrimSpace(errOut[i:]))
	if len(printed) != 10 || printed[3] != "--admin" || printed[5] != "--ref" || !strings.Contains(out, "ref "+printed[6]) {
		t.Fatalf("the command to ask again: %q; want ringex account deposit --admin A --ref R BROKER01 cash 5, R the ref of %q", printed, out)
	}

	cfgS := repl(config.RoleStandby, p.ReplicationAddr().String())
	s, err := node.Start(cfgS, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	var o, e bytes.Buffer
	code = accountMain(printed[2:], &o, &e) // the command as printed
	again, errOut := o.String(), e.String()
	if code != 0 || !strings.Contains(again, "already applied (ref "+printed[6]+")") {
		t.Fatalf("the printed command, once a standby acknowledges: exit %d, %q %q; want already applied", code, again, errOut)
	}
	if code, out, _ := accountRun(cfgP.Replication.Admin, "show", "BROKER01"); code != 0 || !strings.Contains(out, "cash 5.00") {
		t.Fatalf("show: exit %d, %q; want cash 5.00", code, out)
	}
}
