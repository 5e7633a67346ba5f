package journal

import (
	"errors"
	"fmt"
	"io/fs"
)

// Read streams the records with seq >= fromSeq, in order, to fn, from plain
// and compressed segments alike. rec is only valid until fn returns. Every
// record read is verified (CRC and continuity, from the start of the segment
// that holds fromSeq); damage is a *CorruptError naming the file and offset.
// A torn tail in the last hot segment ends the read without error, as Open
// would truncate it; Read never modifies files, so it may run beside a live
// Journal: it then delivers a prefix, stopping cleanly where a Commit is
// writing, and the caller reads on from the next seq. fn
// returning an error stops the read and Read returns that error.
func Read(dir string, fromSeq int64, fn func(seq int64, rec []byte) error) error {
	_, err := Scan(dir, fromSeq, func(r Record) error { return fn(r.Seq, r.Data) })
	return err
}

// Record is one record as Scan hands it out, with its place on disk.
type Record struct {
	Seq    int64
	Data   []byte // the payload; only valid until the callback returns
	File   string // the segment file it was read from, plain or archived
	Offset int64  // where its frame starts in the (uncompressed) segment
	Next   int64  // where its frame ends: the next record's frame starts there
}

// Resume says where in the journal a read of the next record may start:
// File and Next of the record before it, as a Scan handed them out. The
// zero Resume says nothing.
type Resume struct {
	File string
	Next int64
}

// At is where a read of the record after r may start.
func (r *Record) At() Resume { return Resume{File: r.File, Next: r.Next} }

// Tail is a torn tail that a read stopped at: bytes after the last whole
// record of the last hot segment, which a crash mid-write leaves, Open
// truncates and Read passes over quietly. Bytes is 0 when there is none; the
// zero-filled rest of the active segment is not one.
type Tail struct {
	File   string
	Offset int64 // where the last whole record (or the header) ends
	Bytes  int64 // from Offset to the end of the file
}

// Scan is Read that says where each record is on disk and reports the torn
// tail it stopped at, for a reader that must account for every byte (an
// auditor). It reads, verifies and stops exactly as Read does; a
// *CorruptError it returns names the damaged record's seq where the damage
// is at a frame boundary.
func Scan(dir string, fromSeq int64, fn func(Record) error) (Tail, error) {
	return ScanFrom(dir, fromSeq, Resume{}, fn)
}

// ScanFrom is Scan that starts at, where the record before fromSeq ended
// (Record.At), when that is in the hot segment that holds fromSeq: it reads
// and verifies that segment from there on, not from its start, so that a
// reader that follows a live journal reads each record once, not the whole
// active segment again every time. The segment's header and the records
// before at were verified by the scan that handed at out. Where at is in
// no hot file that holds fromSeq (the zero Resume; the segment was
// archived since), or the scan from at finds damage before its first
// record, it reads as Scan does, from the segment's start.
func ScanFrom(dir string, fromSeq int64, at Resume, fn func(Record) error) (Tail, error) {
	if fromSeq < 1 {
		fromSeq = 1
	}
	segs, err := listSegments(dir)
	if err != nil {
		return Tail{}, fmt.Errorf("journal: %w", err)
	}
	if len(segs) == 0 {
		return Tail{}, nil
	}
	start := -1
	for i, e := range segs {
		if e.first <= fromSeq {
			start = i
		}
	}
	if start < 0 {
		return Tail{}, fmt.Errorf("journal: %s starts at seq %d; seq %d is not in it", dir, segs[0].first, fromSeq)
	}
	var src segSource
	defer src.close()
	expect := segs[start].first
	for i := start; i < len(segs); i++ {
		e := segs[i]
		if e.first != expect {
			return Tail{}, &CorruptError{File: e.path(), Offset: 0, Reason: fmt.Sprintf("sequence gap: previous segment ends at seq %d, this one starts at %d", expect-1, e.first)}
		}
		var end scanEnd
		var path string
		var err error
		resumed := false
		if i == start && at.File != "" && at.File == e.hot && at.Next >= headerBytes {
			end, resumed, err = resumeEntry(&src, e, fromSeq, at.Next, fn)
			path = e.hot
		}
		if !resumed && err == nil {
			end, path, err = readEntry(&src, dir, e, fromSeq, fn)
		}
		if err != nil {
			return Tail{}, err
		}
		if end.damage == "" {
			expect = end.lastSeq + 1
			continue
		}
		last := i == len(segs)-1 && path == e.hot
		if last && end.damage == "empty segment" {
			return Tail{}, nil
		}
		if end.firstSeq == 0 {
			end.lastSeq = e.first - 1
		}
		cerr := corruptAt(path, end)
		if !last || end.hard {
			return Tail{}, cerr
		}
		return tornTail(&src, path, e.first, end, cerr)
	}
	return Tail{}, nil
}

// tornTail decides what damage in the last hot segment is: a Commit writing
// as the read passed (no tail), a torn tail, or corruption (cerr).
func tornTail(src *segSource, path string, first int64, end scanEnd, cerr *CorruptError) (Tail, error) {
	if testHookTailDamage != nil {
		testHookTailDamage(path)
	}
	if grown, err := appendedSince(src, path, first, end); err != nil || grown {
		return Tail{}, err // a Commit was writing the tail as Read passed: stop before it
	}
	torn, err := isTornTail(path, end)
	if err != nil {
		return Tail{}, err
	}
	if !torn.ok {
		cerr.Reason += fmt.Sprintf(" (a valid record follows at offset %d)", torn.nextOff)
		return Tail{}, cerr
	}
	return Tail{File: path, Offset: end.goodOff, Bytes: torn.size - end.goodOff}, nil
}

// corruptAt is the error for the damage a scan of path ended at; damage at
// a frame boundary hits the record after the last whole one.
func corruptAt(path string, end scanEnd) *CorruptError {
	cerr := &CorruptError{File: path, Offset: end.damageOff, Reason: end.damage}
	if end.firstSeq != 0 && end.damageOff == end.goodOff {
		cerr.Seq = end.lastSeq + 1
	}
	return cerr
}

// FirstSeq returns the first seq the journal in dir holds, hot or archived:
// where a Read from the start begins. It is 0 when dir holds no segment.
// A journal begins after seq 1 when it was created with Options.FirstSeq or
// when its oldest segments were removed.
func FirstSeq(dir string) (int64, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	if len(segs) == 0 {
		return 0, nil
	}
	return segs[0].first, nil
}

// testHookTailDamage lets a test complete a write between the scan that saw
// a short tail and the check that follows, which a live Commit can do.
var testHookTailDamage func(path string)

// appendedSince rescans the last segment: if it now holds more whole records
// than the scan that found damage, the damage was a write in progress (a
// reader can see a file grow mid-write, never bytes change), not a torn tail.
func appendedSince(src *segSource, path string, first int64, end scanEnd) (bool, error) {
	again, err := scanPath(src, path, first, false)
	if err != nil {
		return false, err
	}
	return again.goodOff > end.goodOff, nil
}

func (e segEntry) path() string {
	if e.hot != "" {
		return e.hot
	}
	return e.arc
}

// readEntry scans one segment, from its hot file or else its archived copy
// (the archiver may remove a hot file that was listed a moment ago).
func readEntry(src *segSource, dir string, e segEntry, fromSeq int64, fn func(Record) error) (scanEnd, string, error) {
	path := e.path()
	r, done, err := src.open(path, path == e.arc)
	if errors.Is(err, fs.ErrNotExist) && path == e.hot {
		path = archivePath(dir, e.first)
		r, done, err = src.open(path, true)
	}
	if err != nil {
		return scanEnd{}, path, fmt.Errorf("journal: %w", err)
	}
	defer done()
	end, err := scanSegment(r, e.first, fromSeq, func(seq int64, rec []byte) error {
		return fn(Record{Seq: seq, Data: rec, File: path, Offset: r.off, Next: r.off + frameBytes + int64(len(rec))})
	})
	return end, path, err
}

// resumeEntry scans e's hot file from offset off, where record fromSeq's
// frame starts (ScanFrom). It reports false, having called fn for nothing,
// where the file is gone or what is at off is not a whole record fromSeq:
// the caller then reads e from its start.
func resumeEntry(src *segSource, e segEntry, fromSeq, off int64, fn func(Record) error) (scanEnd, bool, error) {
	r, done, err := src.openAt(e.hot, off)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errPastEnd) {
		return scanEnd{}, false, nil
	}
	if err != nil {
		return scanEnd{}, false, fmt.Errorf("journal: %w", err)
	}
	defer done()
	end, err := resumeSegment(r, e.first, fromSeq, func(seq int64, rec []byte) error {
		return fn(Record{Seq: seq, Data: rec, File: e.hot, Offset: r.off, Next: r.off + frameBytes + int64(len(rec))})
	})
	if err == nil && end.damage != "" && end.lastSeq < fromSeq {
		return scanEnd{}, false, nil
	}
	return end, true, err
}
