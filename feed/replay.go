package feed

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// Replayer rebuilds the feed from a journal: it applies the journal's
// commands from seq 1 to matcher partitions built as the node builds them
// and translates their events, so every message it gives is the one the
// live feed gave (or gives) with the same seq. It moves forward only; a
// range it has passed is produced again by a new Replayer. Not safe for
// concurrent use.
type Replayer struct {
	dir     string
	parts   matcher.Partitions
	symbols []uint32
	tr      *Translator
	seq     int64 // the last journal record applied
	evs     []matcher.Event
	msgs    []Message
	cmd     matcher.Command

	// HoldToDurable stops each Advance at the journal's DURABLE mark
	// (journal.DurableSeq), so that a follower of a live node's journal
	// puts on the feed only what the journal has made durable.
	HoldToDurable bool
}

// NewReplayer returns a replayer of the journal in dir at its start, with
// partitions engines of cfg (the node's matcher config and partition count).
func NewReplayer(dir string, cfg matcher.Config, partitions int) (*Replayer, error) {
	parts, err := matcher.NewPartitions(cfg, partitions)
	if err != nil {
		return nil, fmt.Errorf("feed replay of %s: %w", dir, err)
	}
	maxOrders := cfg.MaxOrders
	if maxOrders == 0 {
		maxOrders = 1 << 12 // the table grows as orders rest
	}
	var syms []uint32
	for _, s := range cfg.Symbols {
		syms = append(syms, s.ID)
	}
	slices.Sort(syms)
	return &Replayer{dir: dir, parts: parts, symbols: syms, tr: NewTranslator(min(maxOrders, 1<<16)),
		evs: make([]matcher.Event, 0, 256), msgs: make([]Message, 0, 256)}, nil
}

// JournalSeq is the last journal record applied.
func (r *Replayer) JournalSeq() int64 { return r.seq }

// Next returns the session and the seq of the next message.
func (r *Replayer) Next() (uint32, uint64) { return r.tr.Next() }

var errStop = errors.New("feed: stop")

// Advance applies the records after the last one applied, up to the end of
// the journal as it is now, and calls fn with the messages of each record
// (valid until fn returns) and the engines in the state after it. fn
// returning false stops after that record.
func (r *Replayer) Advance(fn func(msgs []Message, parts matcher.Partitions) bool) error {
	return r.AdvanceTo(math.MaxInt64, fn)
}

// AdvanceTo is Advance that applies no record after journal seq limit
// (the last record a live node has published: Server).
func (r *Replayer) AdvanceTo(limit int64, fn func(msgs []Message, parts matcher.Partitions) bool) error {
	if r.HoldToDurable {
		d, err := journal.DurableSeq(r.dir)
		if err != nil {
			return fmt.Errorf("feed replay: %w", err)
		}
		limit = min(limit, d)
	}
	if r.seq >= limit {
		return nil
	}
	if r.seq == 0 {
		first, err := journal.FirstSeq(r.dir)
		if err != nil {
			return fmt.Errorf("feed replay: %w", err)
		}
		if first > 1 {
			return fmt.Errorf("feed replay: journal %s begins at seq %d: the feed is numbered from seq 1, whose records are gone", r.dir, first)
		}
	}
	err := journal.Read(r.dir, r.seq+1, func(seq int64, rec []byte) error {
		if seq > limit {
			return errStop
		}
		if err := r.cmd.Decode(rec); err != nil {
			return fmt.Errorf("journal %s: seq %d: undecodable command: %w", r.dir, seq, err)
		}
		if r.cmd.Seq != seq {
			return fmt.Errorf("journal %s: seq %d holds command sequence %d", r.dir, seq, r.cmd.Seq)
		}
		r.evs = r.parts.Apply(&r.cmd, r.evs[:0])
		r.msgs = r.tr.Command(&r.cmd, r.evs, r.msgs[:0])
		r.seq = seq
		if fn != nil && !fn(r.msgs, r.parts) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("feed replay: %w", err)
	}
	return nil
}

// Snapshot appends to out the snapshot of every book in parts as they
// stand: a snapshot-start event, an Add for every resting order (symbols
// in ascending order, each as matcher.Engine.Resting lists it: bids best
// first, asks best first, oldest first), a snapshot-end event. Snapshot
// messages carry seq 0; start and end carry in Match the seq that follows
// the state they show.
func Snapshot(parts matcher.Partitions, symbols []uint32, session uint32, next uint64, journalSeq int64, out []Message) []Message {
	out = append(out, Message{Type: TypeSystem, Code: CodeSnapshotStart, Session: session, JournalSeq: journalSeq, Match: int64(next)})
	var rest []matcher.RestingOrder
	for _, sym := range symbols {
		rest = parts.Of(sym).Resting(sym, rest[:0])
		for _, o := range rest {
			out = append(out, Message{Type: TypeAdd, Session: session, JournalSeq: journalSeq, Symbol: sym,
				Side: sideOf(o.Side), OrderID: o.OrderID, Qty: o.Leaves, Price: o.Price})
		}
	}
	return append(out, Message{Type: TypeSystem, Code: CodeSnapshotEnd, Session: session, JournalSeq: journalSeq, Match: int64(next)})
}

// Snapshot appends to out the snapshot of every book after the last record
// applied (see Snapshot).
func (r *Replayer) Snapshot(out []Message) []Message {
	session, next := r.tr.Next()
	return Snapshot(r.parts, r.symbols, session, next, r.seq, out)
}

// Translator hands over the replayer's translator, in the state after the
// last record applied, to a Publisher that carries the feed on from there.
// The replayer must not be used after.
func (r *Replayer) Translator() *Translator {
	t := r.tr
	r.tr = nil
	return t
}
