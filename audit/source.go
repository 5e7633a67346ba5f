package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ringex/ringex/journal"
)

// source is a journal folder as found on disk. Its segments, records and
// snapshot files are read through the journal package, which owns their
// format: audit knows no framing, CRC or file name of its own.
type source struct {
	dir   string
	segs  []journal.Segment // ascending first seq
	snaps []snapFile
}

// snapFile is one snapshot file beside the journal.
type snapFile struct {
	seq    int64
	path   string
	hash   uint64
	data   []byte
	damage string // why it cannot be used; "" when sound
}

// openSource lists a journal folder, refusing one that holds no journal with
// a message that says what was found instead.
func openSource(dir string) (*source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("journal folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is a file, not a journal folder", dir)
	}
	segs, err := journal.Segments(dir)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, noJournalError(dir)
	}
	return &source{dir: dir, segs: segs}, nil
}

func noJournalError(dir string) error {
	for _, sub := range []string{"journal", filepath.Join("data", "journal")} {
		if segs, _ := journal.Segments(filepath.Join(dir, sub)); len(segs) > 0 {
			return fmt.Errorf("%s holds no journal segments; did you mean --journal %s?", dir, filepath.Join(dir, sub))
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) == 0 {
		return fmt.Errorf("%s is empty: no journal segments (files named <20-digit seq>.seg, or archive/<seq>.seg.zst)", dir)
	}
	return fmt.Errorf("%s holds no journal segments (files named <20-digit seq>.seg, or archive/<seq>.seg.zst); is it the wrong folder?", dir)
}

// segPath is the file of seg that the journal reads: hot when there is one.
func segPath(seg journal.Segment) string {
	if seg.Hot != "" {
		return seg.Hot
	}
	return seg.Archived
}

// place names the file and the (uncompressed) byte offset of record seq's
// frame, reading the segment that holds it up to it; ("", -1) when it
// cannot be read. Only for reporting a problem: replay has the place of
// every record it reads at hand.
func (s *source) place(seq int64) (string, int64) {
	file, off := "", int64(-1)
	journal.Scan(s.dir, seq, func(r journal.Record) error {
		file, off = r.File, r.Offset
		return errStop
	})
	return file, off
}

// progress shows the progress of a read of s on w, up to the journal's last
// seq (read only when there is a w); nil w: none.
func (s *source) progress(w io.Writer, label string) *progress {
	if w == nil {
		return nil
	}
	last, _ := journal.LastSeq(s.dir) // 0 when unknown: no percentage
	return newProgress(w, label, last)
}

// loadSnapshots reads every snapshot file beside the journal, oldest first,
// verifying each file's header and CRC (not yet its contents).
func (s *source) loadSnapshots() error {
	paths, err := journal.Snapshots(s.dir)
	if err != nil {
		return err
	}
	s.snaps = s.snaps[:0]
	for _, path := range paths {
		s.snaps = append(s.snaps, readSnapFile(path))
	}
	return nil
}

// readSnapFile reads one snapshot file whole.
func readSnapFile(path string) snapFile {
	f, err := journal.OpenSnapshot(path)
	if err != nil {
		var se *journal.SnapshotError
		if errors.As(err, &se) {
			return snapFile{seq: se.Seq, path: path, damage: se.Reason}
		}
		return snapFile{path: path, damage: err.Error()}
	}
	defer f.Close()
	sf := snapFile{seq: f.Seq, path: path, hash: f.Hash, data: make([]byte, f.Size)}
	if _, err := f.ReadAt(sf.data, 0); err != nil {
		return snapFile{seq: f.Seq, path: path, damage: err.Error()}
	}
	return sf
}

// snapshotBefore returns the newest sound snapshot that usable accepts and
// whose state restores, or nil.
func (s *source) snapshotBefore(cfg engineSpec, usable func(*snapFile) bool) (*snapFile, *engines) {
	for i := len(s.snaps) - 1; i >= 0; i-- {
		sf := &s.snaps[i]
		if sf.damage != "" || sf.seq < s.segs[0].First-1 || !usable(sf) {
			continue
		}
		e, err := restoreEngines(cfg, sf.data)
		if err == nil {
			return sf, e
		}
	}
	return nil, nil
}
