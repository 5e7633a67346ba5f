package journal

import (
	"fmt"
	"math"
	"path/filepath"
)

// Segment is one segment of a journal as found on disk: a plain file in the
// journal folder, a compressed copy in the archive, or both.
type Segment struct {
	First    int64  // seq of its first record, from its file name
	Hot      string // path of the plain file; "" when there is none
	Archived string // path of the compressed copy; "" when there is none
}

// Segments lists the segments of the journal in dir, hot and archived, by
// first seq. Read reads each from its hot file where there is one. A folder
// that does not exist holds none.
func Segments(dir string) ([]Segment, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	out := make([]Segment, len(segs))
	for i, e := range segs {
		out[i] = Segment{First: e.first, Hot: e.hot, Archived: e.arc}
	}
	return out, nil
}

// LastSeq returns the seq of the last whole record in dir, reading and
// verifying only the last segment: where a Read from the start ends when no
// earlier segment is damaged. It is 0 when dir holds no segment.
func LastSeq(dir string) (int64, error) {
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		return 0, err
	}
	e := segs[len(segs)-1]
	var src segSource
	defer src.close()
	end, _, err := readEntry(&src, dir, e, math.MaxInt64, nil)
	if err != nil {
		return 0, err
	}
	if end.firstSeq == 0 {
		return e.first - 1, nil
	}
	return end.lastSeq, nil
}

// CheckFile reads one segment file whole, plain (<first>.seg) or compressed
// (<first>.seg.zst), and verifies it as a sealed segment: its header, every
// frame's CRC, seqs running on from the first in its name, and nothing after
// the last record, zeros included. It returns the last record's seq. Damage
// is a *CorruptError naming the file and the offset. Read passes over the
// archived copy of a segment that is also hot; this checks that copy.
func CheckFile(path string) (lastSeq int64, err error) {
	name := filepath.Base(path)
	first, compressed := parseSegName(name, archiveSuffix)
	if !compressed {
		var ok bool
		if first, ok = parseSegName(name, segSuffix); !ok {
			return 0, fmt.Errorf("journal: %s is not named as a segment (<20-digit seq>%s or %s)", path, segSuffix, archiveSuffix)
		}
	}
	var src segSource
	defer src.close()
	end, err := scanPath(&src, path, first, compressed)
	if err != nil {
		return 0, err
	}
	if end.damage != "" {
		return 0, corruptAt(path, end)
	}
	if end.zeroTail {
		return 0, &CorruptError{File: path, Offset: end.goodOff, Reason: "zeros after the last record of a sealed segment"}
	}
	return end.lastSeq, nil
}

// Snapshots lists the paths of the snapshot files in dir, oldest first,
// without reading them. A folder that does not exist holds none.
func Snapshots(dir string) ([]string, error) {
	seqs, err := listSnapshots(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(seqs))
	for i, seq := range seqs {
		out[len(seqs)-1-i] = filepath.Join(dir, snapName(seq))
	}
	return out, nil
}

// SnapshotError is a snapshot file that cannot be used: unreadable, short,
// damaged, or holding another seq than its name.
type SnapshotError struct {
	File   string
	Seq    int64 // from its name
	Reason string
}

func (e *SnapshotError) Error() string {
	return fmt.Sprintf("journal: snapshot %s: %s", e.File, e.Reason)
}

// OpenSnapshot opens the snapshot file at path and verifies it whole: its
// header, its size, its CRC and the seq in its name. One that cannot be
// used is a *SnapshotError. The caller closes it.
func OpenSnapshot(path string) (*SnapshotFile, error) {
	seq, ok := parseSnapName(filepath.Base(path))
	if !ok {
		return nil, &SnapshotError{File: path, Reason: "not named as a snapshot (" + snapName(0) + ")"}
	}
	s, reason := openSnapshot(path, seq)
	if reason != "" {
		return nil, &SnapshotError{File: path, Seq: seq, Reason: reason}
	}
	return s, nil
}

// Where the fields of a snapshot file are, so that a reader can name the
// place of a problem in one (see snapshot.go for the layout).
const (
	SnapshotHashOffset = 16              // the state hash in the header
	SnapshotDataOffset = snapHeaderBytes // the first byte of the data
)
