package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// The journal's file names and layouts, as journal/doc.go and
// journal/snapshot.go draw them. Reading records goes through journal.Read
// (the one reader: CRC, continuity, torn tails); replay lists the files
// itself only to name the file and offset of a record, and reads snapshot
// files itself because journal exports only the newest valid one.
const (
	segHeaderBytes  = 24
	frameBytes      = 16
	recordBytes     = frameBytes + matcher.CommandSize // one journaled command, framed
	snapHeaderBytes = 32
)

// segment is one segment file found on disk.
type segment struct {
	first      int64
	path       string // the file journal.Read reads: hot when present, else archived
	compressed bool
	size       int64 // bytes on disk
	hot        bool  // a plain copy exists in the journal folder
}

// snapFile is one snapshot file beside the journal.
type snapFile struct {
	seq    int64
	path   string
	hash   uint64
	data   []byte
	damage string // why it cannot be used; "" when sound
}

// source is a journal folder as found on disk.
type source struct {
	dir   string
	segs  []segment // ascending first seq
	snaps []snapFile
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
	s := &source{dir: dir}
	if err := s.list(); err != nil {
		return nil, err
	}
	if len(s.segs) == 0 {
		return nil, noJournalError(dir)
	}
	return s, nil
}

func noJournalError(dir string) error {
	for _, sub := range []string{"journal", filepath.Join("data", "journal")} {
		if n, _ := countSegments(filepath.Join(dir, sub)); n > 0 {
			return fmt.Errorf("%s holds no journal segments; did you mean --journal %s?", dir, filepath.Join(dir, sub))
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) == 0 {
		return fmt.Errorf("%s is empty: no journal segments (files named <20-digit seq>.seg, or archive/<seq>.seg.zst)", dir)
	}
	return fmt.Errorf("%s holds no journal segments (files named <20-digit seq>.seg, or archive/<seq>.seg.zst); is it the wrong folder?", dir)
}

func countSegments(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if _, ok := parseSeqName(e.Name(), "", ".seg"); ok {
			n++
		}
	}
	return n, nil
}

func parseSeqName(name, prefix, suffix string) (int64, bool) {
	if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	digits := name[len(prefix) : len(name)-len(suffix)]
	if len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0
}

func (s *source) list() error {
	byFirst := map[int64]*segment{}
	add := func(dir, suffix string, compressed bool) error {
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) && compressed {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, e := range ents {
			first, ok := parseSeqName(e.Name(), "", suffix)
			if !ok || first < 1 || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", filepath.Join(dir, e.Name()), err)
			}
			seg := byFirst[first]
			if seg == nil {
				seg = &segment{first: first}
				byFirst[first] = seg
			}
			if !compressed {
				seg.path, seg.compressed, seg.size, seg.hot = filepath.Join(dir, e.Name()), false, info.Size(), true
			} else if !seg.hot {
				seg.path, seg.compressed, seg.size = filepath.Join(dir, e.Name()), true, info.Size()
			}
		}
		return nil
	}
	if err := add(filepath.Join(s.dir, journal.ArchiveDirName), ".seg.zst", true); err != nil {
		return err
	}
	if err := add(s.dir, ".seg", false); err != nil {
		return err
	}
	for _, seg := range byFirst {
		s.segs = append(s.segs, *seg)
	}
	sort.Slice(s.segs, func(a, b int) bool { return s.segs[a].first < s.segs[b].first })
	return nil
}

// position names the file and the (uncompressed) byte offset of record seq:
// every record is one framed command, so it follows from the segment's first
// seq. Records before seq must all have been whole commands, which replay
// checks as it reads them.
func (s *source) position(seq int64) (string, int64) {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > seq }) - 1
	if i < 0 {
		return s.dir, 0
	}
	return s.segs[i].path, segHeaderBytes + (seq-s.segs[i].first)*recordBytes
}

// estimateLast guesses the last seq from the file sizes, for progress.
func (s *source) estimateLast() int64 {
	last := s.segs[len(s.segs)-1]
	if last.compressed {
		// About 4x for journaled commands; only a progress estimate.
		return last.first + 4*last.size/recordBytes
	}
	return last.first - 1 + max(last.size-segHeaderBytes, 0)/recordBytes
}

// tornTail reports the bytes after the last whole record seq lastSeq in the
// last plain segment: what a crash mid-write leaves, and what journal.Read
// (and the node on start) silently drops.
func (s *source) tornTail(lastSeq int64) (path string, off, extra int64) {
	last := s.segs[len(s.segs)-1]
	if last.compressed || lastSeq < last.first-1 {
		return "", 0, 0
	}
	st, err := os.Stat(last.path)
	if err != nil {
		return "", 0, 0
	}
	end := segHeaderBytes + (lastSeq-last.first+1)*recordBytes
	if lastSeq < last.first {
		end = 0
		if st.Size() >= segHeaderBytes {
			end = segHeaderBytes
		}
	}
	if st.Size() > end && !zeroFrom(last.path, end) {
		return last.path, end, st.Size() - end
	}
	return "", 0, 0
}

// zeroFrom reports whether the file holds only zero bytes from off on: the
// unwritten rest of the active segment, which the journal keeps zero-filled
// ahead of its writer (journal/zero.go), is not a torn tail.
func zeroFrom(path string, off int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		n, err := f.ReadAt(buf, off)
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		off += int64(n)
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// loadSnapshots reads every snapshot file beside the journal, oldest first,
// verifying each file's header and CRC (not yet its contents).
func (s *source) loadSnapshots() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.dir, err)
	}
	s.snaps = s.snaps[:0]
	for _, e := range ents {
		seq, ok := parseSeqName(e.Name(), "snap-", ".snap")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		sf := snapFile{seq: seq, path: filepath.Join(s.dir, e.Name())}
		sf.hash, sf.data, sf.damage = readSnapFile(sf.path, seq)
		s.snaps = append(s.snaps, sf)
	}
	sort.Slice(s.snaps, func(a, b int) bool { return s.snaps[a].seq < s.snaps[b].seq })
	return nil
}

// readSnapFile reads one snapshot file:
//
//	"RGXS" | u16 version=1 | u16 flags | u64 seq | u64 hash | u64 data len | data | u32 crc32c
func readSnapFile(path string, seq int64) (hash uint64, data []byte, damage string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err.Error()
	}
	le := binary.LittleEndian
	switch {
	case len(b) < snapHeaderBytes+4:
		return 0, nil, "short file"
	case string(b[0:4]) != "RGXS":
		return 0, nil, "bad magic"
	case le.Uint16(b[4:6]) != 1:
		return 0, nil, fmt.Sprintf("unsupported version %d", le.Uint16(b[4:6]))
	case int64(le.Uint64(b[8:16])) != seq:
		return 0, nil, fmt.Sprintf("header names seq %d", int64(le.Uint64(b[8:16])))
	case le.Uint64(b[24:32]) != uint64(len(b)-snapHeaderBytes-4):
		return 0, nil, fmt.Sprintf("data length %d does not fit the file size %d", le.Uint64(b[24:32]), len(b))
	}
	end := len(b) - 4
	if crc32.Checksum(b[:end], castagnoli) != le.Uint32(b[end:]) {
		return 0, nil, "crc mismatch"
	}
	return le.Uint64(b[16:24]), b[snapHeaderBytes:end:end], ""
}

// snapshotBefore returns the newest sound snapshot that usable accepts and
// whose state restores, or nil.
func (s *source) snapshotBefore(cfg matcher.Config, usable func(*snapFile) bool) (*snapFile, *engines) {
	for i := len(s.snaps) - 1; i >= 0; i-- {
		sf := &s.snaps[i]
		if sf.damage != "" || sf.seq < s.segs[0].first-1 || !usable(sf) {
			continue
		}
		e, err := restoreEngines(cfg, sf.data)
		if err == nil {
			return sf, e
		}
	}
	return nil, nil
}
