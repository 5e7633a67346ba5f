package journal

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// Why the active segment is zero-filled ahead of the writer: fdatasync of a
// write that grows a file must also commit the new size (on ext4, a journal
// commit with its own device flush); fdatasync of a write into blocks that
// are already allocated and written only flushes the data, about a third
// faster on an ext4 virtio disk. The fsync is most of an order's
// acknowledgement latency, and an order waits for up to two of them (the
// one under way when it arrives, then its own). docs/performance.md has the
// measurements, before and after.
//
// So a background goroutine keeps the active segment written with zeros
// (and fsynced) up to zeroAheadBytes past the writer, a zeroChunkBytes chunk
// at a time, up to SegmentBytes. It writes each zeroPieceBytes piece out at
// once (sync_file_range) because an fdatasync by the writer would otherwise
// write the zeros inside the writer's own fsync. The unwritten rest of the
// active segment is therefore zeros: scanSegment ends a segment cleanly at a
// zero frame header followed only by zeros (and reports damage if anything
// non-zero follows it), and sealing a segment cuts it at its last record,
// so sealed and archived segments hold no zeros. If the writer outruns the
// zeroer it simply appends, as it would without it.
const (
	zeroChunkBytes = 1 << 20
	zeroPieceBytes = 64 << 10
	zeroAheadBytes = 4 << 20
)

var zeros [zeroPieceBytes]byte

// zeroer zero-fills the active segment ahead of the writer. Its methods
// other than run are called by the journal's one writer goroutine.
//
// The writer and the zeroer never write the same bytes: the zeroer writes a
// piece only at or past both zeroed and writeEnd, under mu; the writer
// writes without mu only below zeroed (published after the zeros there are
// on disk), and takes mu for a write that reaches past it.
type zeroer struct {
	segBytes int64
	log      *slog.Logger

	mu       sync.Mutex
	f        *os.File // the active segment; nil while there is none
	gen      uint64   // bumped at each follow and seal
	writeEnd atomic.Int64
	zeroed   atomic.Int64

	poke chan struct{}
	quit chan struct{}
	done chan struct{}
	err  error // the first failure, logged once; zero-filling then stops
}

func startZeroer(segBytes int64, log *slog.Logger) *zeroer {
	z := &zeroer{segBytes: segBytes, log: log, poke: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go z.run()
	return z
}

// follow makes f the active segment: the writer's data ends at written, and
// the file (size bytes) holds zeros after it.
func (z *zeroer) follow(f *os.File, written, size int64) {
	z.mu.Lock()
	z.f = f
	z.gen++
	z.writeEnd.Store(written)
	z.zeroed.Store(max(size, written))
	z.mu.Unlock()
	z.nudge()
}

// write writes b at off in f, the active segment. Hot path: no lock while
// the write stays inside the zero-filled part.
func (z *zeroer) write(f *os.File, b []byte, off int64) error {
	end := off + int64(len(b))
	if zeroed := z.zeroed.Load(); end <= zeroed {
		_, err := f.WriteAt(b, off)
		z.writeEnd.Store(end)
		if zeroed-end < zeroAheadBytes/2 && zeroed < z.segBytes {
			z.nudge()
		}
		return err
	}
	z.mu.Lock()
	_, err := f.WriteAt(b, off)
	z.writeEnd.Store(end)
	z.mu.Unlock()
	z.nudge()
	return err
}

// seal stops zero-filling f and cuts it at written, if zeros follow that.
func (z *zeroer) seal(f *os.File, written int64) (cut bool, err error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.f = nil
	z.gen++
	st, err := f.Stat()
	if err != nil || st.Size() <= written {
		return false, err
	}
	return true, f.Truncate(written)
}

func (z *zeroer) nudge() {
	select {
	case z.poke <- struct{}{}:
	default:
	}
}

func (z *zeroer) close() {
	close(z.quit)
	<-z.done
}

func (z *zeroer) run() {
	defer close(z.done)
	for {
		select {
		case <-z.quit:
			return
		case <-z.poke:
		}
		for z.step() {
			select {
			case <-z.quit:
				return
			default:
			}
		}
	}
}

// step zero-fills one chunk if the active segment needs one, and reports
// whether to look again.
func (z *zeroer) step() bool {
	z.mu.Lock()
	f, gen, failed := z.f, z.gen, z.err != nil
	from := max(z.zeroed.Load(), z.writeEnd.Load())
	z.mu.Unlock()
	if f == nil || failed || from >= z.segBytes || from-z.writeEnd.Load() >= zeroAheadBytes {
		return false
	}
	n := min(int64(zeroChunkBytes), z.segBytes-from)
	// In pieces, each written out at once: an fdatasync of this file by the
	// writer flushes every dirty page of it, so zeros left dirty would be
	// written inside the writer's fsync. At most one piece can be. mu is
	// held per piece only, so a writer that needs it waits for one piece.
	var err error
	for off := from; off < from+n && err == nil; off += zeroPieceBytes {
		m := min(zeroPieceBytes, from+n-off)
		z.mu.Lock()
		if z.gen != gen || z.writeEnd.Load() > off {
			z.mu.Unlock()
			return true // sealed, or the writer got here first: look again
		}
		_, err = f.WriteAt(zeros[:m], off)
		z.mu.Unlock()
		if err == nil {
			err = writeOut(f, off, m)
		}
	}
	if err == nil {
		err = f.Sync() // the size and the blocks: later fdatasyncs need neither
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.gen != gen {
		return true
	}
	if err != nil {
		z.err = err
		z.log.Warn("zero-filling ahead of the writer failed, appending instead", "path", f.Name(), "err", err)
		return false
	}
	z.zeroed.Store(from + n)
	return true
}
