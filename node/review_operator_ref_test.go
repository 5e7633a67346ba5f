package node_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// Review of issue 19 (second review): a reference reused for a DIFFERENT
// request. An idempotency key names one request; a venue that sees the
// key again with other terms (another amount, another direction, a block
// against an unblock) must refuse it as a conflicting repeat (or apply
// it), never answer "already applied" for something that was not: the
// operator who sees "ok, already applied" believes the account holds 500
// more, or is unblocked, and neither is true.
//
// ringex remembers a reference by (ref, account) only (risk.refKey,
// node.operatorKey), not by what the record asked: submitOperator finds
// the first record's outcome by key and answers node.RepeatError
// ("already applied at sequence N"), and a record that reaches the ring is
// refused as ReasonOperatorRepeat and answered with the first outcome.
// So a deposit of 500 with the ref of a deposit of 100, a block with the
// ref of a deposit, and an unblock with the ref of a block, are all
// "already applied": the balance stays 100, the kill switch blocks
// nothing, and the account stays blocked.
func TestReviewOperatorRefReusedForAnotherRequestIsNotAlreadyApplied(t *testing.T) {
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
