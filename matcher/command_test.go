package matcher

import (
	"errors"
	"testing"
)

// TestDecodeAt: a journal record decodes only into the command of the seq
// the journal holds it at; otherwise the error names that seq and what is
// wrong, and is a *RecordError.
func TestDecodeAt(t *testing.T) {
	good := Command{Seq: 42, Kind: KindNew, Side: Buy, Type: Limit, Symbol: 1, Account: 3, Price: 100, Qty: 5}
	rec := func(c Command) []byte { return c.Encode(make([]byte, CommandSize)) }
	unknown := good
	unknown.Kind = 99
	for _, tc := range []struct {
		name string
		rec  []byte
		seq  int64
		want string // "" for no error
	}{
		{"record_of_its_seq", rec(good), 42, ""},
		{"record_holds_another_seq", rec(good), 43, "seq 43: record holds command sequence 42"},
		{"unknown_kind", rec(unknown), 42, "seq 42: undecodable command: matcher: command seq 42: unknown kind 99"},
		{"short_record", rec(good)[:CommandSize-1], 42, "seq 42: undecodable command: matcher: command record has wrong length: 99 bytes, want 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Command
			err := c.DecodeAt(tc.rec, tc.seq)
			if tc.want == "" {
				if err != nil || c != good {
					t.Fatalf("DecodeAt = %v, %+v; want nil, %+v", err, c, good)
				}
				return
			}
			var re *RecordError
			if err == nil || err.Error() != tc.want || !errors.As(err, &re) || re.Seq != tc.seq {
				t.Fatalf("DecodeAt error %v; want a *RecordError %q", err, tc.want)
			}
		})
	}
	if !errors.Is(new(Command).DecodeAt(nil, 1), ErrShortCommand) {
		t.Error("DecodeAt's error does not wrap Decode's")
	}
}

// TestDecodeRefusesUnnamedKinds: a record decodes only with a kind this
// package names, a number below NumKinds that names none (one left free
// for a kind of another branch) included.
func TestDecodeRefusesUnnamedKinds(t *testing.T) {
	unnamed := 0
	for k := range 256 {
		c := Command{Seq: 1, Kind: Kind(k)}
		err := new(Command).Decode(c.Encode(make([]byte, CommandSize)))
		if (err == nil) != Kind(k).Named() {
			t.Errorf("kind %d (%v): Decode error %v", k, Kind(k), err)
		}
		if k > 0 && Kind(k) < NumKinds && !Kind(k).Named() {
			unnamed++
		}
	}
	t.Logf("%d unnamed kinds below NumKinds %d", unnamed, NumKinds)
}

// TestDecodeAtAllocatesNothing: the standby applies every replicated record
// through DecodeAt.
func TestDecodeAtAllocatesNothing(t *testing.T) {
	in := Command{Seq: 7, Kind: KindCancel, Symbol: 2, Account: 1}
	rec := in.Encode(make([]byte, CommandSize))
	var c Command
	if allocs := testing.AllocsPerRun(100, func() {
		if c.DecodeAt(rec, 7) != nil {
			t.Fatal("DecodeAt failed")
		}
	}); allocs != 0 {
		t.Fatalf("DecodeAt allocates %v times per record", allocs)
	}
}
