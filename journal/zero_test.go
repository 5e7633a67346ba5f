package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// TestZeroFillAheadOfTheWriter: with segments of several zero-fill chunks,
// a writer that sometimes outruns the zeroer (large batches, no fsync) and
// sometimes trails it loses nothing; the active segment is zeros after its
// records, sealed segments end at their last record, and a reopened journal
// goes on writing where its records end, not after the zeros.
// (The zeroer may not have caught up by the last Close: the active
// segment's rest is checked to be zeros if there is one.)
func TestZeroFillAheadOfTheWriter(t *testing.T) {
	dir := t.TempDir()
	seg := int64(3*zeroChunkBytes + 12345)
	j, _ := openT(t, dir, func(o *Options) { o.SegmentBytes = seg; o.Sync = SyncNone })
	write(t, j, 1, 100_000, 997)
	write(t, j, 100_001, 100_500, 3)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, _ = openT(t, dir, func(o *Options) { o.SegmentBytes = seg })
	if j.LastSeq() != 100_500 {
		t.Fatalf("reopened at %d, want 100500", j.LastSeq())
	}
	write(t, j, 100_501, 101_000, 7)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if first, last, err := readAll(t, dir, 1); err != nil || first != 1 || last != 101_000 {
		t.Fatalf("read %d..%d, %v", first, last, err)
	}
	segs, _ := listHot(dir)
	if len(segs) < 3 {
		t.Fatalf("only %d segments", len(segs))
	}
	for i, first := range segs {
		path := filepath.Join(dir, segName(first))
		var src segSource
		end, err := scanPath(&src, path, first, false)
		src.close()
		st, serr := os.Stat(path)
		if err != nil || serr != nil || end.damage != "" {
			t.Fatalf("%s: %v %v %q", path, err, serr, end.damage)
		}
		last := i == len(segs)-1
		if !last && (end.zeroTail || st.Size() != end.goodOff) {
			t.Fatalf("sealed %s is %d bytes, records end at %d", path, st.Size(), end.goodOff)
		}
		if last && st.Size() > end.goodOff && !end.zeroTail {
			t.Fatalf("active %s (%d bytes, records end at %d): what follows is not zeros", path, st.Size(), end.goodOff)
		}
	}
}
