package audit

import (
	"strconv"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// rejectTrail is the trail, as JSON rows, of a journal holding only the
// record of refusal r, at seq 1: its command row and its event row.
func rejectTrail(t *testing.T, r matcher.GatewayReject) (cmdRow, evRow map[string]any) {
	t.Helper()
	dir := t.TempDir()
	c := r.Command()
	c.Seq, c.TimeNs = 1, 1
	writeJournal(t, dir, []matcher.Command{c}, 128<<10)
	rows := trailJSON(t, TrailOptions{Dir: dir, Venue: testVenue(t)})
	if len(rows) != 2 || rows[0]["row"] != "command" || rows[1]["row"] != "event" || rows[0]["seq"] != rows[1]["seq"] {
		t.Fatalf("trail rows %v, want the reject's command row and its event row", rows)
	}
	return rows[0], rows[1]
}

// The gateway's own refusal of an order (a KindReject record: BROKER01's
// buy of a symbol the venue does not list) shows in the trail as its
// command row and the report the broker got: an ExecutionReport Rejected
// (8, 150=8, 39=8) with the record's ExecID, the symbol as sent, and the
// reason.
func TestTrailShowsTheGatewaysReject(t *testing.T) {
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonUnknownSymbol, Why: 2, Side: '1'}
	copy(r.ClOrdID[:], "BAD1")
	copy(r.Value[:], "NOPE")
	cmdRow, evRow := rejectTrail(t, r)
	if cmdRow["what"] != "reject" || cmdRow["clordid"] != "BAD1" || cmdRow["symbol"] != "NOPE" || cmdRow["side"] != "buy" || cmdRow["reason"] != "unknown_symbol" {
		t.Errorf("command row %v: want the reject of BAD1, symbol NOPE, buy, unknown_symbol", cmdRow)
	}
	want := map[string]string{"what": "rejected", "clordid": "BAD1", "symbol": "NOPE", "msg_type": "8", "exec_type": "8", "ord_status": "8",
		"reason": "unknown_symbol", "exec_id": strconv.FormatInt(matcher.ExecIDStride, 10), "price": "", "qty": ""}
	for k, v := range want {
		if got, _ := evRow[k].(string); got != v {
			t.Errorf("event row %v: %s %q, want %q", evRow, k, got, v)
		}
	}
}

// TestTrailMassCancelRejectHasNoSide: the gateway refuses BROKER01's
// OrderMassCancelRequest M1 for symbol NOPE (the venue does not list it),
// MassCancelRequestType 1. The reject record keeps the request type in
// its Side byte (GatewayReject.Side: "a mass cancel: its
// MassCancelRequestType"). The trail must not show that mass cancel as a
// buy: a mass cancel has no side (rejectSide).
func TestTrailMassCancelRejectHasNoSide(t *testing.T) {
	r := matcher.GatewayReject{Account: 1, Request: 'q', Reason: matcher.ReasonUnknownSymbol, Why: 2, Side: '1'}
	copy(r.ClOrdID[:], "M1")
	copy(r.Value[:], "NOPE")
	cmdRow, evRow := rejectTrail(t, r)
	for _, row := range []map[string]any{cmdRow, evRow} {
		if row["clordid"] != "M1" {
			t.Errorf("%s row %v: want M1's", row["row"], row)
		}
		if side, _ := row["side"].(string); side != "" {
			t.Errorf("%s row of a refused mass cancel: side %q, want none (the record's Side holds MassCancelRequestType 1): %v", row["row"], side, row)
		}
	}
}

// TestTrailShowsTheUnlistedSymbolOfAnyRefusal: BROKER01 sends a new order
// without a ClOrdID for NOPE, a symbol the venue does not list. The
// gateway refuses it for the ClOrdID (whyClOrdID, reason invalid_order)
// and, as the check comes before the symbol's, the record keeps the
// symbol as sent in its Value; the broker's ExecutionReport echoes
// Symbol(55)=NOPE (gateway rejectReport). The trail's rows show the same
// symbol, by the same rule (gateway.RejectSymbol), whatever the reason.
func TestTrailShowsTheUnlistedSymbolOfAnyRefusal(t *testing.T) {
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonInvalidOrder, Why: 1, Side: '1'} // whyClOrdID
	copy(r.Value[:], "NOPE")
	cmdRow, evRow := rejectTrail(t, r)
	for _, row := range []map[string]any{cmdRow, evRow} {
		if sym, _ := row["symbol"].(string); sym != "NOPE" {
			t.Errorf("%s row of an order refused for its ClOrdID, sent for unlisted NOPE: symbol %q, want NOPE (what the broker's report echoes): %v", row["row"], sym, row)
		}
	}
}
