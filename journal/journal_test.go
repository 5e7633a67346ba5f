package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/internal/logtest"
)

// testLog collects the journal's log records so tests can assert on what
// an operator sees.
type testLog = logtest.Lines

// record is the payload the tests write for seq: its length varies with seq
// so that frame boundaries fall everywhere.
func record(seq int64) []byte {
	n := int(seq % 150)
	b := make([]byte, 8+n)
	for i := range b {
		b[i] = byte(seq*31 + int64(i))
	}
	copy(b, fmt.Sprintf("%08d", seq%1e8))
	return b
}

func openT(t *testing.T, dir string, mod ...func(*Options)) (*Journal, *testLog) {
	t.Helper()
	lg := &testLog{}
	o := Options{Dir: dir, Log: lg.Logger(), SegmentBytes: 4096}
	for _, m := range mod {
		m(&o)
	}
	j, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j, lg
}

// write appends seqs from..to in batches of batch records.
func write(t *testing.T, j *Journal, from, to int64, batch int) {
	t.Helper()
	for s := from; s <= to; s++ {
		if err := j.Append(s, record(s)); err != nil {
			t.Fatalf("Append %d: %v", s, err)
		}
		if (s-from+1)%int64(batch) == 0 || s == to {
			if err := j.Commit(); err != nil {
				t.Fatalf("Commit at %d: %v", s, err)
			}
		}
	}
}

// readAll reads dir from fromSeq and checks every record's content.
func readAll(t *testing.T, dir string, fromSeq int64) (first, last int64, err error) {
	t.Helper()
	err = Read(dir, fromSeq, func(seq int64, rec []byte) error {
		if first == 0 {
			first = seq
		} else if seq != last+1 {
			t.Fatalf("Read gave seq %d after %d", seq, last)
		}
		if !bytes.Equal(rec, record(seq)) {
			t.Fatalf("Read gave wrong bytes for seq %d", seq)
		}
		last = seq
		return nil
	})
	return first, last, err
}

func TestRoundTripAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	j, lg := openT(t, dir)
	if j.LastSeq() != 0 {
		t.Fatalf("empty journal LastSeq = %d", j.LastSeq())
	}
	write(t, j, 1, 1000, 7)
	if j.LastSeq() != 1000 {
		t.Fatalf("LastSeq = %d, want 1000", j.LastSeq())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := listHot(dir)
	if len(segs) < 10 {
		t.Fatalf("want many segments at 4 KiB, got %d", len(segs))
	}
	if !lg.Has("sealed segment") {
		t.Fatalf("no roll logged: %q", lg.All())
	}
	for _, from := range []int64{0, 1, 2, 500, 999, 1000, 1001} {
		first, last, err := readAll(t, dir, from)
		if err != nil {
			t.Fatalf("Read from %d: %v", from, err)
		}
		wantFirst := max(from, 1)
		if from > 1000 {
			wantFirst = 0
		}
		if first != wantFirst || (first != 0 && last != 1000) {
			t.Fatalf("Read from %d gave %d..%d", from, first, last)
		}
	}
	j, _ = openT(t, dir)
	if j.LastSeq() != 1000 {
		t.Fatalf("reopened LastSeq = %d", j.LastSeq())
	}
	write(t, j, 1001, 1100, 3)
	j.Close()
	if _, last, err := readAll(t, dir, 1); err != nil || last != 1100 {
		t.Fatalf("after reopen: last %d, %v", last, err)
	}
}

func TestAppendOutOfOrderRefused(t *testing.T) {
	j, _ := openT(t, t.TempDir())
	defer j.Close()
	if err := j.Append(2, []byte("x")); err == nil {
		t.Fatal("seq 2 accepted as the first record")
	}
	write(t, j, 1, 3, 3)
	if err := j.Append(3, []byte("x")); err == nil {
		t.Fatal("seq 3 accepted twice")
	}
	if err := j.Append(4, make([]byte, MaxRecordBytes+1)); err == nil {
		t.Fatal("oversized record accepted")
	}
	write(t, j, 4, 5, 1)
}

func TestEmptyCommitAndRecords(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Append(1, nil)
	j.Append(2, []byte{})
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	n := 0
	if err := Read(dir, 1, func(seq int64, rec []byte) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("read %d empty records, err %v", n, err)
	}
}

func TestFailedWriteIsSticky(t *testing.T) {
	dir := t.TempDir()
	j, lg := openT(t, dir)
	write(t, j, 1, 10, 5)
	j.f.Close() // the disk goes away under the journal
	j.Append(11, record(11))
	err := j.Commit()
	if err == nil {
		t.Fatal("Commit succeeded on a closed file")
	}
	if j.LastSeq() != 10 {
		t.Fatalf("LastSeq moved to %d after a failed commit", j.LastSeq())
	}
	for _, call := range []func() error{
		func() error { return j.Append(12, record(12)) },
		j.Commit,
	} {
		if got := call(); got != err {
			t.Fatalf("later call returned %v, want the sticky %v", got, err)
		}
	}
	if !lg.Has("failed") {
		t.Fatal("failure not logged")
	}
	j.Close()
}

func TestSecondWriterRefused(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	defer j.Close()
	if _, err := Open(Options{Dir: dir}); err == nil {
		t.Fatal("a second Journal opened the same folder")
	}
}

func TestClosedJournal(t *testing.T) {
	j, _ := openT(t, t.TempDir())
	j.Close()
	if err := j.Append(1, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
}

func TestAppendCommitAllocateNothing(t *testing.T) {
	j, _ := openT(t, t.TempDir(), func(o *Options) { o.Sync = SyncNone; o.SegmentBytes = 1 << 30 })
	defer j.Close()
	rec := make([]byte, 100)
	seq := int64(0)
	batch := func() {
		for i := 0; i < 16; i++ {
			seq++
			if err := j.Append(seq, rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	batch()
	if n := testing.AllocsPerRun(200, batch); n != 0 {
		t.Fatalf("Append+Commit allocate %.1f times per batch", n)
	}
}

func TestFileNamesAndHeader(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	write(t, j, 1, 100, 10)
	j.Close()
	segs, _ := listHot(dir)
	if segs[0] != 1 {
		t.Fatalf("first segment %d", segs[0])
	}
	b, _ := os.ReadFile(filepath.Join(dir, segName(segs[1])))
	if first, reason := checkHeader(b); reason != "" || first != segs[1] {
		t.Fatalf("header of second segment: %d %q", first, reason)
	}
}

// TestReadBesideLiveWriter: Read running while Commits write and roll never
// reports damage, and always delivers a contiguous, correct prefix.
// besideLiveWriter calls read over and over while a writer appends 1000
// commits of 1 to 97 records each to j, and once more after the writer has
// finished; it fails the test at read's first error and returns how many
// reads it ran.
func besideLiveWriter(t *testing.T, j *Journal, read func() error) int {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		seq := int64(0)
		for b := range 1000 {
			for range 1 + b%97 {
				seq++
				if err := j.Append(seq, record(seq)); err != nil {
					t.Error(err)
					return
				}
			}
			if err := j.Commit(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := read(); err != nil {
			t.Fatalf("read %d beside a live writer: %v", reads, err)
		}
	}
	return reads
}

func TestReadBesideLiveWriter(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.Sync = SyncNone; o.SegmentBytes = 64 << 10 })
	reads := besideLiveWriter(t, j, func() error {
		next := int64(1)
		return Read(dir, 1, func(seq int64, rec []byte) error {
			if seq != next || !bytes.Equal(rec, record(seq)) {
				return fmt.Errorf("seq %d (want %d) or its bytes are wrong", seq, next)
			}
			next++
			return nil
		})
	})
	j.Close()
	t.Logf("%d reads beside the writer", reads)
}

// TestReadRacesACommit: a Commit completes between Read's scan, which saw a
// short tail, and its torn-tail check, which then finds whole records after
// the "damage". That is a write in progress, not corruption: Read stops
// cleanly after the last record it saw whole.
func TestReadRacesACommit(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.Sync = SyncNone })
	write(t, j, 1, 20, 20)
	j.Close()
	path := filepath.Join(dir, segName(1))
	full, _ := os.ReadFile(path)
	offs, seqs, _ := frameOffsets(t, path)
	cut := offs[15] + 5 // mid-frame of seq 16, with 17..20 after it
	os.Truncate(path, cut)
	testHookTailDamage = func(p string) {
		f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		f.Write(full[cut:])
		f.Close()
	}
	defer func() { testHookTailDamage = nil }()
	first, last, err := readAll(t, dir, 1)
	if err != nil || first != 1 || last != seqs[14] {
		t.Fatalf("read %d..%d, %v; want 1..%d and no error", first, last, err, seqs[14])
	}
}
