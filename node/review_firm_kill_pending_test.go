package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
)

// Review of issue 19 (second review): the kill switch of a firm whose
// outcome is pending. "An operator command blocks an account, a firm or a
// session, and cancels every working order of it". A venue that accepts
// "block F1" journals the block of every session and account of the firm
// (the operator asked for all of them at once); when it cannot tell the
// outcome in time it may say "pending", but the block itself must not stop
// at the firm's first member.
//
// ringex's BlockRef journals one record per member in turn and returns at
// the first error: on a sync primary holding acknowledgements, the first
// member's record waits past the request's deadline ("outcome pending"),
// and the records of BROKER02 and ACC-A are never journaled. When a
// standby comes back and the held records are settled, BROKER01 is
// blocked and BROKER02 and ACC-A trade on, until the operator happens to
// retry.
func TestReviewFirmKillSwitchPendingBlocksEveryMember(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	firm := func(cfg config.Config) config.Config {
		cfg.Risk = config.Risk{Mode: config.RiskModeLimits}
		cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}, Accounts: []string{"ACC-A"}}}
		return cfg
	}
	p, _ := startRepl(t, firm(replCfg(dirP, "primary", "")), &logP)
	defer p.Stop()

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := p.BlockRef(ctx, "kill-F1", "F1", false)
		done <- err
	}()
	var err error
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
		wantShow(t, p, who, "blocked true openOrders 0")
	}
}
