package journal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ringex/ringex/internal/fsync"
)

// archiveScanEvery is how often the archiver looks for work when no roll
// wakes it: retention is by age, so time alone can make a segment eligible.
const archiveScanEvery = 10 * time.Second

// archiveLevel trades compression time for ratio; the archiver runs on one
// core in the background, and SpeedBetterCompression still archives a 64 MiB
// segment in well under a second (see the package doc for the figures).
const archiveLevel = zstd.SpeedBetterCompression

var errArchiveStopped = errors.New("journal: archiver stopped")

// archiver compresses sealed segments into the archive folder and applies
// hot retention, on its own goroutine, one segment at a time.
type archiver struct {
	dir       string
	arcDir    string
	log       *slog.Logger
	retainAge time.Duration // 0: never remove hot segments

	active  atomic.Int64 // first seq of the segment the journal writes: never archived
	wake    chan struct{}
	stop    chan struct{}
	stopped atomic.Bool
	done    sync.WaitGroup

	enc     *zstd.Encoder
	src     segSource
	damaged map[int64]bool // sealed segments found damaged: logged once, never archived
}

func startArchiver(dir string, active int64, retainAge time.Duration, log *slog.Logger) (*archiver, error) {
	a, err := newArchiver(dir, log)
	if err != nil {
		return nil, err
	}
	a.retainAge = retainAge
	a.active.Store(active)
	a.done.Add(1)
	go a.run()
	a.poke()
	return a, nil
}

// newArchiver makes an archiver without starting its goroutine.
func newArchiver(dir string, log *slog.Logger) (*archiver, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(archiveLevel), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	a := &archiver{
		dir: dir, arcDir: filepath.Join(dir, ArchiveDirName), log: log,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), enc: enc, damaged: map[int64]bool{},
	}
	a.src.buf = make([]byte, readBufBytes)
	return a, nil
}

// poke asks for a pass soon; it never blocks the journal.
func (a *archiver) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *archiver) close() {
	a.stopped.Store(true)
	close(a.stop)
	a.done.Wait()
	a.enc.Close()
	a.src.close()
}

func (a *archiver) run() {
	defer a.done.Done()
	tick := time.NewTicker(archiveScanEvery)
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-a.wake:
		case <-tick.C:
		}
		a.pass()
	}
}

// pass archives every sealed, unarchived segment, then applies retention.
func (a *archiver) pass() {
	segs, err := listHot(a.dir)
	if err != nil {
		a.log.Error("archiver failed", "err", err)
		return
	}
	// The journal publishes a new active segment only after creating it, so
	// with active loaded after listing, a stale active skips too much, never
	// too little; and the newest listed segment is never touched either.
	active := a.active.Load()
	for i, first := range segs {
		if i == len(segs)-1 || first >= active || a.damaged[first] || exists(archivePath(a.dir, first)) {
			continue
		}
		if a.stopped.Load() {
			return
		}
		if err := a.archive(first); err != nil {
			if errors.Is(err, errArchiveStopped) {
				return
			}
			a.log.Error("archiver failed", "err", err)
			var cerr *CorruptError
			if !errors.As(err, &cerr) {
				return // an I/O failure: try again on the next pass
			}
		}
	}
	if a.retainAge > 0 {
		a.retain(segs, active)
	}
}

// archive compresses one sealed segment. The plain segment is verified as it
// is read (a damaged one is never archived), and the compressed copy is read
// back and verified before it is renamed into place.
func (a *archiver) archive(first int64) error {
	start := time.Now()
	hot := filepath.Join(a.dir, segName(first))
	dst := archivePath(a.dir, first)
	tmp := dst + tmpSuffix
	if err := os.MkdirAll(a.arcDir, 0o755); err != nil {
		return err
	}
	in, err := os.Open(hot)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	st, err := in.Stat()
	if err != nil {
		out.Close()
		return err
	}
	// The size in the frame header lets readers decode in one allocation.
	a.enc.ResetContentSize(out, st.Size())
	tee := io.TeeReader(stopReader{in, &a.stopped}, a.enc)
	end, err := scanSegment(newSegReader(tee, a.src.buf), first, math.MaxInt64, nil)
	if a.stopped.Load() {
		return errArchiveStopped
	}
	if err == nil && end.damage != "" {
		a.damaged[first] = true
		err = &CorruptError{File: hot, Offset: end.damageOff, Reason: end.damage + "; not archived"}
	}
	if cerr := a.enc.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	check, err := scanPath(&a.src, tmp, first, true)
	if err == nil && (check.damage != "" || check.lastSeq != end.lastSeq) {
		err = fmt.Errorf("compressed copy of %s does not read back (%s, last seq %d of %d)", hot, check.damage, check.lastSeq, end.lastSeq)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if err := fsync.Dir(a.arcDir); err != nil {
		return err
	}
	plain, packed := fileSize(hot), fileSize(dst)
	a.log.Info("archived a segment", "segment", filepath.Base(hot), "first_seq", first, "last_seq", end.lastSeq,
		"bytes", plain, "archived_bytes", packed, "ratio", float64(plain)/float64(max(packed, 1)), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// retain removes hot segments that have an archived copy, hold only records
// at or before the newest snapshot, and were last written more than retainAge
// ago. The active segment always stays.
func (a *archiver) retain(segs []int64, active int64) {
	snapSeq, ok := newestSnapshotSeq(a.dir)
	if !ok {
		return
	}
	removed := 0
	for i := 0; i+1 < len(segs); i++ {
		first, lastSeq := segs[i], segs[i+1]-1
		if segs[i+1] > active || lastSeq > snapSeq || !exists(archivePath(a.dir, first)) {
			break
		}
		hot := filepath.Join(a.dir, segName(first))
		st, err := os.Stat(hot)
		if err != nil || time.Since(st.ModTime()) < a.retainAge {
			break
		}
		if err := os.Remove(hot); err != nil {
			a.log.Error("retention failed", "err", err)
			break
		}
		removed++
		a.log.Info("removed hot segment: archived, before the snapshot and older than retention", "segment", filepath.Base(hot),
			"first_seq", first, "last_seq", lastSeq, "snapshot_seq", snapSeq, "retention", a.retainAge)
	}
	if removed > 0 {
		if err := fsync.Dir(a.dir); err != nil {
			a.log.Error("retention failed", "err", err)
		}
	}
}

// newestSnapshotSeq is the seq of the newest snapshot whose header and size
// are sound. Retention does not read whole snapshots to check their CRC:
// segments it removes stay in the archive, so an older snapshot can still be
// replayed from.
func newestSnapshotSeq(dir string) (int64, bool) {
	seqs, _ := listSnapshots(dir)
	for _, seq := range seqs {
		f, err := os.Open(filepath.Join(dir, snapName(seq)))
		if err != nil {
			continue
		}
		var hdr [snapHeaderBytes]byte
		_, err = io.ReadFull(f, hdr[:])
		st, serr := f.Stat()
		f.Close()
		if err == nil && serr == nil && checkSnapHeader(hdr[:], st.Size(), seq) == "" {
			return seq, true
		}
	}
	return 0, false
}

// stopReader ends a long copy as soon as the archiver is told to stop.
type stopReader struct {
	r       io.Reader
	stopped *atomic.Bool
}

func (s stopReader) Read(p []byte) (int, error) {
	if s.stopped.Load() {
		return 0, errArchiveStopped
	}
	return s.r.Read(p)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
