package audit

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// The audit trail is the record of everything the venue was told, so an
// operator auditing a rejected order (ReasonPriceBand) reads from it which
// band was in force. A KindBand record putting a band of 1.00 around a
// reference price of 100.00 on AAPL (tick 0.01: 100 ticks around 10000)
// shows both values in its trail row (reference price in price, the
// band's width in qty).
func TestTrailShowsTheBandRecord(t *testing.T) {
	dir := t.TempDir()
	c, err := matcher.Band{Symbol: 1, BandTicks: 100, RefPrice: 10000}.Command()
	if err != nil {
		t.Fatal(err)
	}
	c.Seq, c.TimeNs = 1, 1
	writeJournal(t, dir, []matcher.Command{c}, 128<<10)
	rows := trailJSON(t, TrailOptions{Dir: dir, Venue: testVenue(t)})
	for _, r := range rows {
		if r["row"] != "command" || r["what"] != "band" {
			continue
		}
		vals := map[string]bool{}
		for _, v := range r {
			vals[fmt.Sprint(v)] = true
		}
		if !vals["100.00"] || !vals["1.00"] {
			t.Errorf("trail row of the band record %v: want the reference price 100.00 and the band 1.00 in it", r)
		}
		return
	}
	t.Fatalf("no trail row for the band record in %v", rows)
}

// The risk venue record's row shows the mode (ord_type) and the cash unit
// (clordid) the journal was written with.
func TestTrailShowsTheRiskVenueRecord(t *testing.T) {
	dir := t.TempDir()
	c, err := matcher.RiskVenue{Mode: 2, CashUnit: "0.01"}.Command()
	if err != nil {
		t.Fatal(err)
	}
	c.Seq, c.TimeNs = 1, 1
	writeJournal(t, dir, []matcher.Command{c}, 128<<10)
	cfg := config.Default()
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	v, err := VenueOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range trailJSON(t, TrailOptions{Dir: dir, Venue: v}) {
		if r["row"] == "command" && r["what"] == "risk_venue" {
			if r["ord_type"] != "spot" || r["clordid"] != "0.01" {
				t.Errorf("trail row of the risk venue record %v: want ord_type spot and clordid 0.01", r)
			}
			return
		}
	}
	t.Fatal("no trail row for the risk venue record")
}
