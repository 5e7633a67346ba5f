package fix

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// The stored mark: how far a session's store holds the application's
// marked messages (SendMarked), so that after a crash the application can
// rebuild what it had handed to the session but the store never got (the
// writer had not run yet, or the machine lost the page cache).
//
// On disk it is a third file beside .msgs and .seqs:
//
//	.mark  16 bytes: the highest mark of a message written to .msgs, or
//	       noted with MarkStored (uint64 LE), then its bitwise complement,
//	       rewritten in place.
//
// The writer rewrites it after the store write that carried a higher mark
// and before the socket write, so that it never claims a message the store
// lacks while the process dies between the two; like .msgs it is fsynced
// at logout, sequence reset and Stop, not per write (one extra write per
// flush that carries a mark). After a crash of the process it never leads
// .msgs, and it lags only when the process died between the two writes:
// the application then rebuilds reports the store already had, and sends
// them marked as possible resends. An operating-system crash can lose the
// unsynced tails of both files, in either order: what the store lost, and
// the broker may have, goes again as a possible resend when the mark lost
// as much; reports after a surviving mark whose messages were lost are
// not rebuilt (the same window in which .msgs loses MsgSeqNums, see
// store.go). A sequence reset leaves the mark: marks number the
// application's reports, not MsgSeqNums.
//
// An empty .mark (a new store, or one whose file a power loss emptied
// before its first fsync) holds mark 0: the store holds none of the
// application's messages, whatever .msgs shows. This package cannot tell
// a store from before marks existed from one a power loss emptied; the
// application can (node: by a journal that binds no account), and
// otherwise rebuilds its reports (PossResend copies of what the broker
// may have had, never a report lost).

// openMark opens (or creates) base.mark and reads the mark it holds.
func (st *store) openMark(base string) error {
	f, err := os.OpenFile(base+".mark", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	st.mark = f
	st.markVal, err = readMark(f)
	return err
}

// readMark reads the mark f holds; 0 when it is empty (see above).
func readMark(f *os.File) (mark int64, err error) {
	var b [16]byte
	n, _ := f.ReadAt(b[:], 0)
	if n == 0 {
		return 0, nil
	}
	v, check := binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
	if n != 16 || v != ^check || int64(v) < 0 {
		return 0, fmt.Errorf("fix: store %s: corrupt mark record (%d bytes)", f.Name(), n)
	}
	return int64(v), nil
}

// HighestStoredMark reads, without opening the stores, the mark of every
// session store in dir (Config.StoreDir) and returns the highest and the
// .mark file that holds it; 0 and "" when none holds one (no folder
// included). For a node about to start: its stores hold the application's
// messages up to there. A corrupt .mark is an error, as NewAcceptor
// finds it. Cold path.
func HighestStoredMark(dir string) (mark int64, file string, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.mark"))
	if err != nil {
		return 0, "", err
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, "", fmt.Errorf("fix: %w", err)
		}
		m, err := readMark(f)
		f.Close()
		if err != nil {
			return 0, "", err
		}
		if m > mark {
			mark, file = m, p
		}
	}
	return mark, file, nil
}

// writeMark records that the store holds every marked message up to mark.
func (st *store) writeMark(mark int64) error {
	st.markVal = mark
	if st.mark == nil {
		return nil
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(mark))
	binary.LittleEndian.PutUint64(b[8:], ^uint64(mark))
	_, err := st.mark.WriteAt(b[:], 0)
	return err
}

// StoredMark is the highest mark the session's store is known to hold
// (see MarkStored), as the store had it when the session was opened or
// as written since: 0 for a store that holds none of the application's
// messages (a new one, or one emptied by a power loss). ok is false for a
// memory store, which holds nothing across a restart.
func (s *Session) StoredMark() (mark int64, ok bool) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.st.markVal, s.st.mark != nil
}

// MarkStored says that the application has nothing up to mark that the
// store lacks once what is queued now is written: every message it
// marked up to there is queued, or it has nothing to send for them. The
// writer records it with the next store write. A lower mark than one
// noted before counts for nothing. Any goroutine; no system call.
func (s *Session) MarkStored(mark int64) {
	s.mu.Lock()
	s.storeMark = max(s.storeMark, mark)
	s.mu.Unlock()
	s.signal()
}

// writeStoredMark records mark, taken with the store queue just written,
// when it is higher than the one recorded.
func (s *Session) writeStoredMark(mark int64) {
	if mark <= s.st.markVal || s.storeFailed.Load() {
		return
	}
	if err := s.st.writeMark(mark); err != nil {
		// A store that cannot be written fails as a whole (store), so a
		// full disk stops the node here too, logged at most once a second.
		s.failStore(fmt.Errorf("write %s.mark: %w", s.st.path, err))
	}
}
