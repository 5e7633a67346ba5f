package replica

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// maxEpochs bounds the history a file or a frame may hold.
const maxEpochs = 1 << 16

// Epoch says that primary term Epoch journaled its first record at FirstSeq.
type Epoch struct {
	Epoch    uint64
	FirstSeq int64
}

// EpochFileName is the history's file, in the data folder beside the journal
// folder. One line per epoch, "<epoch> <first seq>", oldest first.
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
		if len(f) != 2 {
			return nil, fmt.Errorf("replica: %s line %d: %q: want \"<epoch> <first seq>\"", h.path, i+1, line)
		}
		e, err1 := strconv.ParseUint(f[0], 10, 64)
		s, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || s < 1 {
			return nil, fmt.Errorf("replica: %s line %d: %q: bad number", h.path, i+1, line)
		}
		if n := len(h.entries); n > 0 && (e <= h.entries[n-1].Epoch || s < h.entries[n-1].FirstSeq) {
			return nil, fmt.Errorf("replica: %s line %d: epoch %d at seq %d does not follow epoch %d at seq %d",
				h.path, i+1, e, s, h.entries[n-1].Epoch, h.entries[n-1].FirstSeq)
		}
		h.entries = append(h.entries, Epoch{Epoch: e, FirstSeq: s})
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
// firstSeq, and makes it durable before returning it.
func (h *History) Begin(firstSeq int64) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := Epoch{Epoch: 1, FirstSeq: firstSeq}
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
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.FirstSeq)
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
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("replica: write %s: %w", h.path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// agreement compares a standby's history and last durable seq with the
// primary's history and returns keep, the last seq up to which the two
// journals hold the same records. newer is true when the standby knows an
// epoch the primary does not: the primary is the stale one.
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
