package feed

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// Origin is where a feed's numbering begins: the state after journal
// record Seq, and how the journal's commands after it are applied to that
// state as the node's pipeline applies them. Every Replayer of one feed
// (the node's, its recovery service's, each replay of an old range) is
// given the same Origin, so that they number alike.
//
// At the journal's start (Seq 0) the feed is session 1 from seq 1. After
// a snapshot of record Seq it is a new session, Seq+1 (mod 2^32), from
// seq 1: above any session a feed numbered from an earlier origin gave by
// that record, since each record begins at most one session and the
// snapshot's record (a checkpoint) begins none. So a receiver of that
// earlier feed sees a later session, and takes a snapshot.
type Origin struct {
	Seq int64
	// State returns a fresh copy of the matcher partitions in the state
	// after record Seq, built as the node builds them, and the step that
	// applies one journaled command to them as the node's pipeline does
	// (with pre-trade risk, risk.State.Step: a refused order reaches no
	// engine), appending the events the publish stage hands on for it.
	State     func() (matcher.Partitions, Step, error)
	Symbols   []uint32 // every symbol id, ascending: what a snapshot lists
	MaxOrders int      // sizes the translator's table of resting orders
}

// Step applies one journaled command and appends its events to out.
type Step func(cmd *matcher.Command, out []matcher.Event) []matcher.Event

// JournalStart is the origin at a journal's start for engines of cfg
// (the node's matcher config) in partitions partitions, with no risk
// stage: every command goes to the engines (matcher.Partitions.Apply).
func JournalStart(cfg matcher.Config, partitions int) Origin {
	var syms []uint32
	for _, s := range cfg.Symbols {
		syms = append(syms, s.ID)
	}
	slices.Sort(syms)
	return Origin{Symbols: syms, MaxOrders: cfg.MaxOrders, State: func() (matcher.Partitions, Step, error) {
		parts, err := matcher.NewPartitions(cfg, partitions)
		if err != nil {
			return nil, nil, err
		}
		return parts, func(cmd *matcher.Command, out []matcher.Event) []matcher.Event { return parts.Apply(cmd, out) }, nil
	}}
}

// Session is the feed session that begins at the origin.
func (o Origin) Session() uint32 { return uint32(o.Seq + 1) }

// Replayer rebuilds the feed from a journal: it applies the journal's
// commands after its origin to the origin's state and translates their
// events, so every message it gives is the one the live feed gave (or
// gives) with the same session and seq. It moves forward only; a range it
// has passed is produced again by a new Replayer. Not safe for concurrent
// use.
type Replayer struct {
	dir    string
	origin Origin
	parts  matcher.Partitions
	step   Step
	tr     *Translator
	seq    int64          // the last journal record applied
	at     journal.Resume // where that record ended: the next Advance reads on from there
	evs    []matcher.Event
	msgs   []Message
	cmd    matcher.Command

	// HoldToDurable stops each Advance at the journal's DURABLE mark
	// (journal.DurableSeq), so that a follower of a live node's journal
	// puts on the feed only what the journal has made durable.
	HoldToDurable bool
}

// NewReplayer returns a replayer of the journal in dir at origin o.
func NewReplayer(dir string, o Origin) (*Replayer, error) {
	parts, step, err := o.State()
	if err != nil {
		return nil, fmt.Errorf("feed replay of %s from seq %d: %w", dir, o.Seq, err)
	}
	maxOrders := o.MaxOrders
	if maxOrders == 0 {
		maxOrders = 1 << 12 // the table grows as orders rest
	}
	tr := NewTranslator(min(maxOrders, 1<<16))
	if o.Seq > 0 {
		tr.resume(o.Session(), parts, o.Symbols)
	}
	return &Replayer{dir: dir, origin: o, parts: parts, step: step, tr: tr, seq: o.Seq,
		evs: make([]matcher.Event, 0, 256), msgs: make([]Message, 0, 256)}, nil
}

// JournalSeq is the last journal record applied.
func (r *Replayer) JournalSeq() int64 { return r.seq }

// Next returns the session and the seq of the next message.
func (r *Replayer) Next() (uint32, uint64) { return r.tr.Next() }

var errStop = errors.New("feed: stop")

// errGone says that the journal no longer holds the records right after
// the origin: the feed cannot be replayed from its start.
var errGone = errors.New("the journal no longer holds them")

// check refuses a journal that begins after the record after the origin.
func (o Origin) check(dir string) error {
	first, err := journal.FirstSeq(dir)
	if err != nil {
		return fmt.Errorf("feed replay: %w", err)
	}
	if first > o.Seq+1 {
		return fmt.Errorf("feed replay: journal %s begins at seq %d: the feed session %d is numbered from the record after seq %d: %w",
			dir, first, o.Session(), o.Seq, errGone)
	}
	return nil
}

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
	if r.seq >= limit {
		return nil // nothing to read: a follower that polls reads no file
	}
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
	if r.seq == r.origin.Seq {
		if err := r.origin.check(r.dir); err != nil {
			return err
		}
	}
	_, err := journal.ScanFrom(r.dir, r.seq+1, r.at, func(rec journal.Record) error {
		if rec.Seq > limit {
			return errStop
		}
		if err := r.cmd.DecodeAt(rec.Data, rec.Seq); err != nil {
			return fmt.Errorf("journal %s: %w", r.dir, err)
		}
		r.evs = r.step(&r.cmd, r.evs[:0])
		r.msgs = r.tr.Command(&r.cmd, r.evs, r.msgs[:0])
		r.seq, r.at = rec.Seq, rec.At()
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
	return Snapshot(r.parts, r.origin.Symbols, session, next, r.seq, out)
}

// Translator hands over the replayer's translator, in the state after the
// last record applied, to a Publisher that carries the feed on from there.
// The replayer must not be used after.
func (r *Replayer) Translator() *Translator {
	t := r.tr
	r.tr = nil
	return t
}
