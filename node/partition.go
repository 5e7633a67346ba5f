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

// matchHandler is one match goroutine: it applies the slots of its own
// partition and skips the others. Hot path.
type matchHandler struct {
	node *Node
	part *partition
}

func (h *matchHandler) Handle(lo, hi int64) {
	p := h.part
	count := len(h.node.partitions)
	for seq := lo; seq <= hi; seq++ {
		s := h.node.ring.Slot(seq)
		switch s.cmd.Kind {
		case matcher.KindCheckpoint:
			p.takeCheckpoint(s.cmd.Seq) // every partition
			continue
		case matcher.KindCheckpointHash:
			continue // proof for replay; the live engines computed it
		}
		r := matcher.Route(&s.cmd, count)
		if r == matcher.RouteAll {
			// Every partition applies it (the end of the day: each expires
			// its own Day orders). The slot's inline events belong to one
			// partition, so each puts all of its events in its own spill
			// store (a cold path, once a day).
			p.scratch = p.engine.Apply(&s.cmd, p.scratch[:0])
			if len(p.scratch) > 0 {
				p.putSpill(seq, p.scratch)
			}
			continue
		}
		if r != p.index {
			continue
		}
		p.scratch = p.engine.Apply(&s.cmd, p.scratch[:0])
		n := copy(s.events[:], p.scratch)
		s.nEvents = int32(len(p.scratch))
		if len(p.scratch) > n {
			p.putSpill(seq, p.scratch[n:])
		}
	}
}
