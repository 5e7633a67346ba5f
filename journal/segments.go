package journal

import (
	"cmp"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/klauspost/compress/zstd"
)

// segEntry is one segment as found on disk: hot, archived, or both.
type segEntry struct {
	first int64
	hot   string // path of the plain segment in the hot folder, "" if none
	arc   string // path of the compressed copy in the archive, "" if none
}

// listHot returns the first seqs of the plain segments in dir, ascending.
func listHot(dir string) ([]int64, error) {
	return listSuffix(dir, segSuffix)
}

func listSuffix(dir, suffix string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		if first, ok := parseSegName(e.Name(), suffix); ok && e.Type().IsRegular() {
			out = append(out, first)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out, nil
}

// listSegments merges the hot folder and the archive into one list sorted by
// first seq.
func listSegments(dir string) ([]segEntry, error) {
	hot, err := listHot(dir)
	if err != nil {
		return nil, err
	}
	arc, err := listSuffix(filepath.Join(dir, ArchiveDirName), archiveSuffix)
	if err != nil {
		return nil, err
	}
	byFirst := make(map[int64]*segEntry, len(hot)+len(arc))
	var out []segEntry
	for _, f := range arc {
		byFirst[f] = &segEntry{first: f, arc: archivePath(dir, f)}
	}
	for _, f := range hot {
		if e := byFirst[f]; e != nil {
			e.hot = filepath.Join(dir, segName(f))
		} else {
			byFirst[f] = &segEntry{first: f, hot: filepath.Join(dir, segName(f))}
		}
	}
	for _, e := range byFirst {
		out = append(out, *e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].first < out[b].first })
	return out, nil
}

func archivePath(dir string, first int64) string {
	return filepath.Join(dir, ArchiveDirName, segName(first)+".zst")
}

// segSource opens segments for scanning and keeps one read buffer and one
// zstd decoder across them.
type segSource struct {
	buf []byte
	dec *zstd.Decoder
}

// open returns a reader over the uncompressed bytes of the segment at path
// (a zstd stream when compressed) and a function that closes it.
func (src *segSource) open(path string, compressed bool) (*segReader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if src.buf == nil {
		src.buf = make([]byte, readBufBytes)
	}
	if !compressed {
		return newSegReader(f, src.buf), func() { f.Close() }, nil
	}
	if src.dec == nil {
		src.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	if err := src.dec.Reset(f); err != nil {
		f.Close()
		return nil, nil, err
	}
	var r io.Reader = src.dec
	return newSegReader(r, src.buf), func() { f.Close() }, nil
}

// errPastEnd says that a segment ends before the offset a read was to
// start at.
var errPastEnd = errors.New("offset past the segment's end")

// openAt returns a reader over the plain segment at path from offset off
// on (segReader.off is off), and a function that closes it.
func (src *segSource) openAt(path string, off int64) (*segReader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if st, err := f.Stat(); err != nil || st.Size() < off {
		f.Close()
		return nil, nil, cmp.Or(err, errPastEnd)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	if src.buf == nil {
		src.buf = make([]byte, readBufBytes)
	}
	r := newSegReader(f, src.buf)
	r.off = off
	return r, func() { f.Close() }, nil
}

func (src *segSource) close() {
	if src.dec != nil {
		src.dec.Close()
		src.dec = nil
	}
}
