package journal

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// countSyncs replaces the journal's fsync with one that counts (and can fail).
func countSyncs(j *Journal, fail func(n int) error) *int {
	n := new(int)
	j.datasync = func(f *os.File) error {
		*n++
		if fail != nil {
			if err := fail(*n); err != nil {
				return err
			}
		}
		return datasync(f)
	}
	return n
}

func TestSyncModes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mode        SyncMode
		syncsPerBat int // -1: at least one
	}{
		{"batch_fsyncs_every_commit", SyncBatch, 1},
		{"interval_fsyncs_before_commit_returns", SyncInterval, 1},
		{"none_never_fsyncs_on_commit", SyncNone, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, _ := openT(t, t.TempDir(), func(o *Options) {
				o.Sync, o.SyncIntervalMs, o.SegmentBytes = tc.mode, 2, 1<<30
			})
			defer j.Close()
			n := countSyncs(j, nil)
			seq := int64(0)
			for b := 0; b < 20; b++ {
				before := *n
				for range 1 + b%5 {
					seq++
					j.Append(seq, record(seq))
				}
				if err := j.Commit(); err != nil {
					t.Fatal(err)
				}
				if got := *n - before; got != tc.syncsPerBat {
					t.Fatalf("batch %d: %d fsyncs, want %d", b, got, tc.syncsPerBat)
				}
				if j.LastSeq() != seq {
					t.Fatalf("LastSeq %d after committing %d", j.LastSeq(), seq)
				}
			}
		})
	}
}

// TestSyncIntervalSpacesFsyncs checks the rate bound: however fast commits
// come, fsyncs are at least SyncIntervalMs apart. (A slow machine makes fewer
// fsyncs, never more, so the bound cannot fail for slowness.)
func TestSyncIntervalSpacesFsyncs(t *testing.T) {
	j, _ := openT(t, t.TempDir(), func(o *Options) { o.Sync, o.SyncIntervalMs, o.SegmentBytes = SyncInterval, 10, 1<<30 })
	defer j.Close()
	var at []time.Time
	j.datasync = func(f *os.File) error {
		at = append(at, time.Now())
		return datasync(f)
	}
	for seq := int64(1); seq <= 30; seq++ {
		j.Append(seq, record(seq))
		if err := j.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 10*time.Millisecond {
			t.Fatalf("fsyncs %d and %d only %v apart", i-1, i, gap)
		}
	}
}

func TestFsyncFailureStopsTheJournal(t *testing.T) {
	dir := t.TempDir()
	j, lg := openT(t, dir)
	eio := syscall.EIO
	countSyncs(j, func(n int) error {
		if n == 3 {
			return eio
		}
		return nil
	})
	write(t, j, 1, 2, 1)
	j.Append(3, record(3))
	err := j.Commit()
	if !errors.Is(err, eio) {
		t.Fatalf("Commit after a failed fsync: %v", err)
	}
	if j.LastSeq() != 2 {
		t.Fatalf("LastSeq %d: a batch whose fsync failed counted as durable", j.LastSeq())
	}
	// Never retried: the next fsync would succeed, but nothing is tried.
	if err2 := j.Append(4, record(4)); err2 != err {
		t.Fatalf("Append after failure: %v", err2)
	}
	if err2 := j.Commit(); err2 != err {
		t.Fatalf("Commit after failure: %v", err2)
	}
	if !lg.Has("input/output error") {
		t.Fatalf("the failure's cause is not logged: %q", lg.All())
	}
	j.Close()
	// The records written before the failure are whole on disk.
	j, _ = openT(t, dir)
	defer j.Close()
	if j.LastSeq() < 2 {
		t.Fatalf("reopened at %d", j.LastSeq())
	}
}

// TestSyncModeNames: each mode's name (a config file's journal.sync) reads
// back to it; anything else, "" included, is an error that names the value.
func TestSyncModeNames(t *testing.T) {
	for name, want := range map[string]SyncMode{"batch": SyncBatch, "interval": SyncInterval, "none": SyncNone} {
		var got SyncMode
		if err := got.UnmarshalText([]byte(name)); err != nil || got != want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", name, got, err, want)
		}
		if b, err := want.MarshalText(); err != nil || string(b) != name {
			t.Errorf("%v.MarshalText() = %q, %v", want, b, err)
		}
	}
	for _, bad := range []string{"always", ""} {
		var m SyncMode
		if err := m.UnmarshalText([]byte(bad)); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("UnmarshalText(%q): %v", bad, err)
		}
	}
}

// TestDeletedJournalStopsAccepting: the data folder removed while the
// journal runs (rm -rf) fails the next Commit, which names what was
// deleted; nothing of that batch or later counts as durable.
func TestDeletedJournalStopsAccepting(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(t *testing.T, dir string)
	}{
		{"folder_removed_with_everything_in_it", func(t *testing.T, dir string) { os.RemoveAll(dir) }},
		{"active_segment_removed", func(t *testing.T, dir string) {
			segs, _ := listHot(dir)
			if err := os.Remove(dir + "/" + segName(segs[len(segs)-1])); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/journal"
			j, lg := openT(t, dir)
			defer j.Close()
			write(t, j, 1, 10, 5)
			tc.remove(t, dir)
			j.Append(11, record(11))
			err := j.Commit()
			if err == nil || !strings.Contains(err.Error(), "deleted while open") {
				t.Fatalf("Commit after the journal's files were deleted: %v", err)
			}
			if j.LastSeq() != 10 {
				t.Fatalf("LastSeq %d: a batch written to a deleted file counted as durable", j.LastSeq())
			}
			if err2 := j.Append(12, record(12)); err2 != err {
				t.Fatalf("Append after the failure: %v", err2)
			}
			if !lg.Has("deleted while open") {
				t.Fatalf("the failure is not logged: %q", lg.All())
			}
		})
	}
}

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
