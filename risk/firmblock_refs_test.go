package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// An account's own block and its firm's block are two requests (block.go:
// each record sets only the block it names). A firm's block record that
// reuses the reference of the account's own block (the operator ran
// `block ACCT --ref R`, then `block FIRM --ref R`) is another request:
// it is refused as a conflict (docs/operations.md), never answered as a
// repeat of the own block, which leaves the member without its firm's
// block (an unblock of the account by name then frees it while its firm
// is blocked).
func TestFirmBlockReusingOwnBlockRefIsNoRepeat(t *testing.T) {
	r := newRefStepper(t)
	own, _ := matcher.AccountBlock{Account: 2, Key: key("R")}.Command()
	if _, why := r.step(own); why != matcher.ReasonNone {
		t.Fatalf("own block refused: %v", why)
	}
	firm, _ := matcher.AccountBlock{Account: 2, Firm: true, Key: key("R")}.Command()
	_, why := r.step(firm)
	if why == matcher.ReasonOperatorRepeat {
		t.Fatalf("the firm's block of account 2 with the own block's reference was answered %v: taken for the same request (RequestOf has no Firm)", why)
	}
	if b, _ := r.s.Balance(2); why == matcher.ReasonNone && !b.FirmBlock {
		t.Fatalf("the firm's block was accepted but account 2 does not hold it: %+v", b)
	}
	if why != matcher.ReasonOperatorRefConflict { // docs/operations.md: another request with the reference is refused
		t.Fatalf("the firm's block of account 2 with the own block's reference: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
}
