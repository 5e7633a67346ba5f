package node_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// A reference reused for a DIFFERENT request (issue 19, second review).
// An idempotency key names one request; a venue that sees the key again
// with other terms (another amount, another direction, a block against an
// unblock) must refuse it as a conflicting reuse, never answer "already
// applied" for something that was not: the operator who sees "ok, already
// applied" would believe the account holds 500 more, or is unblocked.
//
// The risk state remembers what each reference was for (risk.RefRequest):
// submitOperator answers a known reference used for another request with
// a *node.RefConflictError, journaling nothing, and a record that reaches
// the ring is refused as ReasonOperatorRefConflict. So a deposit of 500
// with the ref of a deposit of 100, a block with the ref of a deposit and
// an unblock with the ref of a block are refused, and change nothing.
func TestOperatorRefReusedForAnotherRequestIsNotAlreadyApplied(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, spotVenue(dir, addr))
	defer n.Stop()

	if _, err := fundsRef(n, wait, "ops-7", false, "BROKER01", "cash", "100"); err != nil {
		t.Fatal(err)
	}
	_, err := fundsRef(n, wait, "ops-7", false, "BROKER01", "cash", "500")
	var re *node.RepeatError
	if err == nil || errors.As(err, &re) {
		show, _ := n.AccountShow("BROKER01")
		t.Errorf("deposit of 500 with the ref of a deposit of 100: %v (account: %s); want a refusal as a conflicting repeat, not \"already applied\"", err, show)
	}
	var ce *node.RefConflictError
	if !errors.As(err, &ce) || ce.First.Request.Amount != 10000 || !strings.Contains(err.Error(), "for another request: deposit 100.00 cash of BROKER01") {
		t.Errorf("deposit of 500 with the ref of a deposit of 100: %v; want a *node.RefConflictError naming the deposit of 100.00 cash", err)
	}
	if show, _ := n.AccountShow("BROKER01"); !strings.Contains(show, "cash 100.00 ") {
		t.Errorf("after the refused deposit of 500: %s; want cash 100.00", show)
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// The kill switch with the ref a deposit used (an operator who names
	// requests by ticket): "already applied", and nothing is blocked.
	_, err = n.BlockRef(ctx, "ops-7", "BROKER01", false)
	if show, _ := n.AccountShow("BROKER01"); (err == nil || errors.As(err, &re)) && strings.Contains(show, "blocked false") {
		t.Errorf("block of BROKER01 with the ref of its deposit: %v, and the account is not blocked (%s); want it blocked, or a refusal as a conflicting repeat", err, show)
	}

	if _, err := n.BlockRef(ctx, "ops-8", "BROKER02", false); err != nil {
		t.Fatal(err)
	}
	_, err = n.BlockRef(ctx, "ops-8", "BROKER02", true)
	show, _ := n.AccountShow("BROKER02")
	if (err == nil || errors.As(err, &re)) && strings.Contains(show, "blocked true") {
		t.Errorf("unblock with the ref of the block: %v, and the account is still blocked (%s); want a refusal as a conflicting repeat, or the account unblocked", err, show)
	}
}

// A firm's unblock with the reference of its block is refused whole
// before anything is journaled (the firm's record included, so the firm
// stays blocked with its members), naming what the reference was for.
func TestOperatorRefOfAFirmBlockReusedForItsUnblockJournalsNothing(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}}}
	n := startCfg(t, cfg)
	defer n.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := n.BlockRef(ctx, "kill-F1", "F1", false); err != nil {
		t.Fatal(err)
	}
	last := n.Status().Journal.LastSeq
	_, err := n.BlockRef(ctx, "kill-F1", "F1", true)
	var ce *node.RefConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "journaled nothing: ref kill-F1 was used at sequence") || !strings.Contains(err.Error(), "for another request: firm's block of BROKER01") {
		t.Fatalf("unblock of F1 with the ref of its block: %v; want a *node.RefConflictError naming the firm's block of BROKER01", err)
	}
	if got := n.Status().Journal.LastSeq; got != last {
		t.Errorf("the refused unblock journaled %d records", got-last)
	}
	for _, who := range []string{"BROKER01", "BROKER02"} {
		if show, err := n.AccountShow(who); err != nil || !strings.Contains(show, "blocked true") {
			t.Errorf("%s after the refused unblock: %s, %v; want it blocked", who, show, err)
		}
	}
}
