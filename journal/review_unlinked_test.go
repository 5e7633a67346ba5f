package journal

import (
	"os"
	"testing"
)

// TestActiveSegmentDeletedBeforeARollIsNoticed: the active segment is
// deleted (by hand, or by an rm of the journal's files but not the folder)
// between two Commits, and the next batch does not fit: Commit rolls to a
// new segment. The records already in the deleted segment were acknowledged
// and are gone; the journal must notice at this batch (issue 15 item 4:
// "the journal must notice within one batch that its active segment ...
// lost its link"), not seal the unlinked file and go on in a new one, which
// leaves a hole that only the next start finds.
func TestActiveSegmentDeletedBeforeARollIsNoticed(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir) // SegmentBytes 4096
	defer j.Close()
	write(t, j, 1, 10, 10)
	if err := os.Remove(j.f.Name()); err != nil {
		t.Fatal(err)
	}
	for s := int64(11); s <= 400; s++ { // more than the segment's room: Commit rolls first
		if err := j.Append(s, record(s)); err != nil {
			t.Fatal(err)
		}
	}
	err := j.Commit()
	t.Logf("Commit: %v; segment %s", err, j.f.Name())
	if err == nil {
		t.Fatalf("Commit of seqs 11..400 succeeded after the active segment holding seqs 1..10 was deleted; LastSeq %d", j.LastSeq())
	}
}
