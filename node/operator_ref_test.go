package node_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// fundsRef is FundsRef with a wait of d.
func fundsRef(n *node.Node, d time.Duration, ref string, withdraw bool, compID, asset, amount string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return n.FundsRef(ctx, ref, withdraw, compID, asset, amount)
}

// wantRepeat checks that err says the request was applied already, at seq.
func wantRepeat(t *testing.T, what string, err error, seq int64) {
	t.Helper()
	var re *node.RepeatError
	if !errors.As(err, &re) || re.Seq != seq {
		t.Fatalf("%s: %v; want already applied at sequence %d", what, err, seq)
	}
}

// An operator's deposit retried with its reference is applied once, and
// the retry journals nothing (the node knows the outcome); another
// reference deposits again. After a restart (a replay, from a snapshot
// that holds the references, then the journal after it) the retry is
// still answered with the first outcome, and a withdrawal refused before
// stays refused for its reference, even once there is enough.
func TestOperatorRefDepositsOnceAcrossRestart(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Snapshot = config.Snapshot{EveryCommands: 3}
	n := startCfg(t, cfg)
	first, err := fundsRef(n, wait, "dep-1", false, "BROKER01", "cash", "100")
	if err != nil {
		t.Fatal(err)
	}
	last := n.Status().Journal.LastSeq
	_, err = fundsRef(n, wait, "dep-1", false, "BROKER01", "cash", "100")
	wantRepeat(t, "the retry", err, first)
	if got := n.Status().Journal.LastSeq; got != last {
		t.Fatalf("the retry journaled %d records", got-last)
	}
	if _, err := fundsRef(n, wait, "dep-2", false, "BROKER01", "cash", "100"); err != nil {
		t.Fatal(err)
	}
	refused, err := fundsRef(n, wait, "wd-1", true, "BROKER01", "cash", "1000")
	if err == nil || !strings.Contains(err.Error(), "more than is free") {
		t.Fatalf("withdrawal of more than is free: %v", err)
	}
	for range 5 {
		mustFunds(t, n, false, "BROKER02", "cash", "1")
	}
	waitUntil(t, "a checkpoint, whose risk snapshot holds the references", func() bool { return n.Status().Snapshots > 0 })
	mustFunds(t, n, false, "BROKER02", "cash", "1") // and a record after it to replay
	wantShow(t, n, "BROKER01", "cash 200.00 held 0.00")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startCfg(t, cfg)
	defer n.Stop()
	last = n.Status().Journal.LastSeq
	_, err = fundsRef(n, wait, "dep-1", false, "BROKER01", "cash", "100")
	wantRepeat(t, "the retry after a restart", err, first)
	mustFunds(t, n, false, "BROKER01", "cash", "1000")
	_, err = fundsRef(n, wait, "wd-1", true, "BROKER01", "cash", "1000")
	if err == nil || !strings.Contains(err.Error(), "more than is free") || !strings.Contains(err.Error(), "used already") ||
		!strings.Contains(err.Error(), "at sequence "+itoa(refused)) {
		t.Fatalf("retry of the refused withdrawal after a restart: %v; want its first refusal, at sequence %d", err, refused)
	}
	if got := n.Status().Journal.LastSeq; got != last+1 {
		t.Fatalf("after the restart, the two retries and a deposit journaled %d records, want 1", got-last)
	}
	wantShow(t, n, "BROKER01", "cash 1200.00 held 0.00")
	if _, err := fundsRef(n, wait, "bad ref", false, "BROKER01", "cash", "1"); err == nil || !strings.Contains(err.Error(), "ref") {
		t.Fatalf("a reference with a space: %v", err)
	}
}

// A sync primary that no standby acknowledges holds the deposit's record:
// the request answers within its deadline that the record is journaled at
// sequence N, its outcome pending, with its reference. Once a standby has
// it, the same request learns the outcome: applied once.
func TestOperatorRefTimeoutWhileSyncPrimaryHoldsAcks(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	spot := func(cfg config.Config) config.Config {
		cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
		return cfg
	}
	p, _ := startRepl(t, spot(replCfg(dirP, "primary", "")), &logP)
	defer p.Stop()
	type result struct {
		seq int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		seq, err := fundsRef(p, 500*time.Millisecond, "late-1", false, "BROKER01", "cash", "7")
		done <- result{seq, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the deposit's request still waits 60 s after its 500 ms deadline")
	}
	if !errors.Is(r.err, node.ErrOperatorPending) || r.seq == 0 ||
		!strings.Contains(r.err.Error(), "sequence "+itoa(r.seq)) || !strings.Contains(r.err.Error(), "ref late-1") {
		t.Fatalf("deposit held by the sync primary: seq %d, %v; want outcome pending, naming its sequence and ref late-1", r.seq, r.err)
	}
	// A retry while it is still held is answered the same way, and
	// journals nothing more.
	last := p.Status().Journal.LastSeq
	if _, err := fundsRef(p, 200*time.Millisecond, "late-1", false, "BROKER01", "cash", "7"); !errors.Is(err, node.ErrOperatorPending) {
		t.Fatalf("retry while held: %v; want outcome pending", err)
	}
	if got := p.Status().Journal.LastSeq; got != last {
		t.Fatalf("the retry while held journaled %d records", got-last)
	}

	s, _ := startRepl(t, spot(replCfg(dirS, "standby", p.ReplicationAddr().String())), &logS)
	defer s.Stop()
	_, err := fundsRef(p, 60*time.Second, "late-1", false, "BROKER01", "cash", "7")
	wantRepeat(t, "the retry once a standby acknowledges", err, r.seq)
	wantShow(t, p, "BROKER01", "cash 7.00 held 0.00")
	if _, err := fundsRef(p, 60*time.Second, "late-2", false, "BROKER01", "cash", "7"); err != nil {
		t.Fatal(err)
	}
	wantShow(t, p, "BROKER01", "cash 14.00 held 0.00")
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
