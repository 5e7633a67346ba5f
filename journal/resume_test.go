package journal

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// follow reads dir from seq next on, resuming at at (ScanFrom), checks
// every record's seq and bytes, and returns where it ended.
func follow(dir string, next int64, at Resume) (int64, Resume, error) {
	_, err := ScanFrom(dir, next, at, func(r Record) error {
		if r.Seq != next || !bytes.Equal(r.Data, record(r.Seq)) {
			return fmt.Errorf("seq %d (want %d) or its bytes are wrong", r.Seq, next)
		}
		next, at = r.Seq+1, r.At()
		return nil
	})
	return next, at, err
}

// TestScanFromReadsOn: a follower that resumes each read where the last
// ended (Record.At) gets every record once, in order, beside a live
// writer that rolls segments, as a reader from the start does.
func TestScanFromReadsOn(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.Sync = SyncNone; o.SegmentBytes = 64 << 10 })
	next, at := int64(1), Resume{}
	reads := besideLiveWriter(t, j, func() (err error) {
		next, at, err = follow(dir, next, at)
		return err
	})
	last := j.LastSeq()
	j.Close()
	if next != last+1 {
		t.Fatalf("the follower read to seq %d, the journal ends at %d", next-1, last)
	}
	t.Logf("%d reads beside the writer, %d records", reads, last)
}

// TestScanFromSkipsWhatItRead: a read that resumes does not read the
// active segment's records before its Resume again (damage there, which a
// read from the segment's start reports, does not stop it), and a Resume
// that does not point at the next record's frame (stale, or a file that is
// gone) reads from the segment's start, as Scan does.
func TestScanFromSkipsWhatItRead(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.Sync = SyncNone; o.SegmentBytes = 1 << 20 })
	write(t, j, 1, 100, 10)
	next, at, err := follow(dir, 1, Resume{})
	if err != nil || next != 101 || at.File == "" {
		t.Fatalf("first read: to %d, at %+v, %v", next-1, at, err)
	}
	write(t, j, 101, 200, 10)
	offs, seqs, _ := frameOffsets(t, at.File)
	if seqs[0] != 1 || len(seqs) != 200 {
		t.Fatalf("want seqs 1..200 in one segment, got %d from %d", len(seqs), seqs[0])
	}
	flipAt(t, at.File, offs[49]+frameBytes) // seq 50, read already

	if n, _, err := follow(dir, 101, at); err != nil || n != 201 {
		t.Fatalf("resumed read past the damage it had read: to %d, %v", n-1, err)
	}
	var ce *CorruptError
	if _, _, err := follow(dir, 101, Resume{}); !errors.As(err, &ce) || ce.Seq != 50 {
		t.Fatalf("a read from the segment's start: %v, want the damage at seq 50", err)
	}
	flipAt(t, at.File, offs[49]+frameBytes) // mended

	for _, stale := range []Resume{
		{File: at.File, Next: offs[120]},                        // another record's frame
		{File: at.File, Next: offs[100] + 3},                    // inside a frame
		{File: at.File, Next: offs[199] + 1<<20},                // past the file's end
		{File: filepath.Join(dir, "gone.wal"), Next: offs[100]}, // no such segment
	} {
		if n, _, err := follow(dir, 101, stale); err != nil || n != 201 {
			t.Fatalf("read with resume %+v: to %d, %v; want 101..200", stale, n-1, err)
		}
	}
	j.Close()
}
