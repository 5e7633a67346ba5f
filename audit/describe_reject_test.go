package audit

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestDescribeShowsARejectAsSent: `ringex diff` describes a gateway's
// refusal (a KindReject record) by what the broker sent: BROKER01's buy
// of unlisted NOPE shows its side as buy, its symbol as NOPE and its
// reason, not the raw Side byte as side(49).
func TestDescribeShowsARejectAsSent(t *testing.T) {
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonUnknownSymbol, Why: 2, Side: '1'}
	copy(r.ClOrdID[:], "BAD1")
	copy(r.Value[:], "NOPE")
	c := r.Command()
	got := describe(testVenue(t), &c)
	for _, want := range []string{" NOPE buy ", `ClOrdID "BAD1"`, "unknown_symbol"} {
		if !strings.Contains(got, want) {
			t.Errorf("describe: %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "side(") {
		t.Errorf("describe: %q shows the raw Side byte", got)
	}
}
