package audit

import (
	"fmt"

	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/risk"
)

// engineSpec is what a venue's replayed state is built from: the matcher
// configuration of its engines and, for a venue with a risk stage, its risk
// configuration (nil: none); scales is the node's check of the journal's
// symbol scale records against the config's (node.SymbolScaleCheck; nil:
// none), snapScales its check of those a restored snapshot holds
// (node.SnapshotScaleCheck; nil: none).
type engineSpec struct {
	match      matcher.Config
	risk       *risk.Config
	scales     func(*matcher.Command) error
	snapScales func(matcher.Partitions) error
}

// engines is the state of a whole node: the matching state
// (matcher.Partitions) and, with risk, the risk state, with a reused
// buffer for the events of one command.
type engines struct {
	parts  matcher.Partitions
	rs     *risk.State                  // nil: no risk stage
	scales func(*matcher.Command) error // engineSpec's; nil: none
	out    []matcher.Event
}

// maxPartitions matches config.Check's bound.
const maxPartitions = matcher.MaxPartitions

func newEngines(spec engineSpec, p int) (*engines, error) {
	parts, err := matcher.NewPartitions(spec.match, p)
	if err != nil {
		return nil, err
	}
	e := &engines{parts: parts, scales: spec.scales, out: make([]matcher.Event, 0, 256)}
	if spec.risk != nil {
		if e.rs, err = risk.New(*spec.risk); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// P is the partition count.
func (e *engines) P() int { return len(e.parts) }

func (e *engines) engineOf(symbol uint32) *matcher.Engine { return e.parts.Of(symbol) }

// apply applies one command as the node does (with risk: its check, the
// engines and its settle step in turn) and returns the events it caused;
// they are valid until the next apply. Hot path.
func (e *engines) apply(cmd *matcher.Command) []matcher.Event {
	if e.rs != nil {
		e.out, _ = e.rs.Step(cmd, e.parts, e.out[:0])
		return e.out
	}
	e.out = e.parts.Apply(cmd, e.out[:0])
	return e.out
}

// hash is the node's state hash: the partitions' hashes combined, and
// the risk state's folded in.
func (e *engines) hash() uint64 { return risk.CombineHash(e.parts.Hash(), e.rs) }

// hashes are hash and the hashes a checkpoint recorded before risk
// snapshot version 3 may be (node.LegacyStateHashes); a recorded hash
// verifies against any.
func (e *engines) hashes() [3]uint64 {
	ph := e.parts.Hash()
	l := node.LegacyStateHashes(ph, e.parts, e.rs)
	return [3]uint64{risk.CombineHash(ph, e.rs), l[0], l[1]}
}

// snapshot frames the partitions' snapshots as the node writes them beside
// the journal, the risk state's after them.
func (e *engines) snapshot() []byte {
	parts := make([][]byte, 0, len(e.parts)+1)
	for _, eng := range e.parts {
		parts = append(parts, eng.Snapshot(nil))
	}
	if e.rs != nil {
		parts = append(parts, e.rs.Snapshot(nil))
	}
	return matcher.FrameSnapshot(parts)
}

// restoreEngines builds engines in the state a node snapshot holds, with the
// snapshot's own partition count.
func restoreEngines(spec engineSpec, data []byte) (*engines, error) {
	parts, err := matcher.SplitSnapshot(data)
	if err != nil {
		return nil, err
	}
	p := len(parts)
	if spec.risk != nil {
		if p < 2 {
			return nil, fmt.Errorf("node snapshot of a venue with risk holds %d frames: no risk state", p)
		}
		p--
	}
	e, err := newEngines(spec, p)
	if err != nil {
		return nil, err
	}
	if e.rs != nil {
		if err := e.rs.Restore(parts[p]); err != nil {
			return nil, err
		}
		data = matcher.FrameSnapshot(parts[:p])
	}
	if err := e.parts.Restore(data); err != nil {
		return nil, err
	}
	if spec.snapScales != nil {
		if err := spec.snapScales(e.parts); err != nil {
			return nil, err
		}
	}
	return e, nil
}
