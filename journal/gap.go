package journal

import (
	"fmt"
	"path/filepath"
	"strings"
)

// archivedGap is recovery's answer to a gap in the hot folder between a
// segment ending at prevLast and the hot segment next (at nextPath). The
// archiver compresses only sealed segments and retention removes hot
// segments from the oldest on, so a hot segment missing in the middle was
// lost or removed by hand. Read reads its archived copy in its place, so
// recovery does too: the gap is filled when the archive holds segments from
// prevLast+1 running on to next-1, each verified whole as a sealed segment.
// Otherwise cerr is the gap, or the damage in an archived copy, by file and
// offset; err is a copy that cannot be read at all.
func (j *Journal) archivedGap(src *segSource, prevLast, next int64, nextPath string) (cerr *CorruptError, err error) {
	gap := &CorruptError{File: nextPath, Offset: 0,
		Reason: fmt.Sprintf("sequence gap: previous segment ends at seq %d, this one starts at %d", prevLast, next)}
	var names []string
	for at := prevLast + 1; at != next; {
		path := archivePath(j.opts.Dir, at)
		if !exists(path) {
			return gap, nil
		}
		end, err := scanPath(src, path, at, true)
		if err != nil {
			return nil, err
		}
		switch {
		case end.damage != "":
			return corruptAt(path, end), nil
		case end.lastSeq < at:
			return &CorruptError{File: path, Offset: end.goodOff, Reason: "archived segment holds no record"}, nil
		case end.lastSeq >= next:
			return &CorruptError{File: path, Offset: end.goodOff,
				Reason: fmt.Sprintf("archived segment runs to seq %d, past the hot segment %s", end.lastSeq, filepath.Base(nextPath))}, nil
		}
		names = append(names, segName(at))
		at = end.lastSeq + 1
	}
	j.log.Warn("hot segments missing; their archived copies are verified: reading them in their place",
		"segments", strings.Join(names, ", "), "dir", j.opts.Dir, "first_seq", prevLast+1, "last_seq", next-1)
	return nil, nil
}

// moveArchivedFrom moves every archived copy of a segment starting at or
// after first into the quarantine folder q: when the journal restarts from
// its last good record in segment first, that segment is active again, and
// the archive must never hold the active segment or anything after it.
func moveArchivedFrom(dir, q string, first int64) {
	arc, _ := listSuffix(filepath.Join(dir, ArchiveDirName), archiveSuffix)
	for _, f := range arc {
		if f >= first {
			moveArchived(dir, q, strings.TrimSuffix(segName(f), segSuffix))
		}
	}
}
