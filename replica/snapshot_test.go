package replica

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/journal"
)

// journalOfSmallSegments journals records 1..n in 4 KiB segments.
func journalOfSmallSegments(t *testing.T, dir string, n int64) {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: dir, SegmentBytes: 4096, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= n; seq++ {
		if err := j.Append(seq, rec(seq)); err != nil {
			t.Fatal(err)
		}
		if seq%10 == 0 || seq == n {
			if err := j.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// removeSegmentsBefore deletes, as an operator would, every segment of the
// journal in dir that holds only records before seq; it returns the first
// seq left.
func removeSegmentsBefore(t *testing.T, dir string, seq int64) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var firsts []int64
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".seg"); ok {
			first, err := strconv.ParseInt(name, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			firsts = append(firsts, first)
		}
	}
	sort.Slice(firsts, func(a, b int) bool { return firsts[a] < firsts[b] })
	for i := 0; i+1 < len(firsts) && firsts[i+1] <= seq; i++ {
		if err := os.Remove(filepath.Join(dir, e20(firsts[i])+".seg")); err != nil {
			t.Fatal(err)
		}
	}
	first, err := journal.FirstSeq(dir)
	if err != nil || first <= 1 || first > seq {
		t.Fatalf("journal begins at %d (%v) after removing segments before %d", first, err, seq)
	}
	return first
}

func e20(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 20-len(s)) + s
}

// TestSenderChoosesJournalOrSnapshot: a standby whose next seq the window
// or the journal holds is streamed records; one the journal no longer
// reaches is sent the newest snapshot when the journal holds the seq after
// it, and refused with a reason otherwise.
func TestSenderChoosesJournalOrSnapshot(t *testing.T) {
	pdir := t.TempDir()
	jdir := filepath.Join(pdir, "journal")
	journalOfSmallSegments(t, jdir, 600)
	first := removeSegmentsBefore(t, jdir, 400)
	p := newPrimary(t, pdir, 0, 64)
	p.batch(100) // the window holds 637..700

	plan := func(next int64) (*snapshotPlan, string) {
		t.Helper()
		sp, reason, err := p.s.planSnapshot(next)
		if err != nil {
			t.Fatal(err)
		}
		return sp, reason
	}
	if sp, reason := plan(1); sp != nil || !strings.Contains(reason, "no valid snapshot") {
		t.Fatalf("no snapshot: plan %v, reason %q; want a refusal saying there is no snapshot", sp, reason)
	}
	if err := journal.WriteSnapshot(jdir, first-2, 7, []byte("too old")); err != nil {
		t.Fatal(err)
	}
	if sp, reason := plan(1); sp != nil || !strings.Contains(reason, "older than that") {
		t.Fatalf("snapshot before the journal: plan %v, reason %q; want a refusal saying it is too old", sp, reason)
	}
	if err := journal.WriteSnapshot(jdir, first+20, 9, []byte("state")); err != nil {
		t.Fatal(err)
	}
	for _, next := range []int64{1, first - 1} {
		if sp, reason := plan(next); sp == nil || sp.seq != first+20 || sp.hash != 9 || string(sp.data) != "state" || reason != "" {
			t.Fatalf("next %d: plan %+v, reason %q; want the snapshot at %d", next, sp, reason, first+20)
		}
	}
	for _, next := range []int64{first, 500, 650, 701} {
		if sp, reason := plan(next); sp != nil || reason != "" {
			t.Fatalf("next %d, held by the journal or the window: plan %+v, reason %q; want records", next, sp, reason)
		}
	}

	// Over the wire: a standby the journal cannot serve, with no usable
	// snapshot, is refused and told why.
	os.Remove(filepath.Join(jdir, "snap-"+e20(first+20)+".snap"))
	sb := startStandby(t, t.TempDir(), p.s.Addr().String())
	var ref *RefusedError
	if err := <-sb.done; !errors.As(err, &ref) || !strings.Contains(ref.Reason, "journal begins at seq") {
		t.Fatalf("standby ended with %v, want a refusal naming where the journal begins", err)
	}
	sb.j.Close()
}

// TestStandbyBehindTheJournalInstallsTheSnapshotAndFollows: the primary's
// oldest segments were removed while a standby was away at seq 100. On its
// return it is sent the snapshot (in several frames: it is larger than one
// frame may carry), installs it, keeps its old journal aside, starts again
// and gets exactly the records after the snapshot, then the live stream,
// in sync.
func TestStandbyBehindTheJournalInstallsTheSnapshotAndFollows(t *testing.T) {
	pdir, sdir := t.TempDir(), t.TempDir()
	pj, sj := filepath.Join(pdir, "journal"), filepath.Join(sdir, "journal")
	journalOfSmallSegments(t, pj, 3000)
	journalOfSmallSegments(t, sj, 100)
	state := bytes.Repeat([]byte("0123456789abcdef"), 1+2*snapshotChunkBytes/16) // three frames
	if err := journal.WriteSnapshot(pj, 2000, 0xfeed, state); err != nil {
		t.Fatal(err)
	}
	removeSegmentsBefore(t, pj, 2001)
	p := newPrimary(t, pdir, 0, 256)
	p.batch(50)

	sb := startStandby(t, sdir, p.s.Addr().String())
	var behind *BehindError
	if err := <-sb.done; !errors.As(err, &behind) {
		t.Fatalf("standby ended with %v, want BehindError", err)
	}
	sb.j.Close()
	if behind.Last != 100 || behind.Seq != 2000 || behind.Hash != 0xfeed || !bytes.Equal(behind.Data, state) {
		t.Fatalf("got snapshot at %d (hash %x, %d bytes) for a standby at %d; want the one at 2000, %d bytes, for one at 100",
			behind.Seq, behind.Hash, len(behind.Data), behind.Last, len(state))
	}
	aside, err := InstallSnapshot(sj, behind, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := journal.FirstSeq(aside); err != nil || first != 1 {
		t.Fatalf("old journal kept aside begins at %d (%v), want 1", first, err)
	}
	if seq, hash, data, ok, err := journal.LatestSnapshot(sj); !ok || err != nil || seq != 2000 || hash != 0xfeed || !bytes.Equal(data, state) {
		t.Fatalf("installed snapshot: seq %d hash %x ok %v err %v", seq, hash, ok, err)
	}

	sb = startStandby(t, sdir, p.s.Addr().String())
	timer := time.NewTimer(time.Hour)
	for i := range 20 {
		last := p.batch(1 + i%7)
		if ok, err := p.s.Await(last, 0, timer); !ok || err != nil {
			t.Fatalf("await %d: %v %v", last, ok, err)
		}
	}
	last := p.next - 1
	waitFor(t, "standby applies everything", func() bool { return sb.r.applied.Load() == last })
	sb.stop()
	sb.checkApplied(2001, last)
	next := int64(2001)
	if err := journal.Read(sj, 2001, func(seq int64, r []byte) error {
		if seq != next || !bytes.Equal(r, rec(seq)) {
			t.Fatalf("standby journal: seq %d where %d was due, or not the primary's bytes", seq, next)
		}
		next++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if next != last+1 {
		t.Fatalf("standby journal ends at %d, want %d", next-1, last)
	}
}

// TestTruncateAJournalBeginningAfterSeqOne: a standby that installed a
// snapshot and then diverged is cut from where its journal begins; cut
// before that, it keeps nothing and starts empty.
func TestTruncateAJournalBeginningAfterSeqOne(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j, err := journal.Open(journal.Options{Dir: dir, FirstSeq: 101, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(101); seq <= 200; seq++ {
		if err := j.Append(seq, rec(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, err := Truncate(dir, 150, t.Logf); err != nil {
		t.Fatal(err)
	}
	first, _ := journal.FirstSeq(dir)
	last := int64(0)
	if err := journal.Read(dir, first, func(seq int64, r []byte) error { last = seq; return nil }); err != nil || first != 101 || last != 150 {
		t.Fatalf("cut journal holds %d..%d (%v), want 101..150", first, last, err)
	}
	aside, err := Truncate(dir, 50, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a journal beginning after the cut is still in place (%v)", err)
	}
	if first, _ := journal.FirstSeq(aside); first != 101 {
		t.Fatalf("the journal kept aside begins at %d, want 101", first)
	}
}
