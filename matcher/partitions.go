package matcher

import (
	"encoding/binary"
	"fmt"
)

// Partitions is the matching state of a whole node: P engines, partition p
// owning the symbols with id % P == p. The node gives each to its own match
// goroutine; its replay, a promoted standby's rebuild and `ringex replay`
// apply the journal to all of them in turn. The routing rule, the combined
// state hash and the snapshot framing are here, once, so that all of them
// agree.
type Partitions []*Engine

// MaxPartitions bounds P (config.Check, snapshot files).
const MaxPartitions = 64

// NewPartitions returns p fresh engines.
func NewPartitions(cfg Config, p int) (Partitions, error) {
	if p < 1 || p > MaxPartitions {
		return nil, fmt.Errorf("partitions %d: want 1 to %d", p, MaxPartitions)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ps := make(Partitions, p)
	for i := range ps {
		ps[i] = New(cfg)
	}
	return ps, nil
}

// PartitionOf is the partition, of p, that owns symbol. Hot path.
func PartitionOf(symbol uint32, p int) int { return int(symbol % uint32(p)) }

// What Route returns besides a partition.
const (
	RouteNone = -1 // no engine applies the command: the checkpoint records and the risk stage's
	RouteAll  = -2 // every partition's engine applies it, in partition order: the end of the day, an account binding
)

// Route is the routing rule: which of p match partitions applies cmd. It
// returns the partition that owns cmd's symbol (PartitionOf), RouteAll or
// RouteNone. Partitions.Apply, the node's match stage and audit's replays
// all route with it, control records included, so that they agree. A
// checkpoint is taken by every partition all the same, beside the routing
// (the node's match stage, audit's capture). Hot path.
func Route(cmd *Command, p int) int {
	switch cmd.Kind {
	case KindCheckpoint, KindCheckpointHash, KindDeposit, KindWithdraw, KindUnblock,
		KindRiskLimits, KindRiskSymbol, KindRiskFee, KindRiskVenue:
		return RouteNone
	case KindEndOfDay, KindBindAccount, KindBlock, KindBlockFirm, KindUnblockFirm, KindSTP:
		return RouteAll
	}
	return PartitionOf(cmd.Symbol, p)
}

// Of is the engine that owns symbol.
func (ps Partitions) Of(symbol uint32) *Engine { return ps[PartitionOf(symbol, len(ps))] }

// Apply applies cmd as the node's match stage does and appends its events
// to out: to the engine Route names, or, for RouteAll, to each engine in
// partition order, the order the publish stage hands their events on.
func (ps Partitions) Apply(cmd *Command, out []Event) []Event {
	switch r := Route(cmd, len(ps)); r {
	case RouteNone:
		return out
	case RouteAll:
		for _, e := range ps {
			out = e.Apply(cmd, out)
		}
		return out
	default:
		return ps[r].Apply(cmd, out)
	}
}

// Target is the working order that cmd (a replace or a cancel) names, as
// its engine finds it now: its order id and the quantity it has filled;
// id 0 when none works. Read only: call it only while no command is being
// applied to the engine (risk judges a refused replace again on the exact
// state this way, risk.State.CheckExact). Cold path.
func (ps Partitions) Target(cmd *Command) (id, cum int64) {
	if len(ps) == 0 {
		return 0, 0
	}
	return ps.Of(cmd.Symbol).Target(cmd)
}

// Target is Partitions.Target for the engine that owns cmd's symbol.
func (e *Engine) Target(cmd *Command) (id, cum int64) {
	ti, _, _ := e.findTarget(cmd)
	if ti == 0 {
		return 0, 0
	}
	return e.orders[ti].id, e.orders[ti].cum
}

// RefuseReplace answers replace cmd, which pre-trade risk refused for
// reason, from the engine that owns its symbol (Engine.RefuseReplace),
// and appends the answer to out. Hot path.
func (ps Partitions) RefuseReplace(cmd *Command, reason Reason, out []Event) []Event {
	return ps.Of(cmd.Symbol).RefuseReplace(cmd, reason, out)
}

// Hash is the state hash a checkpoint records: the engines' hashes combined
// in partition order (CombineHashes).
func (ps Partitions) Hash() uint64 {
	h := hashSeed(len(ps))
	for _, e := range ps {
		h = hashStep(h, e.Hash())
	}
	return h
}

// CombineHashes folds the state hashes of P engines, in partition order, into
// the one hash a checkpoint records. The node, the standby and `ringex
// replay` all combine with it, so they agree whenever their engines do.
func CombineHashes(hashes []uint64) uint64 {
	h := hashSeed(len(hashes))
	for _, x := range hashes {
		h = hashStep(h, x)
	}
	return h
}

const hashK = 0x9E3779B97F4A7C15

func hashSeed(p int) uint64 { return uint64(p) * hashK }

func hashStep(h, x uint64) uint64 {
	h = (h ^ x) * hashK
	return h ^ h>>29
}

// Snapshot is the node's snapshot of every partition (FrameSnapshot).
func (ps Partitions) Snapshot() []byte {
	parts := make([][]byte, len(ps))
	for i, e := range ps {
		parts[i] = e.Snapshot(nil)
	}
	return FrameSnapshot(parts)
}

// Restore loads a node snapshot taken with as many partitions as ps.
func (ps Partitions) Restore(data []byte) error {
	parts, err := SplitSnapshot(data)
	if err != nil {
		return err
	}
	if len(parts) != len(ps) {
		return fmt.Errorf("node snapshot holds %d partitions, not %d", len(parts), len(ps))
	}
	for i, b := range parts {
		if err := ps[i].Restore(b); err != nil {
			return fmt.Errorf("node snapshot: partition %d: %w", i, err)
		}
	}
	return nil
}

// FrameSnapshot frames the engine snapshots of P partitions, in partition
// order, as the node writes them beside the journal: [u32 P], then for each
// partition [u32 len][bytes], little-endian.
func FrameSnapshot(parts [][]byte) []byte {
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

// SplitSnapshot undoes FrameSnapshot. The parts alias data.
func SplitSnapshot(data []byte) ([][]byte, error) {
	le := binary.LittleEndian
	if len(data) < 4 {
		return nil, fmt.Errorf("node snapshot of %d bytes has no partition count", len(data))
	}
	p := le.Uint32(data)
	if p < 1 || p > MaxPartitions {
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
