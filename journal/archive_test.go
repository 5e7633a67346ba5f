package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond without a deadline of its own: the test binary's
// -timeout is the bound, so a slow machine cannot fail the test.
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestArchiveSealedSegments(t *testing.T) {
	dir := t.TempDir()
	j, lg := openT(t, dir, func(o *Options) { o.Archive = true })
	write(t, j, 1, 600, 6)
	hot, _ := listHot(dir)
	waitFor(func() bool {
		arc, _ := listSuffix(filepath.Join(dir, ArchiveDirName), archiveSuffix)
		return len(arc) == len(hot)-1 || lg.Has("archiver failed")
	})
	if lg.Has("archiver failed") {
		t.Fatalf("archiver failed: %q", lg.All())
	}
	if exists(archivePath(dir, hot[len(hot)-1])) {
		t.Fatal("the active segment was archived")
	}
	if !lg.Has("archived") {
		t.Fatalf("archiving not logged: %q", lg.All())
	}
	j.Close()
	// Readers read the compressed copies alone as well as the plain ones.
	for _, first := range hot[:len(hot)-1] {
		os.Remove(filepath.Join(dir, segName(first)))
	}
	for _, from := range []int64{1, 77, 300, 600} {
		if f, last, err := readAll(t, dir, from); err != nil || f != from || last != 600 {
			t.Fatalf("from %d: read %d..%d, %v", from, f, last, err)
		}
	}
}

// TestRetention: hot segments leave only once archived, wholly at or before
// the newest snapshot, and old enough; the journal still reads from seq 1.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	write(t, j, 1, 600, 6)
	j.Close()
	hot, _ := listHot(dir)
	// Bit rot in a sealed segment after Open verified it: the archiver finds
	// it, never archives it, so never removes it, and nothing after it goes
	// either: the hot folder stays contiguous.
	damaged := hot[len(hot)/2]
	offs, _, _ := frameOffsets(t, filepath.Join(dir, segName(damaged)))
	flipAt(t, filepath.Join(dir, segName(damaged)), offs[2]+frameBytes)
	snapSeq := hot[len(hot)-2] + 3 // inside the second-to-last segment
	if err := WriteSnapshot(dir, snapSeq, 1, []byte("state")); err != nil {
		t.Fatal(err)
	}
	lg := &testLog{}
	a, err := startArchiver(dir, hot[len(hot)-1], time.Millisecond, lg.Logger())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(func() bool { return lg.Has("not archived") })
	waitFor(func() bool {
		left, _ := listHot(dir)
		return len(left) > 0 && left[0] == damaged
	})
	a.poke() // one more pass must not remove more
	time.Sleep(20 * time.Millisecond)
	a.close()
	left, _ := listHot(dir)
	if left[0] != damaged || left[len(left)-1] != hot[len(hot)-1] || len(left) != len(hot)-len(hot)/2 {
		t.Fatalf("hot segments left: %v of %v", left, hot)
	}
	for _, first := range hot[len(hot)/2+1 : len(hot)-1] {
		if !exists(archivePath(dir, first)) {
			t.Fatalf("segment %d after the damaged one not archived", first)
		}
	}
	flipAt(t, filepath.Join(dir, segName(damaged)), offs[2]+frameBytes) // repair
	j, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open with an archived past: %v", err)
	}
	j.Close()
	if f, last, err := readAll(t, dir, 1); err != nil || f != 1 || last != 600 {
		t.Fatalf("read %d..%d, %v", f, last, err)
	}
}

func TestRetentionStopsAtSnapshot(t *testing.T) {
	dir := t.TempDir()
	j, lg := openT(t, dir, func(o *Options) { o.Archive, o.HotRetentionMs = true, 1 })
	defer j.Close()
	write(t, j, 1, 600, 6)
	hot, _ := listHot(dir)
	snapSeq := hot[3] // the first record of segment 3: segments 0..2 may go
	WriteSnapshot(dir, snapSeq, 1, nil)
	j.arch.poke()
	waitFor(func() bool { left, _ := listHot(dir); return left[0] == hot[3] })
	j.arch.poke()
	time.Sleep(20 * time.Millisecond)
	if left, _ := listHot(dir); left[0] != hot[3] || !lg.Has("removed hot segment") {
		t.Fatalf("left %v of %v", left[:2], hot[:4])
	}
}

func TestDamagedArchiveIsCorruption(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.Archive = true })
	write(t, j, 1, 300, 6)
	hot, _ := listHot(dir)
	waitFor(func() bool { return exists(archivePath(dir, hot[2])) })
	j.Close()
	os.Remove(filepath.Join(dir, segName(hot[2])))
	arc := archivePath(dir, hot[2])
	b, _ := os.ReadFile(arc)
	b[len(b)/2] ^= 0xff
	os.WriteFile(arc, b, 0o644)
	_, _, err := readAll(t, dir, 1)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != arc {
		t.Fatalf("want a CorruptError naming %s, got %v", arc, err)
	}
}

func TestHotFolderBehindArchiveRefused(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.Archive = true })
	write(t, j, 1, 300, 6)
	hot, _ := listHot(dir)
	waitFor(func() bool { return exists(archivePath(dir, hot[len(hot)-2])) })
	j.Close()
	os.Remove(filepath.Join(dir, segName(hot[len(hot)-1])))
	if _, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "missing segments") {
		t.Fatalf("Open with the last hot segment gone: %v", err)
	}
}
