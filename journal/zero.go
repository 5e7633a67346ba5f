package journal

import (
	"os"
	"sync"
	"sync/atomic"
)

// Why the active segment is zero-filled ahead of the writer: fdatasync of a
// write that grows a file must also commit the new size (on ext4, a journal
// commit with its own device flush); fdatasync of a write into blocks that
// are already allocated and written only flushes the data. Measured on the
// 2-core dev VM (ext4 on virtio): 300-byte write + fdatasync p50 160 µs when
// appending, 95-120 µs into a zero-filled file. The fsync is most of an
// order's acknowledgement latency, and an order waits for up to two of them
// (the one under way when it arrives, then its own).
//
// So a background goroutine keeps the active segment written with zeros
// (and fsynced) zeroAheadBytes past the writer, in zeroChunkBytes steps, up
// to SegmentBytes. The unwritten rest of the active segment is therefore
// zeros: scanSegment ends a segment cleanly at a zero frame header followed
// only by zeros (and reports damage if anything non-zero follows it), and
// sealing a segment cuts it at its last record, so sealed and archived
// segments hold no zeros. If the writer outruns the zeroer it simply
// appends, as it would without it.
const (
	zeroChunkBytes = 1 << 20
	zeroAheadBytes = 4 << 20
)

var zeros [zeroChunkBytes]byte

// zeroer zero-fills the active segment ahead of the writer. Its methods
// other than run are called by the journal's one writer goroutine.
//
// The writer and the zeroer never write the same bytes: the zeroer writes
// only at or past both zeroed and writeEnd, under mu; the writer writes
// without mu only below zeroed (published after the zeroes there are
// written and fsynced) and takes mu for a write that reaches past it.
type zeroer struct {
	segBytes int64
	logf     func(string, ...any)

	mu       sync.Mutex
	f        *os.File // the active segment; nil while there is none
	gen      uint64   // bumped at each follow and seal
	writeEnd int64    // end of the writer's data in f
	zeroed   atomic.Int64

	poke chan struct{}
	quit chan struct{}
	done chan struct{}
	err  error // the first failure, logged once; zero-filling then stops
}

func startZeroer(segBytes int64, logf func(string, ...any)) *zeroer {
	z := &zeroer{segBytes: segBytes, logf: logf, poke: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go z.run()
	return z
}

// follow makes f the active segment: the writer's data ends at written, and
// the file (size bytes) holds zeros after it.
func (z *zeroer) follow(f *os.File, written, size int64) {
	z.mu.Lock()
	z.f, z.writeEnd = f, written
	z.gen++
	z.zeroed.Store(max(size, written))
	z.mu.Unlock()
	z.nudge()
}

// write writes b at off in f, the active segment. Hot path: no lock while
// the write stays inside the zero-filled part.
func (z *zeroer) write(f *os.File, b []byte, off int64) error {
	end := off + int64(len(b))
	if end <= z.zeroed.Load() {
		_, err := f.WriteAt(b, off)
		if end > z.zeroed.Load()-zeroAheadBytes/2 {
			z.nudge()
		}
		return err
	}
	z.mu.Lock()
	_, err := f.WriteAt(b, off)
	z.writeEnd = end
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
// whether it did.
func (z *zeroer) step() bool {
	z.mu.Lock()
	f, gen := z.f, z.gen
	from := max(z.zeroed.Load(), z.writeEnd)
	if f == nil || z.err != nil || from >= z.segBytes || from-z.writeEnd >= zeroAheadBytes {
		z.mu.Unlock()
		return false
	}
	n := min(int64(zeroChunkBytes), z.segBytes-from)
	_, err := f.WriteAt(zeros[:n], from)
	z.mu.Unlock()
	if err == nil {
		err = f.Sync() // the size and the blocks: later fdatasyncs need neither
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if gen != z.gen {
		return true // sealed or replaced meanwhile: look again
	}
	if err != nil {
		z.err = err
		z.logf("journal: zero-filling %s ahead of the writer failed, appending instead: %v", f.Name(), err)
		return false
	}
	z.zeroed.Store(from + n)
	return true
}
