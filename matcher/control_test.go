package matcher

import (
	"encoding/hex"
	"testing"
)

// TestControlRecordBytes: the control records encode to the bytes the code
// before their types wrote (the hex was printed by main at 2243715, encoding
// the Commands the node and the gateway built by hand then), and decode
// from them to the same fields. So journals on disk keep their meaning.
func TestControlRecordBytes(t *testing.T) {
	id, _ := MakeClOrdID("MC-1")
	const t0 = 1_700_000_000_000_000_000
	cases := []struct {
		name string
		cmd  Command
		hex  string
	}{
		{"checkpoint_hash", CheckpointHash{Checkpoint: 40, Hash: 0xfedcba9876543210, Partitions: 2}.Command(),
			"2a0000000000000000002a36fe9c971728000000000000001032547698badcfe0200000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{"checkpoint", Command{Kind: KindCheckpoint},
			"2b0000000000000001002a36fe9c9717000000000000000000000000000000000000000000000000000000000000000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{"cancel_on_disconnect", MassCancel{Account: 3, Symbol: 2, Scope: ScopeDayOrders, Origin: OriginCancelOnDisconnect}.Command(),
			"2c0000000000000002002a36fe9c9717000000000000000000000000000000000000000000000000020000000300000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{"broker_mass_cancel_all", MassCancel{Account: 3, Symbol: 1, Scope: ScopeAllOrders, Report: true, RequestType: 7, ClOrdID: id, Origin: OriginBroker}.Command(),
			"2d0000000000000003002a36fe9c97170000000000000000070000000000000001000000000000000100000003000000040000014d432d310000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{"broker_mass_cancel_symbol", MassCancel{Account: 3, Symbol: 4, Scope: ScopeAllOrders, Report: true, RequestType: 1, ClOrdID: id, Origin: OriginBroker}.Command(),
			"2e0000000000000004002a36fe9c97170000000000000000010000000000000001000000000000000400000003000000040000014d432d310000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cmd
			c.Seq, c.TimeNs = int64(42+i), t0+int64(i)
			var b [CommandSize]byte
			if got := hex.EncodeToString(c.Encode(b[:])); got != tc.hex {
				t.Fatalf("encodes to\n%s\nthe journals on disk hold\n%s", got, tc.hex)
			}
			raw, _ := hex.DecodeString(tc.hex)
			var d Command
			if err := d.Decode(raw); err != nil {
				t.Fatal(err)
			}
			if d != c {
				t.Fatalf("decodes to %+v, want %+v", d, c)
			}
			if h, ok := CheckpointHashOf(&d); ok && h.Command() != tc.cmd {
				t.Fatalf("checkpoint hash %+v encodes again to %+v", h, h.Command())
			}
			if m, ok := MassCancelOf(&d); ok && m.Command() != tc.cmd {
				t.Fatalf("mass cancel %+v encodes again to %+v", m, m.Command())
			}
		})
	}
}

// TestControlRecordFields: each typed record reads back the fields it was
// built with, a record of another kind is not taken for it, and an origin
// that its report does not imply (one a later origin would use) survives
// the trip while leaving the implied ones at zero bytes.
func TestControlRecordFields(t *testing.T) {
	h := CheckpointHash{Checkpoint: 7, Hash: 1<<63 | 5, Partitions: MaxPartitions}
	hc := h.Command()
	if got, ok := CheckpointHashOf(&hc); !ok || got != h {
		t.Fatalf("checkpoint hash %+v read back as %+v (ok %v)", h, got, ok)
	}
	id, _ := MakeClOrdID("M")
	for _, m := range []MassCancel{
		{Account: 1, Scope: ScopeDayOrders, Origin: OriginCancelOnDisconnect},
		{Account: 2, Symbol: 3, Scope: ScopeAllOrders, Report: true, RequestType: 1, ClOrdID: id, Origin: OriginBroker},
		{Account: 2, Symbol: 3, Scope: ScopeAllOrders, ClOrdID: id, Origin: OriginBroker},       // a broker's, unreported
		{Account: 4, Scope: ScopeDayOrders, Report: true, Origin: OriginCancelOnDisconnect},     // cancel-on-disconnect, reported
		{Account: 5, Scope: ScopeAllOrders, Report: true, Origin: OriginCancelOnDisconnect + 1}, // a later origin
		{Account: 6, Scope: ScopeAllOrders, Origin: MassCancelOrigin(255)},                      // the last one the byte holds
	} {
		c := m.Command()
		got, ok := MassCancelOf(&c)
		if !ok || got != m {
			t.Errorf("mass cancel %+v read back as %+v (ok %v)", m, got, ok)
		}
		if implied := m.Origin == impliedOrigin(m.Report); implied != (c.Type == 0) {
			t.Errorf("mass cancel %+v: origin stored as type byte %d", m, c.Type)
		}
		if _, ok := CheckpointHashOf(&c); ok {
			t.Errorf("mass cancel read as a checkpoint hash")
		}
	}
	if _, ok := MassCancelOf(&hc); ok {
		t.Error("checkpoint hash read as a mass cancel")
	}
}

// TestRoute: a command goes to its symbol's partition, the end of the day
// to every one, the checkpoint records to none, whatever their Symbol.
func TestRoute(t *testing.T) {
	mc := MassCancel{Account: 1, Symbol: 5}.Command()
	for _, tc := range []struct {
		name string
		cmd  Command
		p    int
		want int
	}{
		{"new_order", Command{Kind: KindNew, Symbol: 5}, 3, 2},
		{"one_partition", Command{Kind: KindCancel, Symbol: 5}, 1, 0},
		{"mass_cancel", mc, 4, 1},
		{"end_of_day", Command{Kind: KindEndOfDay}, 4, RouteAll},
		{"block_cancels_everywhere", Command{Kind: KindBlock, Account: 1}, 4, RouteAll},
		{"unblock", Command{Kind: KindUnblock, Account: 1}, 4, RouteNone},
		{"checkpoint", Command{Kind: KindCheckpoint, Symbol: 3}, 4, RouteNone},
		{"checkpoint_hash", CheckpointHash{Checkpoint: 1, Partitions: 4}.Command(), 4, RouteNone},
	} {
		if got := Route(&tc.cmd, tc.p); got != tc.want {
			t.Errorf("%s over %d partitions: route %d, want %d", tc.name, tc.p, got, tc.want)
		}
	}
}
