package journal

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ringex/ringex/internal/fsync"
)

// recover verifies every hot segment, truncates a torn tail, and opens the
// last segment for appending.
func (j *Journal) recover() error {
	dir := j.opts.Dir
	removeTmp(dir)
	removeTmp(filepath.Join(dir, ArchiveDirName))
	segs, err := listHot(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if len(segs) == 0 {
		if arc, _ := listSuffix(filepath.Join(dir, ArchiveDirName), archiveSuffix); len(arc) > 0 {
			return fmt.Errorf("journal: %s holds no segment but its archive does: the last sequence is unknown", dir)
		}
		if err := j.checkDurable(dir, 0, max(j.opts.FirstSeq, 1)-1); err != nil {
			return err
		}
		if j.opts.FirstSeq > 1 {
			return j.createFirst(j.opts.FirstSeq)
		}
		return nil
	}
	// The active segment is never archived, so an archived copy at or after
	// the last hot segment means files were moved by hand: appending would
	// write a segment whose name the archive already holds.
	arc, err := listSuffix(filepath.Join(dir, ArchiveDirName), archiveSuffix)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if n := len(arc); n > 0 && arc[n-1] >= segs[len(segs)-1] {
		return fmt.Errorf("journal: archive holds %s, at or after the last hot segment %s: the hot folder is missing segments",
			archivePath(dir, arc[n-1]), segName(segs[len(segs)-1]))
	}
	var src segSource
	defer src.close()
	start, progressAt := time.Now(), time.Now()
	prevLast := segs[0] - 1
	lastGoodOff := int64(0) // where the last segment's records end
	records := int64(0)
	for i, first := range segs {
		path := filepath.Join(dir, segName(first))
		last := i == len(segs)-1
		if time.Since(progressAt) > 5*time.Second {
			j.log.Info("recovery in progress", "verified_segments", i, "segments", len(segs), "records", records)
			progressAt = time.Now()
		}
		if first != prevLast+1 {
			cerr, err := j.archivedGap(&src, prevLast, first, path)
			if err != nil {
				return err
			}
			if cerr != nil {
				return j.startFromLastGood(cerr, segs, i, "", lastGoodOff, prevLast)
			}
		}
		end, err := scanPath(&src, path, first, false)
		if err != nil {
			return err
		}
		if end.firstSeq == 0 {
			end.lastSeq, end.goodOff = first-1, 0
		}
		records += end.lastSeq - first + 1
		if end.damage != "" && !(last && end.damage == "empty segment") {
			cerr := &CorruptError{File: path, Offset: end.damageOff, Reason: end.damage}
			if !last || end.hard {
				return j.startFromLastGood(cerr, segs, i+1, path, end.goodOff, end.lastSeq)
			}
			torn, err := isTornTail(path, end)
			if err != nil {
				return err
			}
			if !torn.ok {
				cerr.Reason += fmt.Sprintf(" (a valid record follows at offset %d)", torn.nextOff)
				return j.startFromLastGood(cerr, segs, i+1, path, end.goodOff, end.lastSeq)
			}
			// A torn write can only cut records that were never durable.
			if err := j.checkDurable(path, end.goodOff, end.lastSeq); err != nil {
				return err
			}
			if err := truncateFile(path, end.goodOff); err != nil {
				return err
			}
			j.log.Warn("torn tail truncated", "path", path, "damage", end.damage, "offset", end.damageOff,
				"truncated_bytes", torn.size-end.goodOff, "last_seq", end.lastSeq)
		} else if last {
			// A clean end (zeros after the last record included) can
			// still be short of what was durable: zeroed records.
			if err := j.checkDurable(path, end.goodOff, end.lastSeq); err != nil {
				return err
			}
		}
		prevLast, lastGoodOff = end.lastSeq, end.goodOff
	}
	j.log.Info("journal opened", "dir", dir, "hot_segments", len(segs), "first_seq", segs[0], "last_seq", prevLast,
		"verified_in", time.Since(start).Round(time.Millisecond))
	return j.openActive(filepath.Join(dir, segName(segs[len(segs)-1])), segs[len(segs)-1], prevLast, lastGoodOff)
}

// createFirst begins an empty journal at first: a segment holding only its
// header, made durable with its name, so that recovery finds the journal
// ending at first-1 (a last segment without records is a clean end).
func (j *Journal) createFirst(first int64) error {
	path := filepath.Join(j.opts.Dir, segName(first))
	var hdr [headerBytes]byte
	putHeader(hdr[:], first)
	if err := writeNew(path, hdr[:]); err != nil {
		return err
	}
	if err := fsync.Dir(j.opts.Dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.log.Info("journal created", "dir", j.opts.Dir, "first_seq", first)
	return j.openActive(path, first, first-1, headerBytes)
}

// writeNew creates path (which must not exist) holding b, fsynced.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = datasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: create %s: %w", path, err)
	}
	return nil
}

// openActive opens the last segment for appending after recovery: the next
// Commit writes at written, the end of its last record (or of its header);
// whatever follows is the zeroed rest of a preallocated segment.
func (j *Journal) openActive(path string, first, lastSeq, written int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	if written < 0 || written > st.Size() {
		written = st.Size()
	}
	j.f, j.segFirst, j.segBytes, j.fileSize = f, first, written, st.Size()
	j.appended = lastSeq
	j.durable.Store(lastSeq)
	return nil
}

// scanPath verifies one segment file.
func scanPath(src *segSource, path string, first int64, compressed bool) (scanEnd, error) {
	r, done, err := src.open(path, compressed)
	if err != nil {
		return scanEnd{}, fmt.Errorf("journal: %w", err)
	}
	defer done()
	return scanSegment(r, first, first, func(int64, []byte) error { return nil })
}

type tornCheck struct {
	ok      bool  // the damage is a torn tail: no valid record follows it
	nextOff int64 // else, the offset of the valid record that follows
	size    int64 // the file's size
}

// isTornTail reads a segment from its damage point to its end and decides
// whether the damage is a torn write (nothing valid after it) or corruption.
func isTornTail(path string, end scanEnd) (tornCheck, error) {
	f, err := os.Open(path)
	if err != nil {
		return tornCheck{}, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return tornCheck{}, fmt.Errorf("journal: %w", err)
	}
	tail := make([]byte, st.Size()-end.damageOff)
	if _, err := io.ReadFull(io.NewSectionReader(f, end.damageOff, int64(len(tail))), tail); err != nil {
		return tornCheck{}, fmt.Errorf("journal: read %s: %w", path, err)
	}
	if p, found := validFrameAfter(tail, end.lastSeq); found {
		return tornCheck{nextOff: end.damageOff + int64(p), size: st.Size()}, nil
	}
	return tornCheck{ok: true, size: st.Size()}, nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("journal: truncate %s: %w", path, err)
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("journal: fsync %s: %w", path, err)
	}
	return nil
}

// startFromLastGood either refuses to start on cerr (the default) or, with
// Options.StartFromLastGood, moves the damage aside: the segment at cutPath is
// copied to a quarantine folder and cut at cutOff, and segments segs[from:]
// (with their archived copies) are moved there. The journal then continues
// after lastGood, writing at cutOff in segment segs[from-1].
func (j *Journal) startFromLastGood(cerr *CorruptError, segs []int64, from int, cutPath string, cutOff, lastGood int64) error {
	if !j.opts.StartFromLastGood {
		return cerr
	}
	dir := j.opts.Dir
	q := filepath.Join(dir, fmt.Sprintf("quarantine-%d", time.Now().UnixNano()))
	if err := os.MkdirAll(q, 0o755); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.log.Warn("STARTING FROM LAST GOOD RECORD ON OPERATOR REQUEST", "seq", lastGood, "err", cerr)
	moved := 0
	if cutPath != "" {
		if err := copyFile(cutPath, filepath.Join(q, filepath.Base(cutPath))); err != nil {
			return err
		}
		if err := truncateFile(cutPath, cutOff); err != nil {
			return err
		}
		moveArchived(dir, q, strings.TrimSuffix(filepath.Base(cutPath), segSuffix))
	}
	for _, first := range segs[from:] {
		name := segName(first)
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(q, name)); err != nil {
			return fmt.Errorf("journal: quarantine: %w", err)
		}
		moveArchived(dir, q, strings.TrimSuffix(name, segSuffix))
		moved++
	}
	moveArchivedFrom(dir, q, segs[from-1])
	if err := fsync.Dir(dir); err != nil {
		return err
	}
	j.log.Warn("quarantined the damaged segment and the later ones; the journal now ends at the last good record", "later_segments", moved, "quarantine", q, "last_seq", lastGood)
	// The segment before the first moved one is the active one; when it was cut
	// to nothing (its header was the damage) the next Commit writes a header.
	first := segs[from-1]
	if err := j.checkDurable(filepath.Join(dir, segName(first)), cutOff, lastGood); err != nil {
		return err
	}
	return j.openActive(filepath.Join(dir, segName(first)), first, lastGood, cutOff)
}

// moveArchived moves the archived copy of the segment named base (if any)
// into the quarantine folder q, so that the archive never runs past the hot
// journal.
func moveArchived(dir, q, base string) {
	p := filepath.Join(dir, ArchiveDirName, base+archiveSuffix)
	if _, err := os.Stat(p); err == nil {
		os.Rename(p, filepath.Join(q, base+archiveSuffix))
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("journal: copy %s: %w", from, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("journal: %w", err)
	}
	return out.Close()
}

// removeTmp deletes leftovers of interrupted atomic writes (snapshots,
// archived segments): they were never renamed into place, so never counted.
func removeTmp(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
