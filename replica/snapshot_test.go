package replica

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
)

// journalOfSmallSegments journals records 1..n in 4 KiB segments.
func journalOfSmallSegments(t *testing.T, dir string, n int64) {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: dir, SegmentBytes: 4096, Log: logtest.Discard()})
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
		sp, reason := plan(next)
		if sp == nil || reason != "" {
			t.Fatalf("next %d: plan %+v, reason %q; want the snapshot at %d", next, sp, reason, first+20)
		}
		data := make([]byte, sp.file.Size)
		sp.file.ReadAt(data, 0)
		sp.file.Close()
		if sp.file.Seq != first+20 || sp.file.Hash != 9 || string(data) != "state" {
			t.Fatalf("next %d: planned the snapshot at %d (hash %d, %q); want the one at %d", next, sp.file.Seq, sp.file.Hash, data, first+20)
		}
	}
	for _, next := range []int64{first, 500, 650, 701} {
		if sp, reason := plan(next); sp != nil || reason != "" {
			t.Fatalf("next %d, held by the journal or the window: plan %+v, reason %q; want records", next, sp, reason)
		}
	}

}

// TestRefusedStandbyAsksAgainUntilThePrimaryHasASnapshot: a standby the
// journal cannot serve, while the primary has no usable snapshot, is
// refused and told why; it does not give up but asks again, logging each
// refusal, and is sent the snapshot once the primary has taken one.
func TestRefusedStandbyAsksAgainUntilThePrimaryHasASnapshot(t *testing.T) {
	pdir := t.TempDir()
	jdir := filepath.Join(pdir, "journal")
	journalOfSmallSegments(t, jdir, 600)
	first := removeSegmentsBefore(t, jdir, 400)
	p := newPrimary(t, pdir, 0, 64)
	p.batch(100)

	sb := startStandby(t, t.TempDir(), p.s.Addr().String())
	waitFor(t, "three refusals naming where the journal begins", func() bool {
		return sb.logged("REFUSED by the primary") >= 3 && sb.logged("journal begins at seq") >= 3 && sb.logged(fmt.Sprintf("code=%q", RefuseNoSnapshot.String())) >= 3
	})
	select {
	case err := <-sb.done:
		t.Fatalf("the refused standby gave up: %v", err)
	default:
	}
	if err := journal.WriteSnapshot(jdir, first+20, 9, []byte("state")); err != nil { // the primary's checkpoint
		t.Fatal(err)
	}
	var behind *BehindError
	select {
	case err := <-sb.done:
		if !errors.As(err, &behind) || behind.Seq != first+20 || behind.Hash != 9 {
			t.Fatalf("standby ended with %v, want the snapshot at %d", err, first+20)
		}
	case <-time.After(waitLong):
		t.Fatalf("the standby was not sent the snapshot within %v of the primary taking it", waitLong)
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
	if behind.Last != 100 || behind.Seq != 2000 || behind.Hash != 0xfeed || behind.Size != int64(len(state)) {
		t.Fatalf("got snapshot at %d (hash %x, %d bytes) for a standby at %d; want the one at 2000, %d bytes, for one at 100",
			behind.Seq, behind.Hash, behind.Size, behind.Last, len(state))
	}
	aside, err := InstallSnapshot(sj, behind, logtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(behind.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the received snapshot file %s is still there after the install (%v): it should have been moved", behind.Path, err)
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
	j, err := journal.Open(journal.Options{Dir: dir, FirstSeq: 101, Log: logtest.New(t)})
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
	if _, err := Truncate(dir, 150, logtest.New(t)); err != nil {
		t.Fatal(err)
	}
	first, _ := journal.FirstSeq(dir)
	last := int64(0)
	if err := journal.Read(dir, first, func(seq int64, r []byte) error { last = seq; return nil }); err != nil || first != 101 || last != 150 {
		t.Fatalf("cut journal holds %d..%d (%v), want 101..150", first, last, err)
	}
	aside, err := Truncate(dir, 50, logtest.New(t))
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

// TestSnapshotGoesToDiskAChunkAtATime: a standby holds no more of a
// snapshot than the frame it is reading. Nothing that keeps an arriving
// snapshot has room for its bytes (no slice, array or map in it), and a
// primary that sends a snapshot of three chunks and a bit, waiting after
// each, finds every chunk in the standby's file before it sends the next.
// A snapshot cut short, by a crash or by a lost connection, leaves no file
// behind by the next hello; sent again whole, it arrives fsynced and
// installable.
func TestSnapshotGoesToDiskAChunkAtATime(t *testing.T) {
	for _, v := range []any{BehindError{}, incomingSnapshot{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if k := typ.Field(i).Type.Kind(); k == reflect.Slice || k == reflect.Array || k == reflect.Map {
				t.Errorf("%s.%s is a %v: it could hold the snapshot's bytes", typ.Name(), typ.Field(i).Name, k)
			}
		}
	}

	const chunkBytes = 64 << 10
	state := make([]byte, 3*chunkBytes+1000)
	for i := range state {
		state[i] = byte(i * 7)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sdir := t.TempDir()
	incoming := filepath.Join(sdir, incomingSnapshotName)
	if err := os.WriteFile(incoming, []byte("half a snapshot, left by a crash"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := startStandby(t, sdir, ln.Addr().String())
	history := []Epoch{{Epoch: 1, FirstSeq: 1, Term: 0xabc}}

	// serve answers one hello with a welcome and the snapshot at seq 500,
	// chunk by chunk, until the chunk that begins at stopAt; after each it
	// waits until the standby's file holds what was sent.
	serve := func(stopAt int) {
		t.Helper()
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if f, err := newFrameReader(c).next(); err != nil || f.typ != typeHello {
			t.Fatalf("first frame from the standby: type %d, %v; want a hello", f.typ, err)
		}
		if _, err := os.Stat(incoming); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the standby says hello with a snapshot file in %s (%v): one cut short must be removed", incoming, err)
		}
		var fw frameWriter
		fw.begin(typeWelcome, 1)
		fw.u64(0)
		fw.history(history)
		if _, err := c.Write(fw.finish()); err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(state) && off != stopAt; off += chunkBytes {
			end := min(off+chunkBytes, len(state))
			fw.begin(typeSnapshot, 1)
			fw.u64(500)
			fw.u64(0x5eed)
			fw.u64(uint64(len(state)))
			fw.u64(uint64(off))
			fw.buf = append(fw.buf, state[off:end]...)
			if _, err := c.Write(fw.finish()); err != nil {
				t.Fatal(err)
			}
			if end == len(state) {
				return // the last chunk: the standby finishes the file and stops
			}
			waitFor(t, fmt.Sprintf("the standby's file holds the %d bytes sent", end), func() bool {
				st, err := os.Stat(incoming)
				return err == nil && st.Size() == int64(32+end) // the snapshot file's header, then the data
			})
		}
	}
	serve(2 * chunkBytes)
	serve(-1) // the standby connects again only once the cut snapshot is gone
	var behind *BehindError
	if err := <-sb.done; !errors.As(err, &behind) {
		t.Fatalf("standby ended with %v, want BehindError", err)
	}
	sb.j.Close()
	if behind.Seq != 500 || behind.Hash != 0x5eed || behind.Size != int64(len(state)) || behind.Path != incoming {
		t.Fatalf("got %+v; want the snapshot at 500 (hash 5eed, %d bytes) in %s", behind, len(state), incoming)
	}
	installed := t.TempDir()
	if err := journal.MoveSnapshot(behind.Path, installed, 500, 0x5eed); err != nil {
		t.Fatal(err)
	}
	if seq, _, data, ok, err := journal.LatestSnapshot(installed); !ok || err != nil || seq != 500 || !bytes.Equal(data, state) {
		t.Fatalf("the received snapshot reads as seq %d (%d bytes, ok %v, %v); want the %d bytes sent", seq, len(data), ok, err, len(state))
	}
	if n := sb.logged("REFUSED"); n != 0 {
		t.Fatalf("logged %d refusals; none was sent", n)
	}
}

// TestSenderSendsTheSnapshotBeforeTheOldestMark: a standby the journal
// cannot serve is sent the newest snapshot at or before the seq after
// which a broker may lack reports (SenderOptions.RebuildFrom), so that,
// promoted, it can rebuild them from its own journal; the newest snapshot
// when that seq is later; and, when no snapshot the journal follows is
// that old, the oldest one it follows.
func TestSenderSendsTheSnapshotBeforeTheOldestMark(t *testing.T) {
	pdir := t.TempDir()
	jdir := filepath.Join(pdir, "journal")
	journalOfSmallSegments(t, jdir, 600)
	first := removeSegmentsBefore(t, jdir, 400)
	for _, seq := range []int64{first - 5, first + 20, first + 60, first + 100} {
		if err := journal.WriteSnapshot(jdir, seq, uint64(seq), []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	var rebuildFrom atomic.Int64
	p := newPrimaryWith(t, pdir, 0, 64, 0, func(o *SenderOptions) { o.RebuildFrom = rebuildFrom.Load })
	p.batch(100) // the window holds 637..700
	for _, c := range []struct{ rebuildFrom, want int64 }{
		{700, first + 100}, {first + 80, first + 60}, {first + 20, first + 20}, {first + 19, first + 20}, {1, first + 20},
	} {
		rebuildFrom.Store(c.rebuildFrom)
		sp, reason, err := p.s.planSnapshot(1)
		if err != nil || sp == nil || reason != "" {
			t.Fatalf("rebuild from %d: plan %+v, reason %q, err %v; want the snapshot at %d", c.rebuildFrom, sp, reason, err, c.want)
		}
		sp.file.Close()
		if sp.file.Seq != c.want {
			t.Errorf("rebuild from %d: planned the snapshot at %d, want %d", c.rebuildFrom, sp.file.Seq, c.want)
		}
	}
}
