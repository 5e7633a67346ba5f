package matcher

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// FuzzDecode: any bytes either fail to decode with an error, or decode to a
// command that encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	c := limit(brokerA, "B1", Buy, 10, 100)
	c.Seq, c.TimeNs = 7, 1_700_000_000_000_000_000
	f.Add(c.Encode(make([]byte, CommandSize)))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Command
		if err := c.Decode(b); err != nil {
			if len(b) == CommandSize && c.Kind >= KindNew && c.Kind <= KindRiskFee {
				t.Fatalf("refused a well-formed command: %v", err)
			}
			return
		}
		if got := c.Encode(make([]byte, CommandSize)); !bytes.Equal(got, b) {
			t.Fatalf("encode(decode(b)) != b")
		}
		// Whatever Decode accepts, the engine answers without panicking.
		New(testConfig()).Apply(&c, nil)
	})
}

// fuzzCommands turns fuzz bytes into commands, 8 bytes each, squeezed into
// small ranges so that orders cross, cancels find their targets and
// duplicates happen. A 0xFF lead byte takes the next CommandSize bytes raw,
// so fully arbitrary commands (any Seq, price, id) get through too.
func fuzzCommands(b []byte) []Command {
	var cmds []Command
	seq := int64(0)
	for len(b) >= 8 {
		seq++
		if b[0] == 0xFF && len(b) >= 1+CommandSize {
			var c Command
			if c.Decode(b[1:1+CommandSize]) == nil {
				cmds = append(cmds, c)
			}
			b = b[1+CommandSize:]
			continue
		}
		c := Command{Seq: seq, TimeNs: seq * 100, Account: 1 + uint32(b[1]%3), Symbol: []uint32{1, 2, 3, 0, 9}[b[2]%5]}
		c.Kind = Kind(1 + b[0]%10) // every kind, and 10, which does not exist
		c.Side, c.Type, c.TIF = Side(1+b[3]&1), OrdType(1+(b[3]>>1)%2), []TIF{Day, GTC, IOC, FOK, 2}[(b[3]>>2)%5]
		c.Qty = int64(b[4]%24) - 1
		c.Price = 90 + int64(b[5]%20)
		if c.Symbol == 3 {
			c.Qty, c.Price = c.Qty*10, 940+c.Price
		}
		c.ClOrdID = id(string(rune('a' + b[6]%16)))
		if b[7]&0x80 != 0 {
			c.OrderID = int64(b[7] & 0x7F)
		} else {
			c.OrigClOrdID = id(string(rune('a' + b[7]%16)))
		}
		cmds = append(cmds, c)
		b = b[8:]
	}
	return cmds
}

// FuzzEngine runs fuzzed command streams through the engine and the
// reference model, under every STP mode and a small history window, and
// wants the same events, intact books and a faithful snapshot.
func FuzzEngine(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x05\x05aa\x00\x01\x00\x01\x05\x05bb\x01\x00\x00\x00\x05\x05ca"))
	f.Add(bytes.Repeat([]byte{0, 1, 0, 2, 9, 3, 5, 1, 2, 1, 0, 1, 4, 8, 6, 5}, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds := fuzzCommands(b)
		if len(b) == 0 {
			return
		}
		cfg := testConfig()
		cfg.STP = STPMode(b[0] % 4)
		cfg.ClOrdIDWindow = 1 + int(b[len(b)-1]%8)
		cfg.MaxOrders = 3 + int(b[len(b)/2]%30)
		e, m := New(cfg), newRefModel(cfg)
		var got []Event
		for i := range cmds {
			c := &cmds[i]
			got = e.Apply(c, got[:0])
			if want := m.apply(c); !slices.Equal(got, want) {
				t.Fatalf("command %d %+v:\n  engine:%s\n  model:%s", i, *c, describeAll(got), describeAll(want))
			}
			if err := e.checkInvariants(); err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
		}
		roundTrip(t, cfg, e)
	})
}

// FuzzRestore: Restore and SnapshotBook refuse damaged snapshots with an
// error, never a panic; what Restore accepts it writes back byte for byte,
// and SnapshotBook reads the books Resting shows from it.
func FuzzRestore(f *testing.F) {
	f.Add(sampleSnapshot())
	f.Add([]byte("RGXM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var books [4][]SnapshotOrder
		for sym := range uint32(len(books)) {
			var err error
			if _, books[sym], err = SnapshotBook(b, sym, nil); err != nil && !errors.Is(err, ErrSnapshot) {
				t.Fatalf("SnapshotBook(%d): error %v does not wrap ErrSnapshot", sym, err)
			}
		}
		n := New(testConfig())
		if err := n.Restore(b); err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v does not wrap ErrSnapshot", err)
			}
			return
		}
		if got := n.Snapshot(nil); !bytes.Equal(got, b) {
			t.Fatalf("restored snapshot writes different bytes")
		}
		if err := n.checkInvariants(); err != nil {
			t.Fatal(err)
		}
		for sym, got := range books {
			want := n.Resting(uint32(sym), nil)
			if len(got) != len(want) {
				t.Fatalf("symbol %d: SnapshotBook read %d orders, Resting shows %d", sym, len(got), len(want))
			}
			for i := range got {
				if got[i].RestingOrder != want[i] {
					t.Fatalf("symbol %d order %d: SnapshotBook read %+v, Resting shows %+v", sym, i, got[i].RestingOrder, want[i])
				}
			}
		}
	})
}

// sampleSnapshot is the snapshot of a small book with some history.
func sampleSnapshot() []byte {
	e := New(testConfig())
	cmds := []Command{
		limit(brokerA, "B1", Buy, 10, 100),
		limit(brokerB, "S1", Sell, 4, 100),
		limit(brokerB, "S2", Sell, 4, 103),
		replace(brokerA, "B1a", "B1", 12, 101),
		onSymbol(limit(brokerA, "B2", Buy, 20, 1000), 3),
		cancel(brokerB, "C1", "S2"),
		limit(brokerB, "S3", Sell, 7, 104),
	}
	for i := range cmds {
		cmds[i].Seq = int64(i + 1)
		e.Apply(&cmds[i], nil)
	}
	return e.Snapshot(nil)
}
