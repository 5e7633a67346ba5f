package matcher

import "testing"

// The kill switch is one record: every partition applies the block and
// cancels the account's resting orders it holds, GTC included, each with
// an ExecID no other partition gives (EndOfDayExecID); another account's
// orders work on, and the unblock cancels nothing.
func TestBlockCancelsTheAccountsOrdersInEveryPartition(t *testing.T) {
	ps, err := NewPartitions(testConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	gtc := withTIF(limit(brokerA, "A1", Buy, 10, 100), GTC)
	day := limit(brokerA, "A2", Sell, 10, 200)
	day.Symbol = 2
	other := limit(brokerB, "B1", Buy, 10, 99)
	for i, c := range []Command{gtc, day, other} {
		c.Seq, c.TimeNs = int64(i+1), int64(i+1)
		ps.Apply(&c, nil)
	}
	block, _ := AccountBlock{Account: brokerA}.Command()
	block.Seq = 4
	evs := ps.Apply(&block, nil)
	if len(evs) != 2 {
		t.Fatalf("block of account %d: %d events %s, want its 2 orders cancelled", brokerA, len(evs), describeAll(evs))
	}
	seen := map[int64]bool{}
	for _, ev := range evs {
		if ev.Type != EvCancelled || ev.Reason != ReasonMassCancel || ev.Account != brokerA || ev.LeavesQty != 0 ||
			ev.ExecID != EndOfDayExecID(ev.OrderID) || seen[ev.ExecID] {
			t.Fatalf("block's event %+v: want a mass cancel of account %d's order, ExecID EndOfDayExecID, once", ev, brokerA)
		}
		seen[ev.ExecID] = true
	}
	st := Command{Seq: 5, Kind: KindStatus, Account: brokerB, Symbol: 1, OrigClOrdID: id("B1")}
	if evs := ps.Apply(&st, nil); len(evs) != 1 || evs[0].LeavesQty != 10 {
		t.Fatalf("the other account's order after the block: %s, want it working", describeAll(evs))
	}
	unblock, _ := AccountBlock{Account: brokerA, Unblock: true}.Command()
	unblock.Seq = 6
	if evs := ps.Apply(&unblock, nil); len(evs) != 0 {
		t.Fatalf("unblock: %s, want no event", describeAll(evs))
	}
}

// A block record says whose block it is: a firm's (Type blockByFirm)
// or, as every record written before AccountBlock.Firm, the account's
// own (Type 0); it journals and reads back as written, and a record with
// another Type is not a block record.
func TestAccountBlockFirmRecord(t *testing.T) {
	for _, b := range []AccountBlock{{Account: 7}, {Account: 7, Firm: true}, {Account: 7, Unblock: true, Firm: true, Key: id("ops-1")}} {
		c, err := b.Command()
		if err != nil {
			t.Fatal(err)
		}
		var d Command
		if err := d.Decode(c.Encode(make([]byte, CommandSize))); err != nil {
			t.Fatal(err)
		}
		if got, ok := BlockOf(&d); !ok || got != b {
			t.Fatalf("%+v reads back as %+v, %v", b, got, ok)
		}
	}
	old := Command{Kind: KindBlock, Account: 7}
	if b, ok := BlockOf(&old); !ok || b.Firm {
		t.Fatalf("a record without the flag: %+v, %v; want the account's own block", b, ok)
	}
	old.Type = blockByFirm + 1
	if _, ok := BlockOf(&old); ok {
		t.Fatal("BlockOf read a record with Type 2")
	}
}
