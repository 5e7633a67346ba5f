package audit

import (
	"fmt"
	"io"
	"os"
	"time"
)

// IsTerminal reports whether w is a terminal (a character device), where a
// progress line that rewrites itself makes sense.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress rewrites one status line on a terminal every progressEvery.
// A nil *progress does nothing, so callers need no checks.
type progress struct {
	w     io.Writer
	label string
	total int64 // estimated last seq; 0 when unknown
	start time.Time
	last  time.Time
	shown bool
}

const progressEvery = 250 * time.Millisecond

func newProgress(w io.Writer, label string, total int64) *progress {
	if w == nil {
		return nil
	}
	now := time.Now()
	return &progress{w: w, label: label, total: total, start: now, last: now}
}

// tick is called per record; it looks at the clock once per 64 Ki records.
func (p *progress) tick(seq int64) {
	if p == nil || seq&(1<<16-1) != 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	rate := float64(seq) / now.Sub(p.start).Seconds()
	if p.total > 0 {
		pct := min(100*float64(seq)/float64(p.total), 99.9)
		fmt.Fprintf(p.w, "\r%s: %5.1f%%  seq %d of ~%d  %.2f M records/s\x1b[K", p.label, pct, seq, p.total, rate/1e6)
	} else {
		fmt.Fprintf(p.w, "\r%s: seq %d  %.2f M records/s\x1b[K", p.label, seq, rate/1e6)
	}
	p.shown = true
}

// done clears the line.
func (p *progress) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
