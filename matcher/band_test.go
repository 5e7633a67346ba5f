package matcher

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// A band record puts a symbol's band and reference price in force from
// its place in the sequence on; the engine's snapshot carries it
// (version 7) and a restored engine decides the same; an engine whose
// bands are all its Config's writes the snapshot it wrote before.
func TestBandRecordIsEngineStateInTheSnapshot(t *testing.T) {
	cfg := testConfig() // symbol 3: band 50 around 1000
	e := New(cfg)
	seq := int64(0)
	apply := func(c Command) []Event {
		seq++
		c.Seq, c.TimeNs = seq, seq
		return e.Apply(&c, nil)
	}
	want := func(what string, evs []Event, typ EventType, reason Reason) {
		t.Helper()
		if len(evs) == 0 || evs[0].Type != typ || evs[0].Reason != reason {
			t.Fatalf("%s: %v; want first event %v %v", what, evs, typ, reason)
		}
	}
	if v := binary.LittleEndian.Uint32(e.Snapshot(nil)[4:]); v >= snapVersionBands {
		t.Fatalf("an engine with its Config's bands writes version %d", v)
	}
	band := func(b Band) {
		c, err := b.Command()
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := BandOf(&c); !ok || got != b {
			t.Fatalf("BandOf(%+v's record) = %+v, %v", b, got, ok)
		}
		if evs := apply(c); len(evs) != 0 {
			t.Fatalf("band record caused %v", evs)
		}
	}
	want("buy of symbol 1 at 5000 before any band", apply(limit(1, "A1", Buy, 1, 5000)), EvAccepted, ReasonNone)
	band(Band{Symbol: 1, BandTicks: 10, RefPrice: 100})
	want("buy at 111, 11 from the reference 100", apply(limit(1, "A2", Buy, 1, 111)), EvRejected, ReasonPriceBand)
	want("buy at 110", apply(limit(1, "A3", Buy, 1, 110)), EvAccepted, ReasonNone)
	band(Band{Symbol: 3}) // the Config's band of symbol 3 taken away
	want("buy of symbol 3 at 9000", apply(onSymbol(Command{Kind: KindNew, Account: 1, Side: Buy, Type: Limit, TIF: Day, Qty: 10, Price: 9000, ClOrdID: id("C1")}, 3)), EvAccepted, ReasonNone)
	if b, ok := e.Band(1); !ok || b != (Band{Symbol: 1, BandTicks: 10, RefPrice: 100}) {
		t.Fatalf("Band(1) = %+v, %v", b, ok)
	}

	snap := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(snap[4:]); v != snapVersionBands {
		t.Fatalf("snapshot version %d with band records, want %d", v, snapVersionBands)
	}
	r := New(cfg)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if r.Hash() != e.Hash() {
		t.Fatal("restored engine's hash differs")
	}
	if b, _ := r.Band(3); b != (Band{Symbol: 3}) || r.LastTradePx(1) != 100 {
		t.Fatalf("restored: Band(3) %+v, last price of 1 %d; want no band, 100", b, r.LastTradePx(1))
	}
	if px, _, err := SnapshotBook(snap, 1, nil); err != nil || px != 100 {
		t.Fatalf("SnapshotBook of a version 7 snapshot: last price %d, %v", px, err)
	}
	if _, err := SnapshotBindings(FrameSnapshot([][]byte{snap})); err != nil {
		t.Fatalf("SnapshotBindings of a version 7 snapshot: %v", err)
	}
	e, r2 := r, New(cfg)
	seq = 100
	want("restored: buy at 111 is still outside the band", apply(limit(1, "A4", Buy, 1, 111)), EvRejected, ReasonPriceBand)

	// A trade moves the anchor; a band record without a reference keeps it.
	want("sell at 105 trades with the best buy, at 5000", apply(limit(2, "S1", Sell, 1, 105)), EvAccepted, ReasonNone)
	band(Band{Symbol: 1, BandTicks: 3})
	if e.LastTradePx(1) != 5000 {
		t.Fatalf("last price %d after a band record with no reference, want the trade's 5000", e.LastTradePx(1))
	}
	if err := r2.Restore(e.Snapshot(nil)); err != nil || r2.Hash() != e.Hash() || r2.LastTradePx(1) != 5000 {
		t.Fatalf("restore after a trade: %v, last price %d", err, r2.LastTradePx(1))
	}
	want("buy at 5004, 4 from the trade at 5000", apply(limit(1, "A5", Buy, 1, 5004)), EvRejected, ReasonPriceBand)
	band(Band{Symbol: 1, BandTicks: 3, RefPrice: 200})
	band(Band{Symbol: 1, BandTicks: 5, RefPrice: 200})
	if e.LastTradePx(1) != 200 {
		t.Fatalf("last price %d after a new reference 200 and then a wider band around it; want 200", e.LastTradePx(1))
	}

	for _, bad := range []Band{{}, {Symbol: 1, BandTicks: -1}, {Symbol: 1, RefPrice: MaxPriceTicks + 1}} {
		if _, err := bad.Command(); err == nil {
			t.Errorf("%+v: a band record was written", bad)
		}
	}
}

// Bands and blocked firms in one snapshot: an engine with a band a record
// set writes version 7, whose blocked firms section may be empty; with
// its Config's bands again and a firm blocked it writes version 6, as an
// engine that never had a band record does. Each restores to the same
// bytes, and a version 6 without a firm or a version 7 without a band is
// refused.
func TestBandsAndBlockedFirmsShareTheSnapshot(t *testing.T) {
	cfg := testConfig()
	e := New(cfg)
	seq := int64(0)
	apply := func(c Command) {
		seq++
		c.Seq, c.TimeNs = seq, seq
		e.Apply(&c, nil)
	}
	version := func(snap []byte) uint32 { return binary.LittleEndian.Uint32(snap[4:]) }
	roundTrip := func(what string, snap []byte) *Engine {
		t.Helper()
		r := New(cfg)
		if err := r.Restore(snap); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !bytes.Equal(r.Snapshot(nil), snap) {
			t.Fatalf("%s: the restored engine writes another snapshot", what)
		}
		if _, err := SnapshotBindings(FrameSnapshot([][]byte{snap})); err != nil {
			t.Fatalf("%s: SnapshotBindings: %v", what, err)
		}
		if _, _, err := SnapshotBook(snap, 1, nil); err != nil {
			t.Fatalf("%s: SnapshotBook: %v", what, err)
		}
		return r
	}
	band, _ := Band{Symbol: 1, BandTicks: 10, RefPrice: 100}.Command()
	apply(band)
	bandsOnly := e.Snapshot(nil)
	if v := version(bandsOnly); v != snapVersionBands {
		t.Fatalf("snapshot with a band record, no firm blocked: version %d, want %d", v, snapVersionBands)
	}
	if !bytes.Equal(bandsOnly[len(bandsOnly)-4:], []byte{0, 0, 0, 0}) {
		t.Fatal("version 7 without a blocked firm does not end with an empty firms section")
	}
	roundTrip("bands only", bandsOnly)

	apply(firmCmd(t, 0, "FIRM_A", false))
	both := e.Snapshot(nil)
	if v := version(both); v != snapVersionBands {
		t.Fatalf("snapshot with a band and a blocked firm: version %d, want %d", v, snapVersionBands)
	}
	r := roundTrip("bands and firms", both)
	if b, _ := r.Band(1); b.BandTicks != 10 || !slices.Equal(r.BlockedFirms(), []string{"FIRM_A"}) {
		t.Fatalf("restored band %+v, blocked firms %q", b, r.BlockedFirms())
	}

	apply(Command{Kind: KindBand, Symbol: 1}) // symbol 1's Config: no band
	firmsOnly := e.Snapshot(nil)
	if v := version(firmsOnly); v != snapVersionFirms {
		t.Fatalf("snapshot with the Config's bands and a blocked firm: version %d, want %d", v, snapVersionFirms)
	}
	roundTrip("firms only", firmsOnly)

	const header = 4 + 4 + 1 + 4 + 4 + 4 + 8
	// version 7's sections without its bands: a version 6 with no firm
	noFirm := slices.Concat(bandsOnly[:header], bandsOnly[header+4+20:])
	binary.LittleEndian.PutUint32(noFirm[4:], snapVersionFirms)
	// version 6's with an empty bands section: a version 7 with no band
	noBand := slices.Concat(firmsOnly[:header], []byte{0, 0, 0, 0}, firmsOnly[header:])
	binary.LittleEndian.PutUint32(noBand[4:], snapVersionBands)
	for _, c := range []struct {
		what, says string
		snap       []byte
	}{{"version 6 without a blocked firm", "0 blocked firms", noFirm}, {"version 7 without a band", "no band", noBand}} {
		if err := New(cfg).Restore(c.snap); !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s restored: %v; want an error saying %q", c.what, err, c.says)
		}
	}
}
