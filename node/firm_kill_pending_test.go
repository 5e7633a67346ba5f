package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// The kill switch of a firm whose outcome is pending (issue 19, second
// review). "An operator command blocks an account, a firm or a session,
// and cancels every working order of it". A venue that accepts "block F1"
// journals the block of every session and account of the firm (the
// operator asked for all of them at once); when it cannot tell the
// outcome in time it may say "pending", but the block itself must not
// stop at the firm's first member.
//
// BlockRef journals the firm's record and one record per member before it
// waits for any outcome (blockFirm): on a sync primary holding
// acknowledgements the answer is "outcome pending", and the records of
// BROKER01, BROKER02 and ACC-A are all journaled, so once a standby comes
// back and the held records are settled, every member is blocked.
func TestFirmKillSwitchPendingBlocksEveryMember(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	firm := func(cfg config.Config) config.Config {
		return limitsFirm(cfg, config.Firm{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}, Accounts: []string{"ACC-A"}})
	}
	// The primary serves FIX (no test publisher): only then does it bind
	// the firm's named account ACC-A in the journal.
	cfgP := firm(replCfg(dirP, "primary", ""))
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p, err := node.Start(cfgP, node.Options{Log: logP.Tee(t, "P").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := p.BlockRef(ctx, "kill-F1", "F1", false)
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the firm's block still waits 60 s after its 500 ms deadline")
	}
	if !errors.Is(err, node.ErrOperatorPending) {
		t.Fatalf("block F1 on a sync primary holding acknowledgements: %v; want outcome pending", err)
	}

	s, _ := startRepl(t, firm(replCfg(dirS, "standby", p.ReplicationAddr().String())), &logS)
	defer s.Stop()
	waitUntil(t, "the standby has the primary's journal", func() bool { return lastSeq(s) == lastSeq(p) })
	for _, who := range []string{"BROKER01", "BROKER02", "ACC-A"} {
		wantShow(t, p, who, "blocked true (firm F1) openOrders 0")
	}
}

// limitsFirm is cfg with risk.mode limits and firm f.
func limitsFirm(cfg config.Config, f config.Firm) config.Config {
	cfg.Risk = config.Risk{Mode: config.RiskModeLimits}
	cfg.Firms = []config.Firm{f}
	return cfg
}
