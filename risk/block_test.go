package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// A blocked account's new orders and replaces are refused until it is
// unblocked; the block survives a snapshot and restore; other accounts
// trade on.
func TestBlockRefusesUntilUnblocked(t *testing.T) {
	s, _ := New(testConfig(ModeLimits))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) Hold {
		seq++
		c.Seq = seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	order := func(a uint32) matcher.Command {
		id, _ := matcher.MakeClOrdID("o" + string(rune('a'+seq)))
		return matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 1, Price: 100, ClOrdID: id}
	}
	block, _ := matcher.AccountBlock{Account: 2}.Command()
	unblock, _ := matcher.AccountBlock{Account: 2, Unblock: true}.Command()
	if h := step(block); h.Reason != matcher.ReasonNone {
		t.Fatalf("block refused: %v", h.Reason)
	}
	if h := step(order(2)); h.Reason != matcher.ReasonRiskBlocked {
		t.Fatalf("a blocked account's order: %v, want %v", h.Reason, matcher.ReasonRiskBlocked)
	}
	rep := matcher.Command{Kind: matcher.KindReplace, Account: 2, Symbol: 1, Side: matcher.Buy, OrderID: 1, Qty: 2, Price: 100}
	if h := step(rep); h.Reason != matcher.ReasonRiskBlocked {
		t.Fatalf("a blocked account's replace: %v", h.Reason)
	}
	if h := step(order(1)); h.Reason != matcher.ReasonNone {
		t.Fatalf("another account's order: %v", h.Reason)
	}
	restored, _ := New(testConfig(ModeLimits))
	if err := restored.Restore(s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if b, _ := restored.Balance(2); !b.Blocked {
		t.Fatal("the block did not survive a snapshot")
	}
	s = restored
	if h := step(order(2)); h.Reason != matcher.ReasonRiskBlocked {
		t.Fatalf("after a restore, a blocked account's order: %v", h.Reason)
	}
	step(unblock)
	if h := step(order(2)); h.Reason != matcher.ReasonNone {
		t.Fatalf("after unblock: %v", h.Reason)
	}
}
