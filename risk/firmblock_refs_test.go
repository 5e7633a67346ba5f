package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// An account's own block and its firm's block are two requests (block.go:
// each record sets only the block it names). A firm's block record that
// reuses the reference of the account's own block (the operator ran
// `block ACCT --ref R`, then `block FIRM --ref R`) is another request:
// it must be refused as a conflict or applied, never answered as a
// repeat of the own block, which leaves the member without its firm's
// block (an unblock of the account by name then frees it while its firm
// is blocked).
func TestFirmBlockReusingOwnBlockRefIsNoRepeat(t *testing.T) {
	s, _ := New(testConfig(ModeLimits))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(b matcher.AccountBlock) Hold {
		t.Helper()
		c, err := b.Command()
		if err != nil {
			t.Fatal(err)
		}
		seq++
		c.Seq = seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	ref, _ := matcher.MakeClOrdID("R")
	if h := step(matcher.AccountBlock{Account: 2, Key: ref}); h.Reason != matcher.ReasonNone {
		t.Fatalf("own block refused: %v", h.Reason)
	}
	h := step(matcher.AccountBlock{Account: 2, Firm: true, Key: ref})
	if h.Reason == matcher.ReasonOperatorRepeat {
		t.Fatalf("the firm's block of account 2 with the own block's reference was answered %v: taken for the same request (RequestOf has no Firm)", h.Reason)
	}
	if b, _ := s.Balance(2); h.Reason == matcher.ReasonNone && !b.FirmBlock {
		t.Fatalf("the firm's block was accepted but account 2 does not hold it: %+v", b)
	}
}
