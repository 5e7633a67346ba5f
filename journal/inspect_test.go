package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ringex/ringex/internal/logtest"
)

// archivedJournal writes seqs 1..300 with the archiver on and returns the
// hot segments' first seqs once every sealed one has its archived copy.
func archivedJournal(t *testing.T, dir string) []int64 {
	t.Helper()
	j, _ := openT(t, dir, func(o *Options) { o.Archive = true })
	write(t, j, 1, 300, 6)
	hot, _ := listHot(dir)
	waitFor(func() bool { return exists(archivePath(dir, hot[len(hot)-2])) })
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if len(hot) < 5 {
		t.Fatalf("want at least 5 segments, have %d", len(hot))
	}
	return hot
}

// rewriteArchived replaces the archived copy of the segment at first with
// its plain bytes compressed after damage(b) changed them, and returns
// its path.
func rewriteArchived(t *testing.T, dir string, first int64, damage func(b []byte)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, segName(first)))
	if err != nil {
		t.Fatal(err)
	}
	damage(b)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	arc := archivePath(dir, first)
	if err := os.WriteFile(arc, enc.EncodeAll(b, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	enc.Close()
	return arc
}

// TestMissingHotSegmentReadFromArchive: a middle hot segment is gone and its
// archived copy is whole. Read reads the copy, and so does Open: it starts,
// says so, and the journal goes on.
func TestMissingHotSegmentReadFromArchive(t *testing.T) {
	dir := t.TempDir()
	hot := archivedJournal(t, dir)
	os.Remove(filepath.Join(dir, segName(hot[2])))
	j, lg := openT(t, dir)
	if j.LastSeq() != 300 {
		t.Fatalf("LastSeq %d, want 300", j.LastSeq())
	}
	if !lg.Has(segName(hot[2])) || !lg.Has("archived copies") {
		t.Fatalf("the missing hot segment is not logged: %q", lg.All())
	}
	write(t, j, 301, 400, 7)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if first, last, err := readAll(t, dir, 1); err != nil || first != 1 || last != 400 {
		t.Fatalf("read %d..%d, %v", first, last, err)
	}
}

// TestMissingHotSegmentDamagedArchive: the archived copy that stands in for
// a missing hot segment is damaged. Open and Read refuse alike, naming the
// copy, the offset and the record; with StartFromLastGood the journal ends
// before the gap, and the archive holds nothing after it, so it opens again.
func TestMissingHotSegmentDamagedArchive(t *testing.T) {
	dir := t.TempDir()
	hot := archivedJournal(t, dir)
	offs, seqs, _ := frameOffsets(t, filepath.Join(dir, segName(hot[2])))
	arc := rewriteArchived(t, dir, hot[2], func(b []byte) { b[offs[3]+frameBytes] ^= 0x5a })
	os.Remove(filepath.Join(dir, segName(hot[2])))
	_, oerr := Open(Options{Dir: dir, Log: logtest.Discard()})
	_, _, rerr := readAll(t, dir, 1)
	for _, err := range []error{oerr, rerr} {
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.File != arc || ce.Offset != offs[3] || ce.Seq != seqs[3] || !strings.Contains(ce.Reason, "crc") {
			t.Fatalf("want crc damage in %s at offset %d, seq %d; got %v", arc, offs[3], seqs[3], err)
		}
	}
	j, lg := openT(t, dir, func(o *Options) { o.StartFromLastGood = true })
	if j.LastSeq() != hot[2]-1 || !lg.Has("STARTING FROM LAST GOOD") {
		t.Fatalf("LastSeq %d, want %d; log %q", j.LastSeq(), hot[2]-1, lg.All())
	}
	j.Close()
	// The cut records were durable (DURABLE says so): each start needs the
	// flag until their seqs are filled, as the node does with markers.
	j, _ = openT(t, dir, func(o *Options) { o.StartFromLastGood = true })
	write(t, j, hot[2], hot[2]+50, 5)
	j.Close()
	if first, last, err := readAll(t, dir, 1); err != nil || first != 1 || last != hot[2]+50 {
		t.Fatalf("after starting from the last good record: read %d..%d, %v", first, last, err)
	}
}

// TestScanSaysWhere: Scan hands out every record with its file and the
// offset of its frame, reports the torn tail that Read passes over, and
// names the record that damage at a frame boundary hits.
func TestScanSaysWhere(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	write(t, j, 1, 400, 5)
	j.Close()
	hot, _ := listHot(dir)
	lastPath := filepath.Join(dir, segName(hot[len(hot)-1]))
	offs, seqs, _ := frameOffsets(t, lastPath)
	truncateFile(lastPath, offs[len(offs)-1]+frameBytes+3)
	want := map[string]map[int64]int64{} // file -> seq -> offset
	for _, first := range hot {
		path := filepath.Join(dir, segName(first))
		o, s, _ := frameOffsets(t, path)
		want[path] = map[int64]int64{}
		for i := range o {
			want[path][s[i]] = o[i]
		}
	}
	n := 0
	tail, err := Scan(dir, 1, func(r Record) error {
		if off, ok := want[r.File][r.Seq]; !ok || off != r.Offset || string(r.Data) != string(record(r.Seq)) {
			t.Fatalf("seq %d at %s offset %d; want offset %d (%v)", r.Seq, r.File, r.Offset, off, ok)
		}
		n++
		return nil
	})
	torn := Tail{File: lastPath, Offset: offs[len(offs)-1], Bytes: frameBytes + 3}
	if err != nil || tail != torn || int64(n) != seqs[len(seqs)-1]-1 {
		t.Fatalf("Scan: %d records, tail %+v, %v; want %d records, tail %+v", n, tail, err, seqs[len(seqs)-1]-1, torn)
	}
	mid := filepath.Join(dir, segName(hot[1]))
	offs, seqs, _ = frameOffsets(t, mid)
	flipAt(t, mid, offs[2]+frameBytes)
	_, err = Scan(dir, 1, func(Record) error { return nil })
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != mid || ce.Offset != offs[2] || ce.Seq != seqs[2] {
		t.Fatalf("want damage at %s offset %d seq %d, got %v", mid, offs[2], seqs[2], err)
	}
	if last, err := LastSeq(dir); err != nil || last != int64(n) {
		t.Fatalf("LastSeq %d, %v; want %d", last, err, n)
	}
}

// TestCheckFile: a sealed segment checks whole; the archived copy that Read
// passes over (its hot twin is there) is checked on its own, and damage in
// it is named by file and offset; the zero-filled active segment is not a
// sealed one.
func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	hot := archivedJournal(t, dir)
	for _, path := range []string{filepath.Join(dir, segName(hot[1])), archivePath(dir, hot[1])} {
		if last, err := CheckFile(path); err != nil || last != hot[2]-1 {
			t.Fatalf("CheckFile(%s) = %d, %v; want %d", path, last, err, hot[2]-1)
		}
	}
	offs, _, _ := frameOffsets(t, filepath.Join(dir, segName(hot[1])))
	arc := rewriteArchived(t, dir, hot[1], func(b []byte) { b[offs[4]+frameBytes+1] ^= 1 })
	var ce *CorruptError
	if _, err := CheckFile(arc); !errors.As(err, &ce) || ce.File != arc || ce.Offset != offs[4] {
		t.Fatalf("damaged archived copy: %v; want %s at offset %d", err, arc, offs[4])
	}
	// The active segment is zero-filled ahead of its writer; a sealed one
	// holds no zeros.
	b, _ := os.ReadFile(filepath.Join(dir, segName(hot[2])))
	zeroed := filepath.Join(t.TempDir(), segName(hot[2]))
	os.WriteFile(zeroed, append(b, make([]byte, 4096)...), 0o644)
	if _, err := CheckFile(zeroed); !errors.As(err, &ce) || ce.Offset != int64(len(b)) || !strings.Contains(ce.Reason, "zeros") {
		t.Fatalf("a segment with zeros after its last record checked as sealed: %v", err)
	}
	if _, err := CheckFile(filepath.Join(dir, "LOCK")); err == nil {
		t.Fatal("CheckFile took LOCK for a segment")
	}
}
