package gateway_test

import (
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

// TestReview7RejectWithALaterWhyCodeIsReported: a gateway refusal's Why
// is journaled, and "a new one goes at the end" (gateway/reject.go
// rejectWhy): a journal written by a later build, replayed by this one
// (a standby in a rolling upgrade, a rollback, a promotion rebuilding
// reports), can hold a Why this build does not know. rejectText allows
// for it (the reason's text), but rejectReport indexes rejectTexts by it
// when the record has no symbol id: the publish stage panics. Here the
// record of BROKER01's refused order for unlisted NOPE carries Why 200;
// BROKER01 must get an ExecutionReport Rejected naming the reason, and
// nothing may panic.
func TestReview7RejectWithALaterWhyCodeIsReported(t *testing.T) {
	x, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonUnknownSymbol, Why: 200, Side: '1'}
	copy(r.ClOrdID[:], "BAD1")
	copy(r.Value[:], "NOPE")
	cmd := r.Command()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("publishing the record of a refusal with Why 200 panicked: %v", p)
			}
		}()
		if err := x.Submit(&cmd); err != nil {
			t.Fatal(err)
		}
	}()
	check(t, "the refusal with a later Why", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "8",
		tag.OrdStatus: "8", tag.ClOrdID: "BAD1", tag.OrdRejReason: "1"})
}
