package replica

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/ringex/ringex/internal/fsync"
)

// maxEpochs bounds the history a file or a frame may hold.
const maxEpochs = 1 << 16

// Epoch says that primary term Epoch journaled its first record at FirstSeq.
//
// Term is a random number drawn when the term began. Two nodes that both
// start as primary from the same history, with no third party to order
// them, pick the same epoch number (the next one) and, if their journals
// ended at the same seq, the same FirstSeq: without Term their histories
// would compare equal and the journals would be taken for the same while
// they hold different records after FirstSeq. With it the two terms differ
// (the odds of a repeat are 2^-64), agreement sees where they part, and the
// node that follows the other discards its own term's records. A term is
// (Epoch, Term): epoch numbers still order terms, Term tells apart two that
// share a number. Entries written before Term existed read as Term 0.
type Epoch struct {
	Epoch    uint64
	FirstSeq int64
	Term     uint64
}

// Outranks orders two terms that both claim to be current: the higher epoch
// number ranks higher, and of two terms of the same number (two nodes both
// started as primary from the same history) the higher Term.
func (e Epoch) Outranks(o Epoch) bool {
	return e.Epoch > o.Epoch || (e.Epoch == o.Epoch && e.Term > o.Term)
}

// EpochFileName is the history's file, in the data folder beside the journal
// folder. One line per epoch, "<epoch> <first seq> <term, 16 hex digits>",
// oldest first (a line without the term is one written before terms
// existed: term 0).
const EpochFileName = "epoch"

// History is a node's epoch history, kept in a file that is replaced
// atomically (write, fsync, rename, fsync the folder) on every change. Safe
// for concurrent use.
type History struct {
	path    string
	mu      sync.Mutex
	entries []Epoch
}

// LoadHistory reads the history in dir; a missing file is an empty history.
func LoadHistory(dir string) (*History, error) {
	h := &History{path: filepath.Join(dir, EpochFileName)}
	b, err := os.ReadFile(h.path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 && len(f) != 3 {
			return nil, fmt.Errorf("replica: %s line %d: %q: want \"<epoch> <first seq> <term>\"", h.path, i+1, line)
		}
		e, err1 := strconv.ParseUint(f[0], 10, 64)
		s, err2 := strconv.ParseInt(f[1], 10, 64)
		var term uint64
		var err3 error
		if len(f) == 3 {
			term, err3 = strconv.ParseUint(f[2], 16, 64)
		}
		if err1 != nil || err2 != nil || err3 != nil || s < 1 {
			return nil, fmt.Errorf("replica: %s line %d: %q: bad number", h.path, i+1, line)
		}
		if n := len(h.entries); n > 0 && (e <= h.entries[n-1].Epoch || s < h.entries[n-1].FirstSeq) {
			return nil, fmt.Errorf("replica: %s line %d: epoch %d at seq %d does not follow epoch %d at seq %d",
				h.path, i+1, e, s, h.entries[n-1].Epoch, h.entries[n-1].FirstSeq)
		}
		h.entries = append(h.entries, Epoch{Epoch: e, FirstSeq: s, Term: term})
	}
	return h, nil
}

// Current is the newest epoch, 0 when the history is empty.
func (h *History) Current() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.entries) == 0 {
		return 0
	}
	return h.entries[len(h.entries)-1].Epoch
}

// Entries returns a copy of the history.
func (h *History) Entries() []Epoch {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Epoch(nil), h.entries...)
}

// Begin starts a new epoch, one above the newest, whose first record will be
// firstSeq, with a fresh random Term, and makes it durable before returning
// it.
func (h *History) Begin(firstSeq int64) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := Epoch{Epoch: 1, FirstSeq: firstSeq, Term: newTerm()}
	if n := len(h.entries); n > 0 {
		e.Epoch = h.entries[n-1].Epoch + 1
	}
	next := append(append([]Epoch(nil), h.entries...), e)
	if err := h.write(next); err != nil {
		return 0, err
	}
	h.entries = next
	return e.Epoch, nil
}

// BeginAt starts epoch, which must be above the newest, whose first record
// will be firstSeq, with a fresh random Term, and makes it durable before
// returning. A shard led through etcd numbers its epochs by the term's
// fencing token, which only grows, rather than one above the last.
func (h *History) BeginAt(epoch uint64, firstSeq int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.entries); n > 0 && (epoch <= h.entries[n-1].Epoch || firstSeq < h.entries[n-1].FirstSeq) {
		return fmt.Errorf("replica: epoch %d at seq %d does not follow epoch %d at seq %d in %s (a token from another etcd cluster?)",
			epoch, firstSeq, h.entries[n-1].Epoch, h.entries[n-1].FirstSeq, h.path)
	}
	next := append(append([]Epoch(nil), h.entries...), Epoch{Epoch: epoch, FirstSeq: firstSeq, Term: newTerm()})
	if err := h.write(next); err != nil {
		return err
	}
	h.entries = next
	return nil
}

// Adopt replaces the history with the primary's (after the journal was cut
// to agree with it).
func (h *History) Adopt(entries []Epoch) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.write(entries); err != nil {
		return err
	}
	h.entries = append([]Epoch(nil), entries...)
	return nil
}

func (h *History) write(entries []Epoch) error {
	if len(entries) > maxEpochs {
		return fmt.Errorf("replica: epoch history over %d entries", maxEpochs)
	}
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d %016x\n", e.Epoch, e.FirstSeq, e.Term)
	}
	dir := filepath.Dir(h.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	tmp := h.path + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		_, err = f.Write(b.Bytes())
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, h.path)
	}
	if err == nil {
		err = fsync.Dir(dir)
	}
	if err != nil {
		return fmt.Errorf("replica: write %s: %w", h.path, err)
	}
	return nil
}

// newTerm draws a term id: random, never 0 (the term of entries written
// before terms existed).
func newTerm() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand)
		if t := binary.LittleEndian.Uint64(b[:]); t != 0 {
			return t
		}
	}
}

// agreement compares a standby's history and last durable seq with the
// primary's history and returns keep, the last seq up to which the two
// journals hold the same records. newer is true when the standby knows an
// epoch the primary does not: the primary is the stale one. Entries are
// compared whole, term included: two terms of the same number (two nodes
// both started as primary) are different terms, and the standby's is
// discarded from where either began.
func agreement(primary, standby []Epoch, standbyLast int64) (keep int64, newer bool) {
	keep = standbyLast
	if len(standby) > 0 && (len(primary) == 0 || standby[len(standby)-1].Epoch > primary[len(primary)-1].Epoch) {
		return keep, true
	}
	for i, s := range standby {
		if i >= len(primary) {
			return keep, true
		}
		if p := primary[i]; p != s {
			if s.Epoch > p.Epoch {
				return keep, true
			}
			return min(keep, min(p.FirstSeq, s.FirstSeq)-1), false
		}
	}
	// The standby's history is a prefix of the primary's: anything it has
	// from where the primary's next epoch began was written by an older term.
	if len(primary) > len(standby) {
		keep = min(keep, primary[len(standby)].FirstSeq-1)
	}
	return keep, false
}

// ResetHistory replaces the history in dir with entries: after Truncate, a
// standby takes its new primary's history so that its next hello agrees.
func ResetHistory(dir string, entries []Epoch) error {
	h, err := LoadHistory(dir)
	if err != nil {
		return err
	}
	return h.Adopt(entries)
}
