package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ringex/ringex/internal/fsync"
)

// Snapshot file layout (little-endian):
//
//	+--------+---------+-------+-----+------+----------+--------------+--------+
//	| "RGXS" | version | flags | seq | hash | data len | data         | crc32c |
//	| 4      | u16 = 1 | u16   | u64 | u64  | u64      | data len     | u32    |
//	+--------+---------+-------+-----+------+----------+--------------+--------+
//	  crc32c covers everything before it
const (
	snapHeaderBytes = 32
	snapPrefix      = "snap-"
	snapSuffix      = ".snap"

	// SnapshotsKept is how many snapshots WriteSnapshot leaves in place, so
	// that a damaged newest one has older ones to fall back to.
	SnapshotsKept = 3
)

func snapName(seq int64) string { return fmt.Sprintf("%s%020d%s", snapPrefix, seq, snapSuffix) }

func parseSnapName(name string) (int64, bool) {
	if !strings.HasPrefix(name, snapPrefix) || !strings.HasSuffix(name, snapSuffix) {
		return 0, false
	}
	digits := name[len(snapPrefix) : len(name)-len(snapSuffix)]
	if len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0
}

// WriteSnapshot stores data as the state after record seq, with its state
// hash, in dir beside the journal. It is atomic: the file is written under a
// temporary name, fsynced, renamed into place and the folder fsynced, so a
// crash leaves either the whole snapshot or none. Snapshots beyond the newest
// SnapshotsKept are removed.
func WriteSnapshot(dir string, seq int64, hash uint64, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	tmp := filepath.Join(dir, snapName(seq)) + tmpSuffix
	w, err := CreateSnapshot(tmp, seq, hash, int64(len(data)))
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	if err := w.Finish(); err != nil {
		os.Remove(tmp)
		return err
	}
	return placeSnapshot(tmp, dir, seq)
}

// SnapshotWriter writes one snapshot file piece by piece, so that a
// snapshot that arrives in pieces (a standby sent its primary's) is never
// held whole in memory. The file is in the format LatestSnapshot reads;
// MoveSnapshot puts it in place once Finish has made it durable.
type SnapshotWriter struct {
	path        string
	f           *os.File
	size, wrote int64 // data bytes announced in the header, and written so far
	crc         uint32
}

// CreateSnapshot creates (or truncates) the file at path for the snapshot
// of the state after record seq, with its state hash, whose data is size
// bytes.
func CreateSnapshot(path string, seq int64, hash uint64, size int64) (*SnapshotWriter, error) {
	if seq < 0 || size < 0 {
		return nil, fmt.Errorf("journal: snapshot seq %d of %d bytes: neither may be negative", seq, size)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var hdr [snapHeaderBytes]byte
	copy(hdr[0:4], snapMagic)
	binary.LittleEndian.PutUint16(hdr[4:6], formatVersion)
	binary.LittleEndian.PutUint64(hdr[8:16], uint64(seq))
	binary.LittleEndian.PutUint64(hdr[16:24], hash)
	binary.LittleEndian.PutUint64(hdr[24:32], uint64(size))
	w := &SnapshotWriter{path: path, f: f, size: size, crc: crc32.Update(0, castagnoli, hdr[:])}
	if _, err := f.Write(hdr[:]); err != nil {
		w.Abort()
		return nil, fmt.Errorf("journal: write %s: %w", path, err)
	}
	return w, nil
}

// Write appends the next piece of the data; more than the size announced
// is an error.
func (w *SnapshotWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > w.size-w.wrote {
		return 0, fmt.Errorf("journal: snapshot %s: %d bytes more, after %d of %d", w.path, len(p), w.wrote, w.size)
	}
	n, err := w.f.Write(p)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.wrote += int64(n)
	if err != nil {
		return n, fmt.Errorf("journal: write %s: %w", w.path, err)
	}
	return n, nil
}

// Written is how many data bytes were written so far.
func (w *SnapshotWriter) Written() int64 { return w.wrote }

// Finish checks that all the data is in, appends the CRC, fsyncs and closes
// the file. The file stays where it is, also on an error.
func (w *SnapshotWriter) Finish() error {
	if w.wrote != w.size {
		w.f.Close()
		return fmt.Errorf("journal: snapshot %s: %d of %d bytes written", w.path, w.wrote, w.size)
	}
	var trailer [4]byte
	binary.LittleEndian.PutUint32(trailer[:], w.crc)
	if _, err := w.f.Write(trailer[:]); err != nil {
		w.f.Close()
		return fmt.Errorf("journal: write %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return fmt.Errorf("journal: fsync %s: %w", w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Abort closes and removes an unfinished snapshot file.
func (w *SnapshotWriter) Abort() {
	w.f.Close()
	os.Remove(w.path)
}

// MoveSnapshot verifies the finished snapshot file at path (header, size,
// CRC over the whole file: a file damaged since it was written is refused)
// and that it is the state after record seq with state hash hash, then
// renames it into the journal folder dir under its snapshot name and
// fsyncs dir. path must be on dir's file system.
func MoveSnapshot(path, dir string, seq int64, hash uint64) error {
	s, reason := openSnapshot(path, seq)
	if reason != "" {
		return fmt.Errorf("journal: snapshot %s: %s", path, reason)
	}
	s.Close()
	if s.Hash != hash {
		return fmt.Errorf("journal: snapshot %s has state hash %016x, want %016x", path, s.Hash, hash)
	}
	return placeSnapshot(path, dir, seq)
}

// placeSnapshot renames a durable snapshot file into dir as the snapshot at
// seq, fsyncs dir and prunes the old snapshots.
func placeSnapshot(path, dir string, seq int64) error {
	if err := os.Rename(path, filepath.Join(dir, snapName(seq))); err != nil {
		os.Remove(path)
		return fmt.Errorf("journal: %w", err)
	}
	if err := fsync.Dir(dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return pruneSnapshots(dir)
}

// listSnapshots returns the seqs of the snapshot files in dir, newest first.
func listSnapshots(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var seqs []int64
	for _, e := range ents {
		if seq, ok := parseSnapName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(a, b int) bool { return seqs[a] > seqs[b] })
	return seqs, nil
}

// pruneSnapshots keeps the newest SnapshotsKept snapshots and, when the
// journal no longer begins at seq 1, its anchor: the oldest valid snapshot
// the journal holds the record after (anchorSnapshot). Without the anchor,
// the events of the records between the journal's first seq and the oldest
// snapshot kept could no longer be rebuilt (a promotion or restart
// regenerates a broker's undelivered reports from the snapshot at or
// before its mark), though the journal still holds those records. A
// damaged snapshot is no anchor: keeping it in place of the valid one
// after it would leave such a replay nothing to start from.
func pruneSnapshots(dir string) error {
	seqs, err := listSnapshots(dir)
	if err != nil || len(seqs) <= SnapshotsKept {
		return err
	}
	anchor, anchored, err := anchorSnapshot(dir, seqs)
	if err != nil {
		return err
	}
	for _, seq := range seqs[SnapshotsKept:] {
		if anchored && seq == anchor {
			continue
		}
		if err := os.Remove(filepath.Join(dir, snapName(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// anchorSnapshot is, among seqs (newest first), the oldest valid snapshot
// that the journal in dir holds the record after, when the journal begins
// after seq 1; ok is false when it begins at seq 1 (every state can be
// replayed from the first record) or no valid snapshot is such. It reads
// each snapshot it passes whole. Cold path.
func anchorSnapshot(dir string, seqs []int64) (seq int64, ok bool, err error) {
	first, err := FirstSeq(dir)
	if err != nil || first <= 1 {
		return 0, false, err
	}
	s, ok := openAnchor(dir, seqs, first)
	if !ok {
		return 0, false, nil
	}
	s.Close()
	return s.Seq, true, nil
}

// openAnchor opens, among seqs (newest first), the oldest snapshot that
// verifies (openSnapshot) and that a journal beginning at record first
// holds the record after. Damaged ones are logged and passed over. The
// caller closes s.
func openAnchor(dir string, seqs []int64, first int64) (s *SnapshotFile, ok bool) {
	for i := len(seqs) - 1; i >= 0; i-- {
		if seqs[i]+1 < first {
			continue
		}
		path := filepath.Join(dir, snapName(seqs[i]))
		s, reason := openSnapshot(path, seqs[i])
		if reason == "" {
			return s, true
		}
		slog.Warn("snapshot is damaged; trying the next", "component", "journal", "path", path, "damage", reason)
	}
	return nil, false
}

// OpenSnapshotToReplay opens the snapshot from which a replay that must
// see the events of the records after seq from begins, for a journal in dir
// that no longer begins at seq 1: the newest valid snapshot at or before
// from that the journal holds the record after; when there is none, the
// oldest valid one that it holds the record after, whose seq is then above
// from (the events between from and it cannot be rebuilt from this
// journal: the caller says so). ok is false when no valid snapshot is
// followed by the journal. The caller closes s.
func OpenSnapshotToReplay(dir string, from int64) (s *SnapshotFile, ok bool, err error) {
	first, err := FirstSeq(dir)
	if err != nil {
		return nil, false, err
	}
	if s, ok, err = openSnapshotAtMost(dir, from); err != nil || (ok && s.Seq+1 >= first) {
		return s, ok, err
	}
	if ok {
		s.Close()
	}
	seqs, err := listSnapshots(dir)
	if err != nil {
		return nil, false, err
	}
	s, ok = openAnchor(dir, seqs, first)
	return s, ok, nil
}

// ReplayableFrom is the lowest seq after which the events of every record
// the journal in dir holds can be rebuilt: 0 when the journal begins at
// seq 1 (or holds nothing), otherwise the seq of the oldest valid snapshot
// that the journal holds the record after; ok is false when there is none.
// It verifies the snapshot it names whole. Cold path.
func ReplayableFrom(dir string) (seq int64, ok bool, err error) {
	first, err := FirstSeq(dir)
	if err != nil || first <= 1 {
		return 0, err == nil, err
	}
	s, ok, err := OpenSnapshotToReplay(dir, first-1)
	if !ok || err != nil {
		return 0, false, err
	}
	defer s.Close()
	return s.Seq, true, nil
}

// LatestSnapshot returns the newest valid snapshot in dir. A damaged one (bad
// CRC, short, wrong header) is logged and skipped in favour of the one before;
// ok is false when there is no valid snapshot, and err is for a folder that
// cannot be listed.
func LatestSnapshot(dir string) (seq int64, hash uint64, data []byte, ok bool, err error) {
	return SnapshotAtMost(dir, math.MaxInt64)
}

// SnapshotAtMost is LatestSnapshot among the snapshots of records at or
// before seq atMost: the state a replay that must see the events of the
// records after atMost starts from.
func SnapshotAtMost(dir string, atMost int64) (seq int64, hash uint64, data []byte, ok bool, err error) {
	s, ok, err := openSnapshotAtMost(dir, atMost)
	if !ok || err != nil {
		return 0, 0, nil, ok, err
	}
	defer s.Close()
	data = make([]byte, s.Size)
	if _, err := s.ReadAt(data, 0); err != nil {
		return 0, 0, nil, false, fmt.Errorf("journal: snapshot %s: %w", s.f.Name(), err)
	}
	return s.Seq, s.Hash, data, true, nil
}

// SnapshotFile is a verified snapshot held open, so that its data can be
// read a piece at a time (a primary sending it to a standby) instead of
// whole. What it reads is what was verified: a snapshot file is written
// under a temporary name, renamed into place and never written again, and
// while it is open it stays readable even if WriteSnapshot prunes it (on
// Linux an unlinked file lives until its last close).
type SnapshotFile struct {
	Seq  int64  // the state is the one after this record
	Hash uint64 // its state hash
	Size int64  // data bytes
	f    *os.File
	data *io.SectionReader
}

// ReadAt reads the data at offset off (0: its first byte).
func (s *SnapshotFile) ReadAt(p []byte, off int64) (int, error) { return s.data.ReadAt(p, off) }

// Close closes the file.
func (s *SnapshotFile) Close() error { return s.f.Close() }

// OpenLatestSnapshot is LatestSnapshot that leaves the data on disk: it
// verifies the newest valid snapshot whole (reading it a block at a time)
// and returns it open. The caller closes it.
func OpenLatestSnapshot(dir string) (s *SnapshotFile, ok bool, err error) {
	return openSnapshotAtMost(dir, math.MaxInt64)
}

func openSnapshotAtMost(dir string, atMost int64) (s *SnapshotFile, ok bool, err error) {
	seqs, err := listSnapshots(dir)
	if err != nil {
		return nil, false, err
	}
	for _, seq := range seqs {
		if seq > atMost {
			continue
		}
		path := filepath.Join(dir, snapName(seq))
		s, reason := openSnapshot(path, seq)
		if reason == "" {
			return s, true, nil
		}
		slog.Warn("snapshot is damaged; falling back to the one before", "component", "journal", "path", path, "damage", reason)
	}
	return nil, false, nil
}

// openSnapshot opens and verifies one snapshot file, reading it in blocks;
// reason says what is wrong with it, if anything.
func openSnapshot(path string, seq int64) (s *SnapshotFile, reason string) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err.Error()
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err.Error()
	}
	size := st.Size()
	var hdr [snapHeaderBytes]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil && size >= snapHeaderBytes {
		f.Close()
		return nil, err.Error()
	}
	if reason := checkSnapHeader(hdr[:], size, seq); reason != "" {
		f.Close()
		return nil, reason
	}
	crc := crc32.New(castagnoli)
	var trailer [4]byte
	_, err = io.CopyBuffer(crc, io.NewSectionReader(f, 0, size-4), make([]byte, 64<<10))
	if err == nil {
		_, err = f.ReadAt(trailer[:], size-4)
	}
	if err != nil {
		f.Close()
		return nil, err.Error()
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(trailer[:]) {
		f.Close()
		return nil, "crc mismatch"
	}
	s = &SnapshotFile{Seq: seq, Hash: binary.LittleEndian.Uint64(hdr[16:24]), Size: size - snapHeaderBytes - 4, f: f}
	s.data = io.NewSectionReader(f, snapHeaderBytes, s.Size)
	return s, ""
}

// checkSnapHeader checks a snapshot's header against its file size and name,
// without the CRC (which needs the whole file).
func checkSnapHeader(b []byte, size, seq int64) string {
	if len(b) < snapHeaderBytes || size < snapHeaderBytes+4 {
		return "short file"
	}
	if string(b[0:4]) != snapMagic {
		return "bad magic"
	}
	if v := binary.LittleEndian.Uint16(b[4:6]); v != formatVersion {
		return fmt.Sprintf("unsupported version %d", v)
	}
	if got := int64(binary.LittleEndian.Uint64(b[8:16])); got != seq {
		return fmt.Sprintf("header names seq %d", got)
	}
	if n := binary.LittleEndian.Uint64(b[24:32]); n != uint64(size-snapHeaderBytes-4) {
		return fmt.Sprintf("data length %d does not fit the file size %d", n, size)
	}
	return ""
}
