package audit

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// DiffOptions name two journals to compare (say, a primary's and its
// standby's) and the venue both were written under.
type DiffOptions struct {
	DirA, DirB string
	Venue      *Venue
	Partitions int // 0: Venue.Partitions
}

// DiffResult says where two journals part. Record differences are byte
// differences of journaled commands; outcome differences are differences in
// the events that replaying each side produces (which follow from the
// records, so they start at or after the first record difference).
type DiffResult struct {
	Compared         int64 // seqs present on both sides
	LastA, LastB     int64 // last seq of each side
	FirstRecordDiff  int64 // 0: none
	CmdA, CmdB       matcher.Command
	FirstOutcomeDiff int64 // 0: none
	EventsA, EventsB []matcher.Event
	HashA, HashB     uint64 // state hashes after the last compared seq
	ProblemA         *Problem
	ProblemB         *Problem
}

// Same reports whether the journals are identical, record for record.
func (d *DiffResult) Same() bool {
	return d.FirstRecordDiff == 0 && d.FirstOutcomeDiff == 0 && d.LastA == d.LastB && d.ProblemA == nil && d.ProblemB == nil
}

type rawChunk struct {
	seqs []int64
	recs [][matcher.CommandSize]byte
	err  error // set on the last chunk of a failed read
}

const diffChunk = 4096

// stream reads a journal into chunks on its own goroutine; closing stop
// ends it early.
func stream(src *source, stop <-chan struct{}) <-chan rawChunk {
	ch := make(chan rawChunk, 4)
	go func() {
		defer close(ch)
		cur := rawChunk{}
		send := func() bool {
			select {
			case ch <- cur:
				cur = rawChunk{}
				return true
			case <-stop:
				return false
			}
		}
		_, err := journal.Scan(src.dir, 1, func(r journal.Record) error {
			seq, rec := r.Seq, r.Data
			if len(rec) != matcher.CommandSize {
				return &Problem{Seq: seq, File: r.File, Offset: r.Offset, What: fmt.Sprintf("record of %d bytes, want %d", len(rec), matcher.CommandSize)}
			}
			if cur.seqs == nil {
				cur.seqs = make([]int64, 0, diffChunk)
				cur.recs = make([][matcher.CommandSize]byte, 0, diffChunk)
			}
			cur.seqs = append(cur.seqs, seq)
			cur.recs = append(cur.recs, [matcher.CommandSize]byte(rec))
			if len(cur.seqs) == diffChunk && !send() {
				return errStop
			}
			return nil
		})
		if errors.Is(err, errStop) {
			return
		}
		if err != nil {
			cur.err = asProblem(err)
		}
		if len(cur.seqs) > 0 || cur.err != nil {
			send()
		}
	}()
	return ch
}

// side is one journal being replayed in step with the other.
type side struct {
	ch   <-chan rawChunk
	cur  rawChunk
	i    int
	done bool
	prob *Problem
	eng  *engines
	last int64
}

func (s *side) next() (int64, *[matcher.CommandSize]byte, bool) {
	for !s.done && s.i >= len(s.cur.seqs) {
		if s.cur.err != nil {
			s.prob = asProblem(s.cur.err)
			s.done = true
			break
		}
		c, ok := <-s.ch
		if !ok {
			s.done = true
			break
		}
		s.cur, s.i = c, 0
	}
	if s.done {
		return 0, nil, false
	}
	s.i++
	return s.cur.seqs[s.i-1], &s.cur.recs[s.i-1], true
}

// Diff replays two journals side by side and reports the first seq where
// their records, or the outcomes of replaying them, differ.
func Diff(o DiffOptions) (*DiffResult, error) {
	srcA, err := openSource(o.DirA)
	if err != nil {
		return nil, fmt.Errorf("A: %w", err)
	}
	srcB, err := openSource(o.DirB)
	if err != nil {
		return nil, fmt.Errorf("B: %w", err)
	}
	p := o.Partitions
	if p == 0 {
		p = o.Venue.Partitions
	}
	stop := make(chan struct{})
	defer close(stop)
	a := &side{ch: stream(srcA, stop)}
	b := &side{ch: stream(srcB, stop)}
	for _, s := range []*side{a, b} {
		if s.eng, err = newEngines(o.Venue.spec(), p); err != nil {
			return nil, err
		}
	}
	d := &DiffResult{}
	var ca, cb matcher.Command
	var evA []matcher.Event
	for {
		sa, ra, okA := a.next()
		sb, rb, okB := b.next()
		if okA {
			d.LastA = sa
		}
		if okB {
			d.LastB = sb
		}
		if !okA || !okB {
			d.drain(a, b)
			break
		}
		d.Compared++
		if err := decodeAt(&ca, ra, sa, srcA); err != nil {
			a.prob = err
			break
		}
		if err := decodeAt(&cb, rb, sb, srcB); err != nil {
			b.prob = err
			break
		}
		if d.FirstRecordDiff == 0 && (sa != sb || !bytes.Equal(ra[:], rb[:])) {
			d.FirstRecordDiff, d.CmdA, d.CmdB = sa, ca, cb
		}
		evA = append(evA[:0], a.eng.apply(&ca)...)
		evB := b.eng.apply(&cb)
		if d.FirstOutcomeDiff == 0 && !sameEvents(evA, evB) {
			d.FirstOutcomeDiff = sa
			d.EventsA, d.EventsB = append([]matcher.Event(nil), evA...), append([]matcher.Event(nil), evB...)
		}
	}
	d.ProblemA, d.ProblemB = a.prob, b.prob
	d.HashA, d.HashB = a.eng.hash(), b.eng.hash()
	return d, nil
}

// drain reads the rest of the longer side, to learn its last seq and any
// damage in it.
func (d *DiffResult) drain(a, b *side) {
	for _, s := range []*side{a, b} {
		for {
			seq, _, ok := s.next()
			if !ok {
				break
			}
			if s == a {
				d.LastA = seq
			} else {
				d.LastB = seq
			}
		}
	}
}

func decodeAt(c *matcher.Command, rec *[matcher.CommandSize]byte, seq int64, src *source) *Problem {
	p := decodeRecord(c, journal.Record{Seq: seq, Data: rec[:]})
	if p != nil {
		p.File, p.Offset = src.place(seq)
	}
	return p
}

func sameEvents(a, b []matcher.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
