package matcher

import (
	"encoding/binary"
	"testing"
)

// A band record puts a symbol's band and reference price in force from
// its place in the sequence on; the engine's snapshot carries it
// (version 6) and a restored engine decides the same; an engine whose
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
		t.Fatalf("SnapshotBook of a version 6 snapshot: last price %d, %v", px, err)
	}
	if _, err := SnapshotBindings(FrameSnapshot([][]byte{snap})); err != nil {
		t.Fatalf("SnapshotBindings of a version 6 snapshot: %v", err)
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
