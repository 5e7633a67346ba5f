package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/internal/fsync"
)

// SyncMode says when Commit makes a batch durable.
type SyncMode int

const (
	// SyncBatch fsyncs every Commit: a batch is durable when Commit returns.
	SyncBatch SyncMode = iota
	// SyncInterval fsyncs at most every Options.SyncIntervalMs. Commit still
	// returns only after an fsync that covers its records, so it may wait up to
	// the interval; the batches that pile up meanwhile share the next fsync.
	SyncInterval
	// SyncNone never fsyncs on Commit (only at roll and Close). A machine crash
	// loses acknowledged records. For benchmarks only.
	SyncNone
)

func (m SyncMode) String() string {
	switch m {
	case SyncBatch:
		return "batch"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// UnmarshalText reads a SyncMode's name, as String gives it (a config
// file's journal.sync); it refuses any other, "" included.
func (m *SyncMode) UnmarshalText(name []byte) error {
	for _, v := range []SyncMode{SyncBatch, SyncInterval, SyncNone} {
		if string(name) == v.String() {
			*m = v
			return nil
		}
	}
	return fmt.Errorf("%q: want batch, interval or none", name)
}

// MarshalText writes the SyncMode's name.
func (m SyncMode) MarshalText() ([]byte, error) {
	if m < SyncBatch || m > SyncNone {
		return nil, fmt.Errorf("%v has no name", m)
	}
	return []byte(m.String()), nil
}

// DefaultSegmentBytes is the roll size when Options.SegmentBytes is 0.
const DefaultSegmentBytes = 64 << 20

// Options configures a Journal. The zero value of each field is usable except
// Dir.
type Options struct {
	Dir            string // hot segments (and snapshots) live here; created if missing
	SegmentBytes   int64  // roll size; 0 means DefaultSegmentBytes
	Sync           SyncMode
	SyncIntervalMs int // for SyncInterval; 0 means 1 ms

	// Log receives one record per notable event: a torn tail truncated
	// (Warn), a segment sealed, archived or removed, recovery's progress and
	// summary (Info), a failure (Error). It is also called from the
	// archiver's goroutine. The journal adds component=journal. nil means
	// slog.Default().
	Log *slog.Logger

	// StartFromLastGood lets Open start on a journal that has corruption before
	// its tail: the damaged segment is copied to a quarantine folder and cut at
	// its last good record, and every later segment is moved there. Records
	// after the damage are no longer part of the journal. Off by default: the
	// exchange must not start on a damaged journal unless an operator says so.
	StartFromLastGood bool

	// Reported is evidence from outside the journal of what was durable:
	// a seq whose record, and all before it, a counterparty may have been
	// told of (ringex: what its FIX session stores hold), named by
	// ReportedFrom. Recovery holds the journal's end against it as against
	// DURABLE (durable.go). 0: none.
	Reported     int64
	ReportedFrom string

	// FirstSeq is where a new journal begins: when Dir holds no segment,
	// Open creates an empty first segment for FirstSeq, durable before Open
	// returns, so that the journal's first Append is FirstSeq and a restart
	// finds it beginning there (a standby that installed its primary's
	// snapshot at FirstSeq-1 continues the primary's journal from there).
	// 0 or 1: seq 1. Ignored when Dir holds segments: they say where the
	// journal is.
	FirstSeq int64

	// Archive compresses sealed segments with zstd, on a background goroutine
	// using one core, into <Dir>/archive. Readers read both kinds.
	Archive bool
	// HotRetentionMs lets the archiver remove a hot segment once it has been
	// archived, holds only records at or before the newest snapshot's seq, and
	// was last written more than this long ago. 0 keeps every hot segment.
	HotRetentionMs int64
}

// ErrClosed is returned by every call on a closed Journal.
var ErrClosed = errors.New("journal: closed")

// Journal is an append-only log of byte records with contiguous sequences.
// Append, Commit and Close must be called from one goroutine; LastSeq may be
// called from any.
type Journal struct {
	opts Options
	log  *slog.Logger
	lock *os.File
	dir  *os.File // Options.Dir, held open so that Commit sees it deleted
	stat statBuf  // Commit's fstat buffer

	mark    *durableMark // DURABLE: the last seq a Commit made durable
	markSeq int64        // its value when Open read it
	missing [2]int64     // durable seqs found missing at Open (Missing)

	fileSize int64 // the active segment's size when recovery opened it

	f        *os.File // active segment; nil until the first Commit of a new journal
	segFirst int64    // first seq of the active segment
	segBytes int64    // bytes written to the active segment
	zero     *zeroer  // keeps the active segment zero-filled ahead of segBytes

	// buf holds the batch being built: headerBytes reserved for a segment
	// header (written only when the batch starts a segment), then frames.
	buf      []byte
	appended int64 // last appended seq
	durable  atomic.Int64
	lastSync time.Time

	err error // sticky: the first write or fsync failure, or ErrClosed

	arch     *archiver              // nil unless Options.Archive
	datasync func(f *os.File) error // the fsync; tests inject failures here
}

// Open opens (or creates) the journal in opts.Dir and recovers it: a torn tail
// in the last segment is truncated at the last whole record and logged with
// the bytes dropped; any other damage is a *CorruptError naming the file and
// offset, and Open refuses to start (see Options.StartFromLastGood).
func Open(opts Options) (*Journal, error) {
	if opts.Dir == "" {
		return nil, errors.New("journal: Options.Dir is empty")
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.SyncIntervalMs <= 0 {
		opts.SyncIntervalMs = 1
	}
	j := &Journal{opts: opts, log: opts.Log, datasync: datasync}
	if j.log == nil {
		j.log = slog.Default()
	}
	j.log = j.log.With("component", "journal")
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	j.lock = lock
	if j.dir, err = os.Open(opts.Dir); err != nil {
		j.closeFiles()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if j.mark, j.markSeq, err = openDurable(opts.Dir); err != nil {
		j.closeFiles()
		return nil, err
	}
	if err := j.recover(); err != nil {
		j.closeFiles()
		return nil, err
	}
	j.zero = startZeroer(opts.SegmentBytes, j.log)
	if j.f != nil {
		j.zero.follow(j.f, j.segBytes, j.fileSize)
	}
	j.buf = make([]byte, headerBytes, headerBytes+64<<10)
	j.lastSync = time.Now()
	if opts.Archive {
		active := j.durable.Load() + 1
		if j.f != nil {
			active = j.segFirst
		}
		a, err := startArchiver(opts.Dir, active, time.Duration(opts.HotRetentionMs)*time.Millisecond, j.log)
		if err != nil {
			j.closeFiles()
			return nil, err
		}
		j.arch = a
	}
	return j, nil
}

// LastSeq is the highest durable sequence: 0 when the journal is empty.
func (j *Journal) LastSeq() int64 { return j.durable.Load() }

// Append buffers one record of the current batch; seq must follow the
// previous appended seq. rec is copied. Nothing is written until Commit.
//
// Hot path: allocates nothing once the batch buffer has grown to the largest
// batch.
func (j *Journal) Append(seq int64, rec []byte) error {
	if j.err != nil {
		return j.err
	}
	if seq != j.appended+1 {
		return fmt.Errorf("journal: append seq %d out of order, want %d", seq, j.appended+1)
	}
	if len(rec) > MaxRecordBytes {
		return fmt.Errorf("journal: record %d is %d bytes, over MaxRecordBytes", seq, len(rec))
	}
	off := len(j.buf)
	need := frameBytes + len(rec)
	if cap(j.buf)-off < need {
		nb := make([]byte, off, 2*cap(j.buf)+need)
		copy(nb, j.buf)
		j.buf = nb
	}
	j.buf = j.buf[:off+need]
	copy(j.buf[off+frameBytes:], rec)
	putFrame(j.buf[off:], seq, len(rec))
	j.appended = seq
	return nil
}

// Commit writes the buffered batch with one write and, per the sync mode, one
// fsync. When it returns nil the batch is durable and LastSeq covers it. After
// a write or fsync error the journal is failed: this and every later call
// return that error; nothing is retried.
//
// Hot path: allocates nothing in steady state. Rolling to a new segment (once
// per SegmentBytes) costs a file creation and a directory fsync, in every
// sync mode.
func (j *Journal) Commit() error {
	if j.err != nil {
		return j.err
	}
	batchBytes := int64(len(j.buf) - headerBytes)
	if batchBytes == 0 {
		return nil
	}
	first := j.durable.Load() + 1
	if j.f == nil || (j.segBytes > headerBytes && j.segBytes+batchBytes > j.opts.SegmentBytes) {
		if err := j.roll(first); err != nil {
			return j.fail(err)
		}
	}
	out := j.buf[headerBytes:]
	if j.segBytes == 0 {
		putHeader(j.buf[:headerBytes], j.segFirst)
		out = j.buf
	}
	if err := j.zero.write(j.f, out, j.segBytes); err != nil {
		return j.fail(fmt.Errorf("write %s at offset %d: %w", j.f.Name(), j.segBytes, err))
	}
	j.segBytes += int64(len(out))
	if err := j.sync(); err != nil {
		return j.fail(fmt.Errorf("fsync %s: %w", j.f.Name(), err))
	}
	if err := j.checkLinked(); err != nil {
		return j.fail(err)
	}
	if j.opts.Sync != SyncNone {
		if err := j.mark.write(j.appended); err != nil {
			return j.fail(err)
		}
	}
	j.durable.Store(j.appended)
	j.buf = j.buf[:headerBytes]
	return nil
}

// checkLinked fails a batch written to a journal whose files are gone: an
// fstat of the active segment and of the folder finds a link count of 0
// once either was deleted (rm -rf of the data folder while running). The
// bytes went to an inode no restart can find, so the batch is not durable.
// Two fstats per Commit, not per record.
func (j *Journal) checkLinked() error {
	for i, f := range [2]*os.File{j.f, j.dir} {
		gone, err := unlinked(f, &j.stat)
		if err != nil {
			return fmt.Errorf("fstat %s: %w", f.Name(), err)
		}
		if gone {
			from := j.durable.Load() + 1
			if i == 0 {
				from = j.segFirst // the segment's durable records went with it
			}
			return fmt.Errorf("%s was deleted while open (link count 0): records from seq %d on are not durable", f.Name(), from)
		}
	}
	return nil
}

// sync makes the active segment durable per the sync mode.
func (j *Journal) sync() error {
	switch j.opts.Sync {
	case SyncNone:
		return nil
	case SyncInterval:
		due := j.lastSync.Add(time.Duration(j.opts.SyncIntervalMs) * time.Millisecond)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
	}
	err := j.datasync(j.f)
	j.lastSync = time.Now()
	return err
}

// roll seals the active segment (already durable: every Commit synced it)
// and creates the next one, whose first record will be first. A segment
// deleted since the last Commit is not sealed: its records are gone, and
// going on in a new segment would leave a hole only the next start finds.
func (j *Journal) roll(first int64) error {
	if j.f != nil {
		if err := j.checkLinked(); err != nil {
			return err
		}
		if j.opts.Sync == SyncNone {
			if err := j.datasync(j.f); err != nil {
				return fmt.Errorf("fsync %s: %w", j.f.Name(), err)
			}
		}
		sealed := j.f.Name()
		if cut, err := j.zero.seal(j.f, j.segBytes); err != nil {
			return fmt.Errorf("truncate %s to %d: %w", sealed, j.segBytes, err)
		} else if cut { // a sealed segment ends at its last record
			if err := j.datasync(j.f); err != nil {
				return fmt.Errorf("fsync %s: %w", sealed, err)
			}
		}
		if err := j.f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", sealed, err)
		}
		j.f = nil
		j.log.Debug("sealed segment", "segment", filepath.Base(sealed), "first_seq", j.segFirst, "last_seq", first-1, "bytes", j.segBytes)
	}
	path := filepath.Join(j.opts.Dir, segName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	j.f, j.segFirst, j.segBytes = f, first, 0
	j.zero.follow(f, 0, 0)
	// The new segment's name is made durable before the archiver may archive
	// the sealed one: a power loss must never leave an archived segment with
	// no hot segment after it (Open refuses that state).
	if err := fsync.Dir(j.opts.Dir); err != nil {
		return err
	}
	if j.arch != nil {
		j.arch.active.Store(first)
		j.arch.poke()
	}
	return nil
}

// fail makes err sticky: the journal accepts nothing more.
func (j *Journal) fail(err error) error {
	j.err = fmt.Errorf("journal: failed, accepting nothing more: %w", err)
	j.log.Error("failed, accepting nothing more", "err", err)
	return j.err
}

// Close closes the journal. Records appended but not committed are dropped.
func (j *Journal) Close() error {
	if j.err == ErrClosed {
		return ErrClosed
	}
	if j.arch != nil {
		j.arch.close()
		j.arch = nil
	}
	var err error
	if j.f != nil && j.err == nil && j.opts.Sync == SyncNone {
		err = j.datasync(j.f)
	}
	if cerr := j.closeFiles(); err == nil {
		err = cerr
	}
	j.err = ErrClosed
	return err
}

func (j *Journal) closeFiles() error {
	if j.zero != nil {
		j.zero.close() // before the file it writes to is closed
		j.zero = nil
	}
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	if j.lock != nil {
		j.lock.Close()
		j.lock = nil
	}
	if j.dir != nil {
		j.dir.Close()
		j.dir = nil
	}
	if j.mark != nil {
		j.mark.f.Close()
		j.mark = nil
	}
	return err
}
