package audit

import (
	"github.com/ringex/ringex/matcher"
)

// engines is the matching state of a whole node (matcher.Partitions), with
// a reused buffer for the events of one command.
type engines struct {
	parts matcher.Partitions
	out   []matcher.Event
}

// maxPartitions matches config.Check's bound.
const maxPartitions = matcher.MaxPartitions

func newEngines(cfg matcher.Config, p int) (*engines, error) {
	parts, err := matcher.NewPartitions(cfg, p)
	if err != nil {
		return nil, err
	}
	return &engines{parts: parts, out: make([]matcher.Event, 0, 256)}, nil
}

// P is the partition count.
func (e *engines) P() int { return len(e.parts) }

func (e *engines) engineOf(symbol uint32) *matcher.Engine { return e.parts.Of(symbol) }

// apply applies one command as the node does and returns the events it
// caused; they are valid until the next apply. Hot path.
func (e *engines) apply(cmd *matcher.Command) []matcher.Event {
	e.out = e.parts.Apply(cmd, e.out[:0])
	return e.out
}

// hash is the node's state hash: the partitions' hashes combined.
func (e *engines) hash() uint64 { return e.parts.Hash() }

// snapshot frames the partitions' snapshots as the node writes them beside
// the journal.
func (e *engines) snapshot() []byte { return e.parts.Snapshot() }

// restoreEngines builds engines in the state a node snapshot holds, with the
// snapshot's own partition count.
func restoreEngines(cfg matcher.Config, data []byte) (*engines, error) {
	parts, err := matcher.SplitSnapshot(data)
	if err != nil {
		return nil, err
	}
	e, err := newEngines(cfg, len(parts))
	if err != nil {
		return nil, err
	}
	if err := e.parts.Restore(data); err != nil {
		return nil, err
	}
	return e, nil
}
