package audit

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestReview7TrailMassCancelRejectHasNoSide: the gateway refuses
// BROKER01's OrderMassCancelRequest for symbol NOPE (the venue does not
// list it), MassCancelRequestType 1. The reject record keeps the request
// type in its Side byte (GatewayReject.Side: "a mass cancel: its
// MassCancelRequestType"). The trail must not show that mass cancel as a
// buy: a mass cancel has no side. Today trailWriter.reject reads Side '1'
// as buy and '2' as sell whatever the Request.
func TestReview7TrailMassCancelRejectHasNoSide(t *testing.T) {
	dir := t.TempDir()
	r := matcher.GatewayReject{Account: 1, Request: 'q', Reason: matcher.ReasonUnknownSymbol, Why: 2, Side: '1'}
	copy(r.ClOrdID[:], "M1")
	copy(r.Value[:], "NOPE")
	c := r.Command()
	c.Seq, c.TimeNs = 1, 1
	writeJournal(t, dir, []matcher.Command{c}, 128<<10)
	rows := 0
	for _, row := range trailJSON(t, TrailOptions{Dir: dir, Venue: testVenue(t)}) {
		if row["clordid"] != "M1" {
			continue
		}
		rows++
		if side, _ := row["side"].(string); side != "" {
			t.Errorf("%s row of a refused mass cancel: side %q, want none (the record's Side holds MassCancelRequestType 1): %v", row["row"], side, row)
		}
	}
	if rows != 2 {
		t.Fatalf("%d trail rows for M1, want its command and event", rows)
	}
}

// TestReview7TrailShowsTheUnlistedSymbolOfAnyRefusal: BROKER01 sends a
// new order without a ClOrdID for NOPE, a symbol the venue does not
// list. The gateway refuses it for the ClOrdID (whyClOrdID, reason
// invalid_order) and, as the check comes before the symbol's, the record
// keeps the symbol as sent in its Value; the broker's ExecutionReport
// echoes Symbol(55)=NOPE (gateway rejectReport). The trail "fills ... the
// symbol (its name as sent when the venue does not list it)" (audit
// trailWriter.reject), but only reads the Value when the reason is
// unknown_symbol: its rows show no symbol for this refusal.
func TestReview7TrailShowsTheUnlistedSymbolOfAnyRefusal(t *testing.T) {
	dir := t.TempDir()
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonInvalidOrder, Why: 1, Side: '1'} // whyClOrdID
	copy(r.Value[:], "NOPE")
	c := r.Command()
	c.Seq, c.TimeNs = 1, 1
	writeJournal(t, dir, []matcher.Command{c}, 128<<10)
	rows := 0
	for _, row := range trailJSON(t, TrailOptions{Dir: dir, Venue: testVenue(t)}) {
		if fmt.Sprint(row["seq"]) != "1" {
			continue
		}
		rows++
		if sym, _ := row["symbol"].(string); sym != "NOPE" {
			t.Errorf("%s row of an order refused for its ClOrdID, sent for unlisted NOPE: symbol %q, want NOPE (what the broker's report echoes): %v", row["row"], sym, row)
		}
	}
	if rows != 2 {
		t.Fatalf("%d trail rows for seq 1, want its command and event", rows)
	}
}
