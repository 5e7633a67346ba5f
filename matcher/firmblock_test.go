package matcher

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func firmCmd(t *testing.T, seq int64, firm string, unblock bool) Command {
	t.Helper()
	c, err := FirmBlock{Firm: firm, Unblock: unblock}.Command()
	if err != nil {
		t.Fatal(err)
	}
	c.Seq = seq
	return c
}

// A firm block record journals the firm's name, up to MaxAccountName
// bytes, and decodes to what was written; a name no record holds, or a
// record with another field set, is refused.
func TestFirmBlockRecord(t *testing.T) {
	for _, name := range []string{"F", "F1", string(bytes.Repeat([]byte("x"), IDLen+1)), string(bytes.Repeat([]byte("y"), MaxAccountName))} {
		for _, unblock := range []bool{false, true} {
			c := firmCmd(t, 5, name, unblock)
			var d Command
			if err := d.Decode(c.Encode(make([]byte, CommandSize))); err != nil {
				t.Fatalf("%q: decode: %v", name, err)
			}
			if b, ok := FirmBlockOf(&d); !ok || b != (FirmBlock{Unblock: unblock, Firm: name}) {
				t.Fatalf("%q: FirmBlockOf = %+v, %v", name, b, ok)
			}
			if _, ok := BlockOf(&d); ok {
				t.Fatalf("%q: an account's BlockOf read a firm's record", name)
			}
		}
	}
	for _, bad := range []string{"", string(bytes.Repeat([]byte("z"), MaxAccountName+1)), "A\x00B"} {
		if _, err := (FirmBlock{Firm: bad}).Command(); err == nil {
			t.Errorf("%q: Command accepted it", bad)
		}
	}
	c := firmCmd(t, 1, "F1", false)
	c.Account = 1
	if _, ok := FirmBlockOf(&c); ok {
		t.Error("FirmBlockOf accepted a record with an account")
	}
	if got := KindBlockFirm.String() + " " + KindUnblockFirm.String(); got != "block_firm unblock_firm" {
		t.Errorf("kind names %q", got)
	}
}

// Every partition keeps the blocked firms, sorted, with no event: a block
// of a blocked firm and an unblock of one that is not change nothing.
func TestBlockedFirmsKeptByEveryPartition(t *testing.T) {
	ps, err := NewPartitions(testConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	cmds := []Command{firmCmd(t, 1, "F2", false), firmCmd(t, 2, "F1", false), firmCmd(t, 3, "F2", false),
		firmCmd(t, 4, "F3", true), firmCmd(t, 5, "F3", false), firmCmd(t, 6, "F3", true)}
	for i := range cmds {
		if r := Route(&cmds[i], len(ps)); r != RouteAll {
			t.Fatalf("record %d routed to %d, want every partition", i, r)
		}
		if evs := ps.Apply(&cmds[i], nil); len(evs) != 0 {
			t.Fatalf("record %d caused events: %s", i, describeAll(evs))
		}
	}
	for p, e := range ps {
		if got := e.BlockedFirms(); !slices.Equal(got, []string{"F1", "F2"}) {
			t.Fatalf("partition %d holds %q, want F1 F2", p, got)
		}
	}
}

// Without a blocked firm the snapshot is the version it was before firm
// blocks existed, byte for byte (old checkpoint hashes verify); with one
// it is version 6, whose earlier sections are unchanged, restores with the
// firms, hashes differently, and its bindings still read without restore.
func TestSnapshotCarriesBlockedFirms(t *testing.T) {
	e := New(testConfig())
	o := limit(brokerA, "B1", Buy, 10, 100)
	o.Seq = 1
	e.Apply(&o, nil)
	b := bindCmd(t, 2, brokerA, "BROKER_A")
	e.Apply(&b, nil)
	before, hashBefore := e.Snapshot(nil), e.Hash()
	if v := binary.LittleEndian.Uint32(before[4:]); v != snapVersionBindings {
		t.Fatalf("snapshot without blocked firms is version %d, want %d", v, snapVersionBindings)
	}
	for i, f := range []string{"FIRM_B", "FIRM_A"} {
		c := firmCmd(t, int64(3+i), f, false)
		e.Apply(&c, nil)
	}
	after := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(after[4:]); v != snapVersionFirms {
		t.Fatalf("snapshot with blocked firms is version %d, want %d", v, snapVersionFirms)
	}
	if !bytes.Equal(after[8:len(before)], before[8:]) {
		t.Fatal("blocked firms changed the sections before their own")
	}
	if e.Hash() == hashBefore {
		t.Fatal("the state hash does not cover the blocked firms")
	}
	n := New(testConfig())
	if err := n.Restore(after); err != nil {
		t.Fatal(err)
	}
	if got := n.BlockedFirms(); !slices.Equal(got, []string{"FIRM_A", "FIRM_B"}) {
		t.Fatalf("restored blocked firms %q", got)
	}
	if !bytes.Equal(n.Snapshot(nil), after) {
		t.Fatal("restored engine writes another snapshot")
	}
	if bs, err := SnapshotBindings(FrameSnapshot([][]byte{after})); err != nil || !slices.Equal(bs, e.Bindings()) {
		t.Fatalf("bindings of a version 6 snapshot %+v, %v", bs, err)
	}
	if err := New(testConfig()).Restore(after[:len(after)-2]); err == nil {
		t.Fatal("Restore accepted a cut snapshot")
	}
	// The firms out of order (FIRM_B before FIRM_A) are refused.
	bad := slices.Clone(after[:len(after)-2*(1+len("FIRM_A"))])
	for _, f := range []string{"FIRM_B", "FIRM_A"} {
		bad = append(append(bad, byte(len(f))), f...)
	}
	if err := New(testConfig()).Restore(bad); err == nil {
		t.Fatal("Restore accepted blocked firms out of order")
	}
	unblock := firmCmd(t, 5, "FIRM_A", true)
	e.Apply(&unblock, nil)
	unblock = firmCmd(t, 6, "FIRM_B", true)
	e.Apply(&unblock, nil)
	if got := e.Snapshot(nil); !bytes.Equal(got[8:], before[8:]) || binary.LittleEndian.Uint32(got[4:]) != snapVersionBindings {
		t.Fatal("with every firm unblocked the snapshot is not the one before")
	}
}
