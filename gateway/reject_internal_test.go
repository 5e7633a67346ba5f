package gateway

import "testing"

// TestRejectWhyCodesAreJournaled: a rejectWhy is journaled in every
// reject record (matcher.GatewayReject.Why) and names its Text when the
// report is rebuilt, so each code keeps its number for good, and every
// code a check returns has a Text.
func TestRejectWhyCodesAreJournaled(t *testing.T) {
	pinned := map[rejectWhy]int{whyClOrdID: 1, whyUnknownSymbol: 2, whySide: 3, whyOrigClOrdID: 4, whyOrdType: 5,
		whyTIF: 6, whyQty: 7, whyMarketPrice: 8, whyNoPrice: 9, whyPrice: 10, whySTP: 11, whySTPGroup: 12,
		whyAccount: 13, whyDuplicate: 14, whyMassCancelType: 15, whyNotAccepting: 16}
	for why, n := range pinned {
		if int(why) != n {
			t.Errorf("rejectWhy %d is journaled as %d: a code never changes", why, n)
		}
		if rejectTexts[why].before == "" {
			t.Errorf("rejectWhy %d has no Text", why)
		}
	}
	if int(numWhys) != len(pinned)+1 {
		t.Errorf("%d codes, %d pinned: pin a new one here", numWhys-1, len(pinned))
	}
}
