package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
	if seq < 0 {
		return fmt.Errorf("journal: snapshot seq %d is negative", seq)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	var hdr [snapHeaderBytes]byte
	copy(hdr[0:4], snapMagic)
	binary.LittleEndian.PutUint16(hdr[4:6], formatVersion)
	binary.LittleEndian.PutUint64(hdr[8:16], uint64(seq))
	binary.LittleEndian.PutUint64(hdr[16:24], hash)
	binary.LittleEndian.PutUint64(hdr[24:32], uint64(len(data)))
	crc := crc32.Update(crc32.Update(0, castagnoli, hdr[:]), castagnoli, data)
	var trailer [4]byte
	binary.LittleEndian.PutUint32(trailer[:], crc)

	final := filepath.Join(dir, snapName(seq))
	tmp := final + tmpSuffix
	if err := writeFileSync(tmp, hdr[:], data, trailer[:]); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return pruneSnapshots(dir)
}

func writeFileSync(path string, parts ...[]byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for _, p := range parts {
		if _, err := f.Write(p); err != nil {
			f.Close()
			return fmt.Errorf("journal: write %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("journal: fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
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

func pruneSnapshots(dir string) error {
	seqs, err := listSnapshots(dir)
	if err != nil || len(seqs) <= SnapshotsKept {
		return err
	}
	for _, seq := range seqs[SnapshotsKept:] {
		if err := os.Remove(filepath.Join(dir, snapName(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// LatestSnapshot returns the newest valid snapshot in dir. A damaged one (bad
// CRC, short, wrong header) is logged and skipped in favour of the one before;
// ok is false when there is no valid snapshot, and err is for a folder that
// cannot be listed.
func LatestSnapshot(dir string) (seq int64, hash uint64, data []byte, ok bool, err error) {
	seqs, err := listSnapshots(dir)
	if err != nil {
		return 0, 0, nil, false, err
	}
	for _, s := range seqs {
		path := filepath.Join(dir, snapName(s))
		hash, data, reason := readSnapshot(path, s)
		if reason == "" {
			return s, hash, data, true, nil
		}
		log.Printf("journal: snapshot %s is damaged (%s); falling back to the one before", path, reason)
	}
	return 0, 0, nil, false, nil
}

// readSnapshot reads and verifies one snapshot file; reason says what is
// wrong with it, if anything.
func readSnapshot(path string, seq int64) (hash uint64, data []byte, reason string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err.Error()
	}
	if reason := checkSnapHeader(b, int64(len(b)), seq); reason != "" {
		return 0, nil, reason
	}
	end := len(b) - 4
	if crc32.Checksum(b[:end], castagnoli) != binary.LittleEndian.Uint32(b[end:]) {
		return 0, nil, "crc mismatch"
	}
	return binary.LittleEndian.Uint64(b[16:24]), b[snapHeaderBytes:end:end], ""
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
