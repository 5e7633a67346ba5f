package matcher

import (
	"encoding/binary"
	"testing"
)

// A finished order of a firm's account (Owner) answers a status request
// naming that account, as its live reports did, also from a restored
// snapshot, which is then version 5; until such an order finishes, a
// snapshot is written as before (old checkpoint hashes still verify).
func TestFinishedOrderStatusNamesItsTradingAccount(t *testing.T) {
	const acct = FirstNamedAccount
	e := New(testConfig())
	o := limit(brokerA, "B1", Buy, 10, 100)
	o.Seq, o.Owner = 1, acct
	e.Apply(&o, nil)
	own := limit(brokerA, "B2", Buy, 10, 100)
	own.Seq = 2
	e.Apply(&own, nil)
	if v := binary.LittleEndian.Uint32(e.Snapshot(nil)[4:]); v != snapVersionOwners {
		t.Fatalf("snapshot with an order of a firm's account resting: version %d, want %d", v, snapVersionOwners)
	}
	for i, cl := range []string{"B1", "B2"} {
		c := Command{Seq: int64(3 + i), Kind: KindCancel, Account: brokerA, Symbol: 1, ClOrdID: ClOrdID{'X', byte('1' + i)}}
		c.OrigClOrdID, _ = MakeClOrdID(cl)
		if evs := e.Apply(&c, nil); len(evs) != 1 || evs[0].Type != EvCancelled {
			t.Fatalf("cancel %s: %+v", cl, evs)
		}
	}
	snap := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(snap[4:]); v != snapVersionRetired {
		t.Fatalf("snapshot with a finished order of a firm's account: version %d, want %d", v, snapVersionRetired)
	}
	restored := New(testConfig())
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if _, err := SnapshotBindings(FrameSnapshot([][]byte{snap})); err != nil {
		t.Fatalf("bindings of a version 5 snapshot: %v", err)
	}
	if err := New(testConfig()).Restore(snap[:len(snap)-4]); err == nil {
		t.Fatal("Restore accepted a version 5 snapshot cut short in its retired owners")
	}
	for _, eng := range []*Engine{e, restored} {
		for i, want := range []uint16{acct, 0} {
			st := Command{Seq: 10, Kind: KindStatus, Account: brokerA, Symbol: 1}
			st.OrigClOrdID, _ = MakeClOrdID([]string{"B1", "B2"}[i])
			evs := eng.Apply(&st, nil)
			if len(evs) != 1 || evs[0].Type != EvStatus || evs[0].Reason != ReasonUserCancel || evs[0].Owner != want {
				t.Fatalf("status of the cancelled order %s (restored: %v): %+v, want Owner %d", st.OrigClOrdID, eng == restored, evs, want)
			}
		}
	}

	plain := New(testConfig())
	for _, c := range []Command{own, {Seq: 3, Kind: KindCancel, Account: brokerA, Symbol: 1, ClOrdID: ClOrdID{'X'}, OrigClOrdID: own.ClOrdID}} {
		plain.Apply(&c, nil)
	}
	if v := binary.LittleEndian.Uint32(plain.Snapshot(nil)[4:]); v != snapVersion {
		t.Fatalf("snapshot with a finished order of the session's own account: version %d, want %d", v, snapVersion)
	}
}
