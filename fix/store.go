package fix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ringex/ringex/internal/fsync"
)

// A store keeps one session's outbound messages, for ResendRequest, and its
// next inbound MsgSeqNum, so that both survive a restart.
//
// On disk (StoreDir set) a session has two files, named after
// BeginString-SenderCompID-TargetCompID:
//
//	.msgs  every outbound message since the last sequence reset, as sent,
//	       one after another (FIX messages frame themselves: BodyLength and
//	       CheckSum). The next outbound MsgSeqNum is the last one here + 1.
//	       A sequence reset writes its successor as .msgs.new, fsyncs it
//	       and renames it into place.
//	.seqs  16 bytes: next inbound MsgSeqNum (uint64 LE), then its bitwise
//	       complement, rewritten in place.
//
// Writes are not fsynced per message: the writer appends each batch with
// one write before it sends the batch to the socket, so a message the
// counterparty can have seen is in the page cache and survives a crash of
// the process; fsync happens at logout, sequence reset and Stop. What an
// operating-system crash can lose is the tail since then: outbound messages
// (the counterparty then sees MsgSeqNum too low and must reset) and inbound
// progress (we ask for a resend and receive PossDup copies, which the
// exchange de-duplicates by ClOrdID against its journal).
//
// A failed write (a full disk, an I/O error) fails the store for good:
// nothing more is written to it (a later write would leave a hole before
// it, which the next start refuses), and the session sends nothing that is
// not in it, so the outbound MsgSeqNum a restart finds is never below one
// the counterparty has seen. Inbound progress made after the failure is
// not persisted: after the restart the counterparty is asked to resend
// those messages, and they are answered then. The acceptor tells
// Config.OnStoreError of the first failure and logs repeated ones at most
// once a second, with their count.
//
// Without StoreDir the same layout lives in memory and nothing survives.
type store struct {
	msgs, seqs storeFile // nil for a memory store
	path       string    // dir/name, without the suffixes
	mem        []byte    // the memory store's .msgs
	index      []msgPos  // outbound seq-1 → where the message is
	size       int64     // bytes in .msgs, written or reserved
	nextIn     int
	mark       *os.File // .mark (storemark.go); nil for a memory store
	markVal    int64    // the mark .mark holds; 0: none of the application's messages
	// wrapNew, when set, stands in for the file reset writes (a test's
	// full disk).
	wrapNew func(*os.File) storeFile
}

// storeFile is what a store needs of its files; *os.File is one, and a
// test puts a failing one (a full disk) in its place.
type storeFile interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	Close() error
}

type msgPos struct {
	off int64
	n   int32
}

func storeName(begin, sender, target string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
				return r
			}
			return '_'
		}, s)
	}
	return clean(begin) + "-" + clean(sender) + "-" + clean(target)
}

// openStore opens (or creates) the store named name in dir, or a memory
// store when dir is empty, and returns it with the next outbound MsgSeqNum.
// A torn last message (a crash mid-write) is truncated; damage before the
// last message is an error naming the file and offset.
func openStore(dir, name string) (*store, int, error) {
	st := &store{nextIn: 1}
	if dir == "" {
		return st, 1, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	base := filepath.Join(dir, name)
	st.path = base
	msgs, err := os.OpenFile(base+".msgs", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, err
	}
	seqs, err := os.OpenFile(base+".seqs", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		msgs.Close()
		return nil, 0, err
	}
	st.msgs, st.seqs = msgs, seqs
	var b [16]byte
	if n, _ := st.seqs.ReadAt(b[:], 0); n == 16 {
		v, check := binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
		if v != ^check || v == 0 || v > 1<<40 {
			st.close()
			return nil, 0, fmt.Errorf("fix: store %s.seqs: corrupt sequence record", base)
		}
		st.nextIn = int(v)
	}
	if err := st.openMark(base); err != nil {
		st.close()
		return nil, 0, err
	}
	if err := st.scan(base + ".msgs"); err != nil {
		st.close()
		return nil, 0, err
	}
	return st, len(st.index) + 1, nil
}

// scan rebuilds the index from .msgs.
func (st *store) scan(path string) error {
	data, err := io.ReadAll(io.NewSectionReader(st.msgs, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("fix: store %s: %w", path, err)
	}
	var m Message
	off := 0
	for off < len(data) {
		status, n, why := frame(data[off:], len(data))
		if status == frameNeedMore || (status == frameGarbled && off+n >= len(data)) {
			if err := st.msgs.Truncate(int64(off)); err != nil {
				return fmt.Errorf("fix: store %s: truncate torn tail at offset %d: %w", path, off, err)
			}
			break
		}
		if status == frameGarbled {
			return fmt.Errorf("fix: store %s: damaged message at offset %d: %s", path, off, why)
		}
		if err := m.parse(data[off : off+n]); err != nil || m.seqNum != len(st.index)+1 {
			return fmt.Errorf("fix: store %s: message at offset %d is not MsgSeqNum %d", path, off, len(st.index)+1)
		}
		st.index = append(st.index, msgPos{off: int64(off), n: int32(n)})
		off += n
	}
	st.size = int64(off)
	return nil
}

// reserve records that the message seq of n bytes goes at the end of .msgs
// and returns its offset.
func (st *store) reserve(seq, n int) int64 {
	off := st.size
	if seq == len(st.index)+1 {
		st.index = append(st.index, msgPos{off: off, n: int32(n)})
	}
	st.size += int64(n)
	return off
}

// writeAt writes reserved bytes.
func (st *store) writeAt(b []byte, off int64) error {
	if st.msgs == nil {
		if int64(len(st.mem)) != off {
			return errors.New("fix: memory store written out of order")
		}
		st.mem = append(st.mem, b...)
		return nil
	}
	if _, err := st.msgs.WriteAt(b, off); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said here
		}
		return fmt.Errorf("write %s.msgs at offset %d: %w", st.path, off, err)
	}
	return nil
}

// read returns message seq from the store (written, not merely reserved),
// or nil when the store does not have it.
func (st *store) read(seq int, buf []byte) []byte {
	return st.readIn(st.index, seq, buf)
}

// readIn is read with index for the store's: a prefix of it taken under
// the session's mu, whose entries stay as they are while flushMu is held
// (a stream reads with mu released: stream.go).
func (st *store) readIn(index []msgPos, seq int, buf []byte) []byte {
	if seq < 1 || seq > len(index) {
		return nil
	}
	p := index[seq-1]
	if st.msgs == nil {
		if p.off+int64(p.n) > int64(len(st.mem)) {
			return nil
		}
		return st.mem[p.off : p.off+int64(p.n)]
	}
	if cap(buf) < int(p.n) {
		buf = make([]byte, p.n)
	}
	buf = buf[:p.n]
	if _, err := st.msgs.ReadAt(buf, p.off); err != nil {
		return nil
	}
	return buf
}

func (st *store) setNextIn(n int) error {
	st.nextIn = n
	if st.seqs == nil {
		return nil
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(n))
	binary.LittleEndian.PutUint64(b[8:], ^uint64(n))
	if _, err := st.seqs.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("write %s.seqs: %w", st.path, err)
	}
	return nil
}

// clear forgets the store's messages in memory, so that the next one
// reserved is MsgSeqNum 1; the file keeps them until reset replaces it.
func (st *store) clear() {
	st.index = st.index[:0]
	st.size = 0
}

// reset makes b, the messages reserved since clear (MsgSeqNum 1 on), all
// the store holds, and the next inbound MsgSeqNum 1; fsynced. On disk b
// goes to a new file, fsynced, then renamed over .msgs, so that a crash
// leaves either the old messages or the new ones, never neither: the new
// ones are what a reset carries over (Session.requeueLocked), copies of
// old ones. On an error the old .msgs stays; the store is failed (see
// store) and written no more.
func (st *store) reset(b []byte) error {
	if st.msgs == nil {
		st.mem = append(st.mem[:0], b...)
		return st.setNextIn(1)
	}
	name := st.path + ".msgs"
	f, err := os.OpenFile(name+".new", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	var nf storeFile = f
	if st.wrapNew != nil {
		nf = st.wrapNew(f)
	}
	if _, err := nf.WriteAt(b, 0); err != nil {
		nf.Close()
		os.Remove(name + ".new")
		return fmt.Errorf("write %s.new: %w", name, err)
	}
	if err := nf.Sync(); err != nil {
		nf.Close()
		os.Remove(name + ".new")
		return fmt.Errorf("fsync %s.new: %w", name, err)
	}
	st.msgs.Close()
	st.msgs = nf
	if err := os.Rename(name+".new", name); err != nil {
		return err
	}
	if err := fsync.Dir(filepath.Dir(name)); err != nil {
		return err
	}
	if err := st.setNextIn(1); err != nil {
		return err
	}
	return st.sync()
}

func (st *store) sync() error {
	if st.msgs == nil {
		return nil
	}
	err := errors.Join(st.msgs.Sync(), st.seqs.Sync())
	if st.mark != nil {
		err = errors.Join(err, st.mark.Sync())
	}
	if err != nil {
		return fmt.Errorf("fsync %s: %w", st.path, err)
	}
	return nil
}

func (st *store) close() error {
	if st.msgs == nil {
		return nil
	}
	err := errors.Join(st.sync(), st.msgs.Close(), st.seqs.Close())
	if st.mark != nil {
		err = errors.Join(err, st.mark.Close())
	}
	return err
}

// writeStore writes queued messages at base, unless the store failed
// before: then they are one more failure (never written after a hole).
func (s *Session) writeStore(b []byte, base int64) {
	if s.storeFailed.Load() {
		s.a.storeFailed(s, errStoreFailedBefore)
		return
	}
	if err := s.st.writeAt(b, base); err != nil {
		s.failStore(err)
	}
}

// errStoreFailedBefore counts a write not tried because the store failed.
var errStoreFailedBefore = errors.New("store failed earlier: messages not stored, not sent")

// failStore fails s's store for good (see store) and reports err.
func (s *Session) failStore(err error) {
	s.storeFailed.Store(true)
	s.a.storeFailed(s, err)
}

// storeFailLogEvery bounds the log lines about failed store writes.
const storeFailLogEvery = time.Second

// storeFailures counts the acceptor's store failures, so that a disk that
// stays full costs a log line a second, not one per flush.
type storeFailures struct {
	mu       sync.Mutex
	count    int64 // since the acceptor started
	unlogged int64 // since the last log line
	loggedAt time.Time
}

// storeFailed logs a store failure (the first at once, then at most one
// line per storeFailLogEvery, with the failures since the last line) and
// tells Config.OnStoreError of the first.
func (a *Acceptor) storeFailed(s *Session, err error) {
	f := &a.storeFails
	f.mu.Lock()
	f.count++
	f.unlogged++
	first, now, n := f.count == 1, time.Now(), int64(0)
	if first || now.Sub(f.loggedAt) >= storeFailLogEvery {
		n, f.unlogged, f.loggedAt = f.unlogged, 0, now
	}
	total := f.count
	f.mu.Unlock()
	if n > 0 {
		a.log.Error("store write failed: the session sends nothing that is not stored; restart when the store can be written",
			"session", s.id, "failures", n, "failures_total", total, "err", err)
	}
	if first && a.cfg.OnStoreError != nil {
		a.cfg.OnStoreError(fmt.Errorf("fix: session %s: %w", s.id, err))
	}
}
