package audit

import (
	"encoding/binary"
	"fmt"

	"github.com/ringex/ringex/matcher"
)

// engines is the matching state of a whole node: P engines, partition
// p owning the symbols with id % P == p, exactly as node routes commands.
type engines struct {
	cfg   matcher.Config
	parts []*matcher.Engine
	out   []matcher.Event
	hs    []uint64
}

// maxPartitions matches config.Check's bound.
const maxPartitions = 64

func newEngines(cfg matcher.Config, p int) (*engines, error) {
	if p < 1 || p > maxPartitions {
		return nil, fmt.Errorf("partitions %d: want 1 to %d", p, maxPartitions)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &engines{cfg: cfg, parts: make([]*matcher.Engine, p), out: make([]matcher.Event, 0, 256), hs: make([]uint64, p)}
	for i := range e.parts {
		e.parts[i] = matcher.New(cfg)
	}
	return e, nil
}

// P is the partition count.
func (e *engines) P() int { return len(e.parts) }

func (e *engines) engineOf(symbol uint32) *matcher.Engine {
	return e.parts[symbol%uint32(len(e.parts))]
}

// apply applies one command to the engine that owns its symbol and returns
// the events it caused; they are valid until the next apply. Hot path.
func (e *engines) apply(cmd *matcher.Command) []matcher.Event {
	if isCheckpointKind(cmd.Kind) {
		e.out = e.out[:0]
		return e.out
	}
	if cmd.Kind.EveryPartition() {
		e.out = e.out[:0]
		for _, p := range e.parts {
			e.out = p.Apply(cmd, e.out)
		}
		return e.out
	}
	e.out = e.engineOf(cmd.Symbol).Apply(cmd, e.out[:0])
	return e.out
}

// hash is the node's state hash: the partitions' hashes combined.
func (e *engines) hash() uint64 {
	for i, p := range e.parts {
		e.hs[i] = p.Hash()
	}
	return matcher.CombineHashes(e.hs)
}

// snapshot frames the partitions' snapshots as the node writes them beside
// the journal: [u32 P][for each p: u32 len, bytes], little-endian.
func (e *engines) snapshot() []byte {
	parts := make([][]byte, len(e.parts))
	for i, p := range e.parts {
		parts[i] = p.Snapshot(nil)
	}
	return frameSnapshot(parts)
}

// frameSnapshot frames the partitions' engine snapshots as a node snapshot.
func frameSnapshot(parts [][]byte) []byte {
	le := binary.LittleEndian
	n := 4
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := le.AppendUint32(make([]byte, 0, n), uint32(len(parts)))
	for _, p := range parts {
		b = le.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// splitSnapshot undoes the framing of a node snapshot.
func splitSnapshot(data []byte) ([][]byte, error) {
	le := binary.LittleEndian
	if len(data) < 4 {
		return nil, fmt.Errorf("node snapshot of %d bytes has no partition count", len(data))
	}
	p := int(le.Uint32(data))
	if p < 1 || p > maxPartitions {
		return nil, fmt.Errorf("node snapshot names %d partitions", p)
	}
	parts := make([][]byte, p)
	off := 4
	for i := range parts {
		if len(data)-off < 4 {
			return nil, fmt.Errorf("node snapshot: partition %d: truncated at offset %d", i, off)
		}
		n := int(le.Uint32(data[off:]))
		off += 4
		if n > len(data)-off {
			return nil, fmt.Errorf("node snapshot: partition %d: %d bytes at offset %d, only %d left", i, n, off, len(data)-off)
		}
		parts[i] = data[off : off+n]
		off += n
	}
	if off != len(data) {
		return nil, fmt.Errorf("node snapshot: %d trailing bytes", len(data)-off)
	}
	return parts, nil
}

// restoreEngines builds engines in the state a node snapshot holds, with the
// snapshot's own partition count.
func restoreEngines(cfg matcher.Config, data []byte) (*engines, error) {
	parts, err := splitSnapshot(data)
	if err != nil {
		return nil, err
	}
	e, err := newEngines(cfg, len(parts))
	if err != nil {
		return nil, err
	}
	for i, b := range parts {
		if err := e.parts[i].Restore(b); err != nil {
			return nil, fmt.Errorf("node snapshot: partition %d: %w", i, err)
		}
	}
	return e, nil
}
