package replica

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
)

const waitLong = 30 * time.Second

func rec(seq int64) []byte {
	return []byte(fmt.Sprintf("record %08d %s", seq, bytes.Repeat([]byte{'x'}, int(seq%50))))
}

// primary is a journal with a Sender in front of it, as the node wires them.
type primary struct {
	t    *testing.T
	dir  string
	j    *journal.Journal
	hist *History
	s    *Sender
	next int64
	pub  atomic.Int64 // what the publish stage passed (SenderOptions.Published)
}

// newPrimaryAt is newPrimary whose epoch is token, as a shard led
// through etcd numbers it (History.BeginAt).
func newPrimaryAt(t *testing.T, dir string, token uint64) *primary {
	t.Helper()
	return newPrimaryEpoch(t, dir, 0, 1<<10, token)
}

func newPrimary(t *testing.T, dir string, preload int64, window int) *primary {
	t.Helper()
	return newPrimaryEpoch(t, dir, preload, window, 0)
}

// newPrimaryEpoch: token 0 begins the epoch one above the last.
func newPrimaryEpoch(t *testing.T, dir string, preload int64, window int, token uint64) *primary {
	t.Helper()
	return newPrimaryWith(t, dir, preload, window, token, nil)
}

// newPrimaryWith is newPrimaryEpoch with opts, when set, changing the
// Sender's options before it listens.
func newPrimaryWith(t *testing.T, dir string, preload int64, window int, token uint64, opts func(*SenderOptions)) *primary {
	t.Helper()
	p := &primary{t: t, dir: dir}
	var err error
	p.j, err = journal.Open(journal.Options{Dir: filepath.Join(dir, "journal"), Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	p.next = p.j.LastSeq() + 1
	for range preload {
		p.append(1)
	}
	if p.hist, err = LoadHistory(dir); err != nil {
		t.Fatal(err)
	}
	if token != 0 {
		err = p.hist.BeginAt(token, p.next)
	} else {
		_, err = p.hist.Begin(p.next)
	}
	if err != nil {
		t.Fatal(err)
	}
	o := SenderOptions{Listen: "127.0.0.1:0", JournalDir: filepath.Join(dir, "journal"), History: p.hist,
		NextSeq: p.next, HeartbeatMs: 20, TimeoutMs: 5000, WindowRecords: window, Published: p.pub.Load, Log: logtest.New(t)}
	if opts != nil {
		opts(&o)
	}
	p.s, err = Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.s.Close(); p.j.Close() })
	return p
}

// append journals n records without shipping them.
func (p *primary) append(n int) {
	p.t.Helper()
	for range n {
		if err := p.j.Append(p.next, rec(p.next)); err != nil {
			p.t.Fatal(err)
		}
		p.next++
	}
	if err := p.j.Commit(); err != nil {
		p.t.Fatal(err)
	}
}

// batch ships and journals n records, as the replicate and journal handlers
// do side by side, and returns the last seq.
func (p *primary) batch(n int) int64 {
	p.t.Helper()
	first := p.next
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = rec(first + int64(i))
	}
	p.s.Ship(first, recs)
	p.append(n)
	return p.next - 1
}

// standby is a journal with a Receiver following a primary.
type standby struct {
	t       *testing.T
	dir     string
	j       *journal.Journal
	r       *Receiver
	done    chan error
	mu      sync.Mutex
	applied []int64
	logs    logtest.Lines
}

// logged counts the standby's log lines that contain s.
func (sb *standby) logged(s string) int { return sb.logs.Count(s) }

func startStandby(t *testing.T, dir, addr string) *standby {
	t.Helper()
	return startFencedStandby(t, dir, addr, nil)
}

// startFencedStandby is startStandby with ReceiverOptions.Admit.
func startFencedStandby(t *testing.T, dir, addr string, admit func(uint64) error) *standby {
	t.Helper()
	return startNamedStandby(t, dir, addr, "", admit)
}

// startNamedStandby is startFencedStandby with ReceiverOptions.Name.
func startNamedStandby(t *testing.T, dir, addr, name string, admit func(uint64) error) *standby {
	t.Helper()
	sb := &standby{t: t, dir: dir, done: make(chan error, 1)}
	var err error
	sb.j, err = journal.Open(journal.Options{Dir: filepath.Join(dir, "journal"), Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	sb.r = NewReceiver(ReceiverOptions{Primary: addr, Name: name, Journal: sb.j, History: hist, HeartbeatMs: 20, TimeoutMs: 5000, Log: sb.logs.Tee(t, "").Logger(),
		SnapshotDir: dir, RefusedRetryMaxMs: 100, Admit: admit,
		Apply: func(seq int64, b []byte) error {
			if !bytes.Equal(b, rec(seq)) {
				return fmt.Errorf("applied seq %d holds %q", seq, b)
			}
			sb.mu.Lock()
			sb.applied = append(sb.applied, seq)
			sb.mu.Unlock()
			return nil
		}})
	go func() { sb.done <- sb.r.Run() }()
	return sb
}

func (sb *standby) stop() {
	sb.r.Stop()
	if err := <-sb.done; err != nil {
		sb.t.Fatalf("standby: %v", err)
	}
	sb.j.Close()
}

// checkApplied: Apply saw exactly from..to, in order, once each.
func (sb *standby) checkApplied(from, to int64) {
	sb.t.Helper()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if int64(len(sb.applied)) != to-from+1 {
		sb.t.Fatalf("applied %d records, want %d (%d..%d)", len(sb.applied), to-from+1, from, to)
	}
	for i, seq := range sb.applied {
		if seq != from+int64(i) {
			sb.t.Fatalf("applied[%d] = seq %d, want %d: a gap or a duplicate", i, seq, from+int64(i))
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", waitLong, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sameJournals(t *testing.T, a, b string) int64 {
	t.Helper()
	var recsA [][]byte
	if err := journal.Read(a, 1, func(seq int64, r []byte) error {
		recsA = append(recsA, bytes.Clone(r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	if err := journal.Read(b, 1, func(seq int64, r []byte) error {
		if seq > int64(len(recsA)) || !bytes.Equal(recsA[seq-1], r) {
			return fmt.Errorf("seq %d differs", seq)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(recsA)) {
		t.Fatalf("%s holds %d records, %s %d", b, n, a, len(recsA))
	}
	return n
}

// TestLateStandbyCatchesUpThenFollowsInSync: the primary's journal holds
// records from before the standby existed, and some of them are older than
// the live window; the standby reads them from the journal, then follows
// the live stream, and every synchronous batch is acknowledged.
func TestLateStandbyCatchesUpThenFollowsInSync(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 5000, 1024)
	// Shipped before any standby: in the window only partly.
	for range 20 {
		p.batch(100)
	}
	sb := startStandby(t, t.TempDir(), p.s.Addr().String())
	timer := time.NewTimer(time.Hour)
	for i := range 200 {
		last := p.batch(1 + i%17)
		ok, err := p.s.Await(last, 0, timer)
		if !ok || err != nil {
			t.Fatalf("await %d: %v %v", last, ok, err)
		}
	}
	last := p.next - 1
	waitFor(t, "standby applies everything", func() bool { return sb.r.applied.Load() == last })
	if !sb.r.InSync() {
		t.Error("standby not in sync after acknowledging everything")
	}
	sb.stop()
	sb.checkApplied(1, last)
	sameJournals(t, filepath.Join(p.dir, "journal"), filepath.Join(sb.dir, "journal"))
}

// TestStandbyRestartCatchesUpWithoutGapOrDuplicate: a standby that leaves
// while the primary keeps shipping comes back, says where it stands, and
// gets exactly what it lacks.
func TestStandbyRestartCatchesUpWithoutGapOrDuplicate(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 512)
	sbDir := t.TempDir()
	sb := startStandby(t, sbDir, p.s.Addr().String())
	for range 50 {
		p.batch(7)
	}
	mid := p.next - 1
	waitFor(t, "first standby acknowledges", func() bool { return p.s.Stats().Acked == mid })
	sb.stop()
	sb.checkApplied(1, mid)
	for range 300 { // more than the window: the return reads the journal
		p.batch(9)
	}
	sb = startStandby(t, sbDir, p.s.Addr().String())
	for range 50 {
		p.batch(3)
	}
	last := p.next - 1
	waitFor(t, "second standby acknowledges", func() bool { return p.s.Stats().Acked == last })
	waitFor(t, "second standby applies", func() bool { return sb.r.applied.Load() == last })
	sb.stop()
	sb.checkApplied(mid+1, last)
	sameJournals(t, filepath.Join(p.dir, "journal"), filepath.Join(sbDir, "journal"))
}

// TestDivergedStandbyIsCutAndRejoins: an old primary's journal holds records
// of its own term that the new primary never had; the new primary tells it
// where their histories part, it cuts its journal there and follows.
func TestDivergedStandbyIsCutAndRejoins(t *testing.T) {
	oldDir, newDir := t.TempDir(), t.TempDir()
	// Both journals share seqs 1..30 of epoch 1.
	for _, d := range []string{oldDir, newDir} {
		j, err := journal.Open(journal.Options{Dir: filepath.Join(d, "journal"), Log: logtest.New(t)})
		if err != nil {
			t.Fatal(err)
		}
		for seq := int64(1); seq <= 30; seq++ {
			j.Append(seq, rec(seq))
		}
		if err := j.Commit(); err != nil {
			t.Fatal(err)
		}
		if d == oldDir { // the old primary journaled 31..40 that nobody acknowledged
			for seq := int64(31); seq <= 40; seq++ {
				j.Append(seq, []byte("never acknowledged"))
			}
			if err := j.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
	}
	// Epoch 1 is the same term on both: the old primary's, which the new
	// one followed.
	h, _ := LoadHistory(oldDir)
	h.Begin(1)
	if err := ResetHistory(newDir, h.Entries()); err != nil {
		t.Fatal(err)
	}
	p := newPrimary(t, newDir, 0, 1024) // epoch 2 begins at 31
	for range 5 {
		p.batch(4)
	}
	sb := startStandby(t, oldDir, p.s.Addr().String())
	err := <-sb.done
	var div *DivergedError
	if !errors.As(err, &div) || div.Keep != 30 || div.Last != 40 {
		t.Fatalf("old primary: %v, want DivergedError keep 30 last 40", err)
	}
	sb.j.Close()
	if _, err := Truncate(filepath.Join(oldDir, "journal"), div.Keep, logtest.New(t)); err != nil {
		t.Fatal(err)
	}
	sb = startStandby(t, oldDir, p.s.Addr().String())
	last := p.batch(5)
	waitFor(t, "rejoined standby acknowledges", func() bool { return p.s.Stats().Acked == last })
	sb.stop()
	sb.checkApplied(31, last)
	sameJournals(t, filepath.Join(newDir, "journal"), filepath.Join(oldDir, "journal"))
	h, _ = LoadHistory(oldDir)
	if got := h.Entries(); len(got) != 2 || got[1].Epoch != 2 || got[1].FirstSeq != 31 || got[1] != p.hist.Entries()[1] {
		t.Fatalf("rejoined standby's history %v, want the primary's [{1 1} {2 31}]", got)
	}
}

// TestStalePrimaryRefused: a primary whose history lacks an epoch the
// standby knows refuses to be followed.
func TestStalePrimaryRefused(t *testing.T) {
	sbDir := t.TempDir()
	h, _ := LoadHistory(sbDir)
	h.Begin(1)
	h.Begin(1)
	h.Begin(1) // the standby knows epoch 3
	p := newPrimary(t, t.TempDir(), 3, 64)
	sb := startStandby(t, sbDir, p.s.Addr().String())
	err := <-sb.done
	var ref *RefusedError
	if !errors.As(err, &ref) || !ref.Final || ref.Code != RefuseStale {
		t.Fatalf("got %v, want a final refusal coded RefuseStale", err)
	}
	sb.j.Close()
}

func TestAgreement(t *testing.T) {
	e := func(pairs ...int64) []Epoch {
		var h []Epoch
		for i := 0; i < len(pairs); i += 2 {
			h = append(h, Epoch{Epoch: uint64(pairs[i]), FirstSeq: pairs[i+1]})
		}
		return h
	}
	cases := []struct {
		name           string
		primary, sb    []Epoch
		last, keep     int64
		standbyIsNewer bool
	}{
		{"fresh_standby", e(1, 1), nil, 0, 0, false},
		{"same_epoch_behind", e(1, 1), e(1, 1), 50, 50, false},
		{"standby_has_unjournaled_tail_of_restarted_primary", e(1, 1, 2, 41), e(1, 1), 50, 40, false},
		{"old_primary_own_term", e(1, 1, 3, 31), e(1, 1, 2, 31), 40, 30, false},
		{"old_primary_term_started_later", e(1, 1, 3, 31), e(1, 1, 2, 36), 40, 30, false},
		{"standby_newer", e(1, 1), e(1, 1, 2, 10), 20, 20, true},
		{"seeded_copy_without_history", e(1, 101), nil, 100, 100, false},
		// Both nodes started as primary from the same history, at the same
		// seq: same number, same first seq, different terms.
		{"both_started_as_primary_same_epoch_number",
			[]Epoch{{1, 1, 7}, {2, 41, 8}}, []Epoch{{1, 1, 7}, {2, 41, 9}}, 50, 40, false},
		{"both_started_as_primary_other_seq",
			[]Epoch{{1, 1, 7}, {2, 45, 8}}, []Epoch{{1, 1, 7}, {2, 41, 9}}, 50, 40, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keep, newer := agreement(tc.primary, tc.sb, tc.last)
			if newer != tc.standbyIsNewer || (!newer && keep != tc.keep) {
				t.Fatalf("keep %d newer %v, want %d %v", keep, newer, tc.keep, tc.standbyIsNewer)
			}
		})
	}
}

func TestFrameDamageIsAnError(t *testing.T) {
	var fw frameWriter
	fw.begin(typeAck, 7)
	fw.u64(42)
	good := bytes.Clone(fw.finish())
	f, err := newFrameReader(bytes.NewReader(good)).next()
	if err != nil || f.typ != typeAck || f.epoch != 7 {
		t.Fatalf("good frame: %+v %v", f, err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	if _, err := newFrameReader(bytes.NewReader(bad)).next(); !errors.Is(err, errFrame) {
		t.Fatalf("flipped bit: %v, want a bad frame", err)
	}
}

// TestHeartbeatCarriesPublishedSeq: the seq the primary's publish stage
// reached (SenderOptions.Published) reaches the standby in heartbeats, idle or not.
func TestHeartbeatCarriesPublishedSeq(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 1024)
	sb := startStandby(t, t.TempDir(), p.s.Addr().String())
	defer sb.stop()
	if got := sb.r.PrimaryPublished(); got > 0 {
		t.Fatalf("PrimaryPublished %d before anything was published", got)
	}
	last := p.batch(50)
	p.pub.Store(30)
	deadline := time.Now().Add(waitLong)
	for sb.r.PrimaryPublished() != 30 {
		if time.Now().After(deadline) {
			t.Fatalf("PrimaryPublished %d, want 30", sb.r.PrimaryPublished())
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.pub.Store(last)
	for sb.r.PrimaryPublished() != last {
		if time.Now().After(deadline) {
			t.Fatalf("PrimaryPublished %d, want %d", sb.r.PrimaryPublished(), last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
