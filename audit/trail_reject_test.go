package audit

import (
	"strconv"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// The gateway's own refusal of an order (a KindReject record: BROKER01's
// buy of a symbol the venue does not list) shows in the trail as its
// command row and the report the broker got: an ExecutionReport Rejected
// (8, 150=8, 39=8) with the record's ExecID, the symbol as sent, and the
// reason.
func TestTrailShowsTheGatewaysReject(t *testing.T) {
	dir := t.TempDir()
	r := matcher.GatewayReject{Account: 1, Request: 'D', Reason: matcher.ReasonUnknownSymbol, Why: 2, Side: '1'}
	copy(r.ClOrdID[:], "BAD1")
	copy(r.Value[:], "NOPE")
	c := r.Command()
	c.Seq, c.TimeNs = 1, 1
	writeJournal(t, dir, []matcher.Command{c}, 128<<10)
	var cmdRow, evRow map[string]any
	for _, row := range trailJSON(t, TrailOptions{Dir: dir, Venue: testVenue(t)}) {
		switch {
		case row["row"] == "command" && row["what"] == "reject":
			cmdRow = row
		case row["row"] == "event" && row["clordid"] == "BAD1":
			evRow = row
		}
	}
	if cmdRow == nil || cmdRow["symbol"] != "NOPE" || cmdRow["side"] != "buy" || cmdRow["reason"] != "unknown_symbol" {
		t.Errorf("command row %v: want the reject of BAD1, symbol NOPE, buy, unknown_symbol", cmdRow)
	}
	want := map[string]string{"what": "rejected", "symbol": "NOPE", "msg_type": "8", "exec_type": "8", "ord_status": "8",
		"reason": "unknown_symbol", "exec_id": strconv.FormatInt(matcher.ExecIDStride, 10), "price": "", "qty": ""}
	for k, v := range want {
		if got, _ := evRow[k].(string); got != v {
			t.Errorf("event row %v: %s %q, want %q", evRow, k, got, v)
		}
	}
}
