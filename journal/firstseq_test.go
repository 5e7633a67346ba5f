package journal

import (
	"bytes"
	"testing"
)

// TestJournalBeginsAfterSeqOne: a journal created to begin at seq 1000 (a
// standby that installed a snapshot at 999) is durable as such before its
// first record, takes 1000 as its first Append and nothing else, rolls and
// recovers like any other, and reads back from 1000.
func TestJournalBeginsAfterSeqOne(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.FirstSeq = 1000 })
	if got := j.LastSeq(); got != 999 {
		t.Fatalf("new journal at 1000: LastSeq %d, want 999", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened before any record, with no FirstSeq: the folder says where it begins.
	j, _ = openT(t, dir)
	if got := j.LastSeq(); got != 999 {
		t.Fatalf("reopened empty journal: LastSeq %d, want 999", got)
	}
	if err := j.Append(1, record(1)); err == nil {
		t.Fatal("a journal beginning at 1000 took seq 1")
	}
	j.Close()
	j, _ = openT(t, dir)
	for seq := int64(1000); seq < 1300; seq++ {
		if err := j.Append(seq, record(seq)); err != nil {
			t.Fatal(err)
		}
		if seq%25 == 0 {
			if err := j.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()

	// FirstSeq is ignored once the folder holds segments.
	j, _ = openT(t, dir, func(o *Options) { o.FirstSeq = 5 })
	if got := j.LastSeq(); got != 1299 {
		t.Fatalf("reopened: LastSeq %d, want 1299", got)
	}
	j.Close()
	if first, err := FirstSeq(dir); err != nil || first != 1000 {
		t.Fatalf("FirstSeq = %d, %v; want 1000", first, err)
	}
	next := int64(1000)
	if err := Read(dir, 1000, func(seq int64, rec []byte) error {
		if seq != next || !bytes.Equal(rec, record(seq)) {
			t.Fatalf("read seq %d, want %d with its bytes", seq, next)
		}
		next++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if next != 1300 {
		t.Fatalf("read to %d, want 1299", next-1)
	}
	if err := Read(dir, 1, func(int64, []byte) error { return nil }); err == nil {
		t.Fatal("a read from seq 1 of a journal beginning at 1000 did not say seq 1 is not in it")
	}
	if first, err := FirstSeq(t.TempDir()); err != nil || first != 0 {
		t.Fatalf("FirstSeq of an empty folder = %d, %v; want 0", first, err)
	}
}
