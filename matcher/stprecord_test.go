package matcher

import (
	"encoding/binary"
	"testing"
)

// A KindSTP record reads back as written; an unfit one is not written.
func TestSTPRecordRoundTrip(t *testing.T) {
	for _, s := range []STPRecord{{Form: STPFormVenue, Mode: STPDecrement}, {Form: STPFormAccount, Mode: STPCancelBoth, Name: "BROKER01"},
		{Form: STPFormFirm, Scope: STPScopeFirm, Name: "ACME"}, {Form: STPFormFirm, Name: "A_FIRM_NAME_LONGER_THAN_ONE_CLORDID_FIELD"}} {
		d := throughBytes(t, stpCmd(t, 0, s))
		if got, ok := STPRecordOf(&d); !ok || got != s {
			t.Fatalf("%+v read back as %+v, %v", s, got, ok)
		}
		if Route(&d, 3) != RouteAll {
			t.Fatalf("%+v not applied by every partition", s)
		}
	}
	for _, s := range []STPRecord{{Form: STPFormVenue, Mode: STPDecrement + 1}, {Form: STPFormVenue, Name: "X"}, {Form: STPFormAccount},
		{Form: STPFormFirm, Scope: STPScopeFirm + 1, Name: "ACME"}, {Form: STPFormFirm, Mode: 1, Name: "ACME"}, {Form: 3, Name: "X"}} {
		if _, err := s.Command(); err == nil {
			t.Errorf("%+v written", s)
		}
	}
}

// stpCmd is the record of s, at seq.
func stpCmd(t *testing.T, seq int64, s STPRecord) Command {
	t.Helper()
	c, err := s.Command()
	if err != nil {
		t.Fatal(err)
	}
	c.Seq = seq
	return c
}

// The settings a KindSTP record puts in force decide from its place on,
// whatever the Config: an engine built with match.stp none and BROKER01
// cancelNewest runs, after a venue record (cancelOldest) that clears the
// named modes, BROKER01's self-match as cancelOldest; an account record
// gives BROKER01 cancelNewest again, for the account bound before it as
// for one bound after. A version 8 snapshot carries them: restored into an
// engine whose Config says otherwise, it runs them and hashes alike; cut
// short, it is refused; its bindings read as any version's.
func TestSTPRecordsInForceAndInTheSnapshot(t *testing.T) {
	cfg := Config{Symbols: []SymbolSpec{{ID: 1}}, NamedSTP: []NamedSTP{{Name: "BROKER01", Mode: STPCancelIncoming}},
		Firms: []FirmSTP{{Name: "ACME", Names: []string{"BROKER01", "BROKER03"}}}}
	e := New(cfg)
	seq := int64(0)
	apply := func(c Command) []Event {
		seq++
		c.Seq = seq
		return e.Apply(&c, nil)
	}
	selfMatch := func(who uint32, tag string) string {
		t.Helper()
		apply(limit(who, "R"+tag, Sell, 5, 100))
		evs := apply(limit(who, "I"+tag, Buy, 5, 100))
		apply(Command{Kind: KindMassCancel, Symbol: 1, Account: who, ClOrdID: id("M" + tag)})
		for _, ev := range evs {
			if ev.Type == EvCancelled && ev.Reason == ReasonSelfTrade {
				return string(ev.ClOrdID.String()[0]) // R: the resting one, I: the incoming one
			}
		}
		return "-"
	}
	apply(bindCmd(t, 0, 1, "BROKER01"))
	if got := selfMatch(1, "a"); got != "I" {
		t.Fatalf("BROKER01 under its Config's cancelNewest cancelled %q, want the incoming order", got)
	}
	if s := e.STPSettings(); s.Journaled || !s.Same(STPSettingsOf(cfg)) {
		t.Fatalf("settings before any record: %+v, want the Config's, not journaled", s)
	}
	apply(stpCmd(t, 0, STPRecord{Form: STPFormVenue, Mode: STPCancelResting}))
	if got := selfMatch(1, "b"); got != "R" {
		t.Fatalf("BROKER01 after a venue record cancelOldest cancelled %q, want the resting order", got)
	}
	apply(stpCmd(t, 0, STPRecord{Form: STPFormAccount, Mode: STPCancelIncoming, Name: "BROKER01"}))
	apply(stpCmd(t, 0, STPRecord{Form: STPFormAccount, Mode: STPNone, Name: "BROKER02"}))
	apply(stpCmd(t, 0, STPRecord{Form: STPFormFirm, Scope: STPScopeFirm, Name: "ACME"}))
	apply(bindCmd(t, 0, 2, "BROKER02"))
	if got := selfMatch(1, "c"); got != "I" {
		t.Fatalf("BROKER01 after its account record cancelNewest cancelled %q, want the incoming order", got)
	}
	if got := selfMatch(2, "d"); got != "-" {
		t.Fatalf("BROKER02 (bound after its account record none) cancelled %q, want a trade", got)
	}
	want := STPSettings{Journaled: true, Venue: STPCancelResting, Named: []NamedSTP{{"BROKER01", STPCancelIncoming}, {"BROKER02", STPNone}},
		FirmWide: []string{"ACME"}}
	if s := e.STPSettings(); !s.Same(want) || !s.Journaled {
		t.Fatalf("settings in force %+v, want %+v", s, want)
	}

	snap := e.Snapshot(nil)
	if v := binary.LittleEndian.Uint32(snap[4:]); v != snapVersionSTP {
		t.Fatalf("snapshot with STP records: version %d, want %d", v, snapVersionSTP)
	}
	other := cfg
	other.STP, other.NamedSTP = STPDecrement, nil
	r := New(other)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if s := r.STPSettings(); !s.Same(want) || !s.Journaled || r.Hash() != e.Hash() {
		t.Fatalf("restored under another Config: %+v (hash %x, want %x), want %+v", s, r.Hash(), e.Hash(), want)
	}
	e = r
	if got := selfMatch(1, "e"); got != "I" {
		t.Fatalf("restored BROKER01 cancelled %q, want the incoming order (its journaled cancelNewest)", got)
	}
	for _, c := range []int{5, 13, len(snap) - 1} {
		if err := New(cfg).Restore(snap[:c]); err == nil {
			t.Fatalf("snapshot cut at %d restored", c)
		}
	}
	if bs, err := SnapshotBindings(FrameSnapshot([][]byte{snap})); err != nil || len(bs) != 2 {
		t.Fatalf("bindings of a version 8 snapshot: %v, %v", bs, err)
	}
}
