package journal

import (
	"os"
	"path/filepath"
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
		return len(arc) == len(hot)-1 || lg.has("archiver:")
	})
	if lg.has("archiver:") {
		t.Fatalf("archiver failed: %q", lg.lines)
	}
	if exists(archivePath(dir, hot[len(hot)-1])) {
		t.Fatal("the active segment was archived")
	}
	if !lg.has("archived") {
		t.Fatalf("archiving not logged: %q", lg.lines)
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
