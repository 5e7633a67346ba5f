package audit

import (
	"errors"
	"fmt"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// Problem is one thing wrong with a journal, with where it is.
type Problem struct {
	Seq    int64  // the record it concerns; 0 when none
	File   string // the segment (or snapshot) file
	Offset int64  // byte offset in the uncompressed file; -1 when unknown
	What   string
}

func (p *Problem) Error() string {
	s := ""
	if p.File != "" {
		s = p.File
		if p.Offset >= 0 {
			s += fmt.Sprintf(" at offset %d", p.Offset)
		}
		s += ": "
	}
	if p.Seq > 0 {
		s += fmt.Sprintf("seq %d: ", p.Seq)
	}
	return s + p.What
}

// asProblem turns a journal read error into a located Problem.
func asProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ce *journal.CorruptError
	if errors.As(err, &ce) {
		return &Problem{File: ce.File, Offset: ce.Offset, What: ce.Reason}
	}
	return &Problem{Offset: -1, What: err.Error()}
}

var errStop = errors.New("audit: stop")

// start says where a replay begins.
type start struct {
	engines *engines  // state before seq
	seq     int64     // first record to read
	snap    *snapFile // the snapshot it came from; nil: from the beginning
}

// startAt prepares the state for a replay: fresh engines from seq 1, or,
// with fromSnapshot, the newest sound snapshot that usable accepts (falling
// back to the beginning when none does).
func startAt(src *source, v *Venue, p int, fromSnapshot bool, usable func(*snapFile) bool) (start, error) {
	cfg := v.EngineConfig()
	if fromSnapshot {
		if err := src.loadSnapshots(); err != nil {
			return start{}, err
		}
		if sf, e := src.snapshotBefore(cfg, usable); sf != nil {
			return start{engines: e, seq: sf.seq + 1, snap: sf}, nil
		}
	}
	e, err := newEngines(cfg, p)
	if err != nil {
		return start{}, err
	}
	return start{engines: e, seq: 1}, nil
}

// visit is called for every command replayed, with the events it caused.
// Returning errStop ends the replay cleanly.
type visit func(cmd *matcher.Command, evs []matcher.Event) error

// bound ends a replay before the first record past it; zero fields are open.
type bound struct {
	toSeq int64 // the last record to apply
	toNs  int64 // stop before the first record stamped later than this
}

// run reads the records from st.seq on, decodes and applies each within b,
// and calls fn. Damage is a *Problem naming the file and offset.
func run(src *source, st start, b bound, fn visit) error {
	var cmd matcher.Command
	err := journal.Read(src.dir, st.seq, func(seq int64, rec []byte) error {
		if err := cmd.Decode(rec); err != nil {
			file, off := src.position(seq)
			return &Problem{Seq: seq, File: file, Offset: off, What: "undecodable command: " + err.Error()}
		}
		if cmd.Seq != seq {
			file, off := src.position(seq)
			return &Problem{Seq: seq, File: file, Offset: off, What: fmt.Sprintf("record holds command sequence %d", cmd.Seq)}
		}
		if (b.toSeq > 0 && seq > b.toSeq) || (b.toNs != 0 && cmd.TimeNs > b.toNs) {
			return errStop
		}
		return fn(&cmd, st.engines.apply(&cmd))
	})
	if err == nil || errors.Is(err, errStop) {
		return nil
	}
	p := asProblem(err)
	src.locate(p)
	return p
}

// locate adds the seq to damage found at a frame boundary of a segment.
func (s *source) locate(p *Problem) {
	if p.Seq != 0 || p.Offset < segHeaderBytes || (p.Offset-segHeaderBytes)%recordBytes != 0 {
		return
	}
	for _, seg := range s.segs {
		if seg.path == p.File {
			p.Seq = seg.first + (p.Offset-segHeaderBytes)/recordBytes
		}
	}
}

// recordTime reads the ingress time of record seq; 0 when it cannot.
func recordTime(src *source, seq int64) int64 {
	var ns int64
	journal.Read(src.dir, seq, func(_ int64, rec []byte) error {
		var c matcher.Command
		if c.Decode(rec) == nil {
			ns = c.TimeNs
		}
		return errStop
	})
	return ns
}

// writeSnap stores e's state as the node's snapshot after seq.
func writeSnap(dir string, seq int64, e *engines) error {
	return journal.WriteSnapshot(dir, seq, e.hash(), e.snapshot())
}
