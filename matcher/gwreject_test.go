package matcher

import (
	"bytes"
	"testing"
)

// TestGatewayRejectRoundTrip: a GatewayReject survives its record's
// bytes (Encode, Decode) and its event (RejectEvent), field for field,
// and the event is the answer the record's engine gives, changing
// nothing the engine's hash covers.
func TestGatewayRejectRoundTrip(t *testing.T) {
	r := GatewayReject{Account: 0xfffe, Request: 'G', Reason: ReasonInvalidPrice, Why: 9, Cut: CutValue | CutClOrdID,
		Side: '2', Symbol: 7}
	copy(r.ClOrdID[:], "C1")
	copy(r.OrigClOrdID[:], "ORIG-ID-THAT-IS-24-BYTES")
	copy(r.Value[:], "1.23456789012345678901234")
	cmd := r.Command()
	cmd.Seq, cmd.TimeNs = 42, 1e9
	var b [CommandSize]byte
	cmd.Encode(b[:])
	if !bytes.Equal(b[16:40], r.Value[:]) {
		t.Fatalf("journal bytes 16..40 = %q, want the value %q", b[16:40], r.Value[:])
	}
	var back Command
	if err := back.DecodeAt(b[:], 42); err != nil {
		t.Fatal(err)
	}
	got, ok := GatewayRejectOf(&back)
	if !ok || got != r {
		t.Fatalf("decoded %+v, %v; want %+v", got, ok, r)
	}
	if got.ValueBytes() == nil || string(got.ValueBytes()) != "1.2345678901234567890123" {
		t.Fatalf("ValueBytes %q", got.ValueBytes())
	}

	e := New(Config{Symbols: []SymbolSpec{{ID: 7}}})
	h := e.Hash()
	evs := e.Apply(&back, nil)
	if len(evs) != 1 || e.Hash() != h {
		t.Fatalf("engine answered %d events, hash %x -> %x; want 1 event and no change", len(evs), h, e.Hash())
	}
	ev := evs[0]
	if ev != RejectEvent(&back) || ev.Type != EvCancelRejected || ev.ExecID != 42*ExecIDStride || ev.OrderID != 0 ||
		ev.Account != 0xfffe || ev.Kind != KindReject || ev.Reason != ReasonInvalidPrice {
		t.Fatalf("event %+v", ev)
	}
	if got, ok := GatewayRejectOfEvent(&ev); !ok || got != r {
		t.Fatalf("read back from the event %+v, %v; want %+v", got, ok, r)
	}
	r.Request = 'D'
	c2 := r.Command()
	if ev := RejectEvent(&c2); ev.Type != EvRejected {
		t.Fatalf("a new order's reject is %v, want rejected", ev.Type)
	}
	if _, ok := GatewayRejectOf(&Command{Kind: KindNew}); ok {
		t.Fatal("a new order read as a reject")
	}
}
