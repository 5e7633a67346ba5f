package matcher

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func bindCmd(t *testing.T, seq int64, account uint32, name string) Command {
	t.Helper()
	c, err := AccountBinding{Account: account, Name: name}.Command()
	if err != nil {
		t.Fatal(err)
	}
	c.Seq = seq
	return c
}

func TestAccountBindingRecord(t *testing.T) {
	for _, name := range []string{"B", "BROKER01", string(bytes.Repeat([]byte("x"), IDLen)), string(bytes.Repeat([]byte("y"), MaxAccountName))} {
		c := bindCmd(t, 5, 7, name)
		var d Command
		if err := d.Decode(c.Encode(make([]byte, CommandSize))); err != nil {
			t.Fatalf("%q: decode: %v", name, err)
		}
		if b, ok := BindingOf(&d); !ok || b != (AccountBinding{Account: 7, Name: name}) {
			t.Fatalf("%q: BindingOf = %+v, %v", name, b, ok)
		}
	}
	for _, bad := range []AccountBinding{{0, "B"}, {1, ""}, {1, string(bytes.Repeat([]byte("z"), MaxAccountName+1))}, {1, "A\x00B"}} {
		if _, err := bad.Command(); err == nil {
			t.Errorf("%+v: Command accepted it", bad)
		}
	}
	c := bindCmd(t, 1, 1, "BROKER01")
	c.Symbol = 1
	if _, ok := BindingOf(&c); ok {
		t.Error("BindingOf accepted a binding with a symbol")
	}
}

// A binding causes no event, is kept by every partition, and never changes:
// a rebind of the account, or of the name, is ignored.
func TestBindingsFirstStands(t *testing.T) {
	ps, err := NewPartitions(testConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	cmds := []Command{bindCmd(t, 1, 2, "BROKER02"), bindCmd(t, 2, 1, "BROKER01"), bindCmd(t, 3, 1, "OTHER"), bindCmd(t, 4, 3, "BROKER02")}
	for i := range cmds {
		if evs := ps.Apply(&cmds[i], nil); len(evs) != 0 {
			t.Fatalf("binding %d caused events: %s", i, describeAll(evs))
		}
	}
	want := []AccountBinding{{1, "BROKER01"}, {2, "BROKER02"}}
	for p, e := range ps {
		if got := e.Bindings(); !slices.Equal(got, want) {
			t.Fatalf("partition %d holds %+v, want %+v", p, got, want)
		}
	}
}

// Without bindings a snapshot is version 2, byte for byte as before (old
// checkpoint hashes still verify); with them it is version 3, restores
// with them and hashes differently.
func TestSnapshotCarriesBindings(t *testing.T) {
	e := New(testConfig())
	o := limit(brokerA, "B1", Buy, 10, 100)
	o.Seq = 1
	e.Apply(&o, nil)
	before, hashBefore := e.Snapshot(nil), e.Hash()
	if v := binary.LittleEndian.Uint32(before[4:]); v != 2 {
		t.Fatalf("snapshot without bindings is version %d, want 2", v)
	}
	b := bindCmd(t, 2, brokerA, "BROKER_A")
	e.Apply(&b, nil)
	after := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(after[4:]); v != 3 {
		t.Fatalf("snapshot with bindings is version %d, want 3", v)
	}
	if !bytes.Equal(after[8:len(before)], before[8:]) {
		t.Fatal("bindings changed the sections before their own")
	}
	if e.Hash() == hashBefore {
		t.Fatal("the state hash does not cover the bindings")
	}
	n := New(testConfig())
	if err := n.Restore(after); err != nil {
		t.Fatal(err)
	}
	if got := n.Bindings(); !slices.Equal(got, []AccountBinding{{brokerA, "BROKER_A"}}) {
		t.Fatalf("restored bindings %+v", got)
	}
	if !bytes.Equal(n.Snapshot(nil), after) {
		t.Fatal("restored engine writes another snapshot")
	}
	dup := append(slices.Clone(after[:len(after)-4-4-1-len("BROKER_A")]), 2, 0, 0, 0)
	for _, a := range []uint32{1, 2} {
		dup = binary.LittleEndian.AppendUint32(dup, a)
		dup = append(dup, byte(len("SAME")))
		dup = append(dup, "SAME"...)
	}
	if err := New(testConfig()).Restore(dup); err == nil {
		t.Fatal("Restore accepted one name bound to two accounts")
	}
}

// TestSnapshotBindingsWithoutRestore: the bindings read straight from a
// node snapshot's bytes are the engine's, whatever config reads them
// (audit names brokers without the config that wrote the journal); a
// snapshot without bindings has none, and a cut one is an error.
func TestSnapshotBindingsWithoutRestore(t *testing.T) {
	e := New(testConfig())
	var evs []Event
	for i, c := range []Command{
		limit(brokerA, "S1", Sell, 10, 100),
		limit(brokerB, "B1", Buy, 5, 100), // fills: retired, finished
		limit(brokerB, "B2", Buy, 3, 99),
	} {
		c.Seq = int64(i + 1)
		evs = e.Apply(&c, evs[:0])
	}
	v2 := FrameSnapshot([][]byte{e.Snapshot(nil)})
	if bs, err := SnapshotBindings(v2); err != nil || bs != nil {
		t.Fatalf("version 2 snapshot: bindings %+v, %v; want none", bs, err)
	}
	for i, name := range []string{"BROKER_A", "BROKER_B"} {
		b := bindCmd(t, int64(4+i), []uint32{brokerA, brokerB}[i], name)
		e.Apply(&b, nil)
	}
	snap := e.Snapshot(nil)
	bs, err := SnapshotBindings(FrameSnapshot([][]byte{snap, snap}))
	if err != nil || !slices.Equal(bs, e.Bindings()) || len(bs) != 2 {
		t.Fatalf("bindings %+v, %v; want %+v", bs, err, e.Bindings())
	}
	if _, err := SnapshotBindings(FrameSnapshot([][]byte{snap[:len(snap)-3]})); err == nil {
		t.Fatal("a cut snapshot's bindings were read")
	}
}
