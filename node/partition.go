package node

import (
	"sync"

	"github.com/ringex/ringex/matcher"
)

// partition is one match goroutine's state: the engine that owns the books of
// the symbols with id % P == index, and the events its slots could not hold.
type partition struct {
	index   int
	engine  *matcher.Engine
	scratch []matcher.Event
	cps     checkpointQueue

	// spill holds events beyond a slot's inline capacity, keyed by ring
	// sequence, until the publish stage takes them; a command that fills
	// several resting orders lands here. The slices are recycled through
	// free, so in steady state it allocates nothing; the mutex is shared
	// only with the publish stage, once per such command.
	spillMu sync.Mutex
	spill   map[int64][]matcher.Event
	free    [][]matcher.Event
	taken   []matcher.Event // the publish stage's last takeSpill; freed at its next
}

func (p *partition) putSpill(seq int64, evs []matcher.Event) {
	p.spillMu.Lock()
	if p.spill == nil {
		p.spill = make(map[int64][]matcher.Event)
	}
	var buf []matcher.Event
	if n := len(p.free); n > 0 {
		buf, p.free = p.free[n-1][:0], p.free[:n-1]
	}
	p.spill[seq] = append(buf, evs...)
	p.spillMu.Unlock()
}

// takeSpill hands the publish stage the spilled events of seq, valid until
// its next takeSpill on this partition, which frees them under the same
// lock (one lock per spilled command).
func (p *partition) takeSpill(seq int64) []matcher.Event {
	p.spillMu.Lock()
	if p.taken != nil {
		p.free = append(p.free, p.taken)
	}
	evs := p.spill[seq]
	delete(p.spill, seq)
	p.taken = evs
	p.spillMu.Unlock()
	return evs
}
