package audit

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/risk"
)

// VerifyOptions say which journal to verify and how.
type VerifyOptions struct {
	Dir        string
	Venue      *Venue
	Partitions int // the first pass's partition count; 0: Venue.Partitions
	// FromSnapshot starts from the oldest sound snapshot instead of seq 1,
	// for a journal whose early segments have been moved away.
	FromSnapshot bool
	// AllowTornTail accepts bytes after the last whole record of the last
	// segment (what a crash mid-write leaves) as a note, not a problem.
	AllowTornTail bool
	Progress      io.Writer // a terminal for the progress line; nil: none
}

// maxProblems bounds the problems a report keeps; the rest are counted.
const maxProblems = 100

// Report is what Verify found.
type Report struct {
	Dir               string
	Segments          int // segment files (a segment both hot and archived counts once)
	Archived          int // of them, read from the compressed archive
	Copies            int // archived copies of hot segments, checked on their own
	Records           int64
	FirstSeq, LastSeq int64
	FirstNs, LastNs   int64
	Kinds             map[string]int64 // commands by kind
	Events, Fills     int64            // events replay produced; fills (two per trade)
	Symbols           map[uint32]int64 // commands per symbol id
	Brokers           map[uint32]int64 // commands per account
	TimeStepsBack     int64            // commands stamped earlier than the one before
	Passes            []int            // partition counts replayed with
	Checkpoints       int64            // checkpoint records
	CheckpointsOK     int64            // checkpoint hashes recomputed and equal
	Snapshots         int              // snapshot files
	SnapshotsOK       int              // restored, self-consistent and equal to the replayed state
	StartSnapshot     int64            // seq of the snapshot verification started from; 0: seq 1
	Notes             []string         // things worth knowing that are not problems
	Problems          []Problem        // the first maxProblems, in the order found
	ProblemCount      int
	Elapsed           time.Duration
}

// OK reports whether everything held.
func (r *Report) OK() bool { return r.ProblemCount == 0 }

func (r *Report) problem(p Problem) {
	r.ProblemCount++
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, p)
	}
}

// Verify reads every segment and snapshot of the journal in o.Dir, checks
// CRCs and sequence continuity (through journal.Scan) of every copy the
// journal keeps, hot and archived (see checkCopies), replays every command
// through the matcher, recomputes every checkpoint's state hash and compares
// every snapshot with the replayed state. The error is for a folder that is
// not a journal at all; everything wrong inside one is in the report.
func Verify(o VerifyOptions) (*Report, error) {
	t0 := time.Now()
	src, err := openSource(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := src.loadSnapshots(); err != nil {
		return nil, err
	}
	r := &Report{Dir: o.Dir, Segments: len(src.segs), Snapshots: len(src.snaps),
		Kinds: map[string]int64{}, Symbols: map[uint32]int64{}, Brokers: map[uint32]int64{}}
	for _, s := range src.segs {
		if s.Hot == "" {
			r.Archived++
		}
	}
	v := &verifier{o: o, src: src, r: r, cfg: o.Venue.spec(), otherP: map[int]int64{}}
	p := o.Partitions
	if p == 0 {
		p = o.Venue.Partitions
	}
	v.checkSnapshots()
	v.checkCopies()
	// Before the records: beside a live node the mark only ever names
	// records already written.
	if v.durable, err = journal.DurableSeq(o.Dir); err != nil {
		// Open refuses a damaged mark (only --start-from-last-good sets
		// it aside), so verify reports it as a problem too.
		r.problem(Problem{File: filepath.Join(o.Dir, journal.DurableName), Offset: -1, What: err.Error()})
	}
	if v.pass(p, 0, true) {
		for _, q := range slices.Sorted(mapsKeys(v.otherP)) {
			if q != p {
				v.pass(q, v.otherP[q], false)
			}
		}
	}
	for _, sf := range src.snaps {
		if sf.damage == "" && sf.seq > r.LastSeq && r.Records > 0 {
			r.problem(Problem{File: sf.path, Offset: -1, Seq: sf.seq, What: fmt.Sprintf("snapshot is after the journal's last record %d", r.LastSeq)})
		}
	}
	r.Elapsed = time.Since(t0)
	return r, nil
}

func mapsKeys(m map[int]int64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type verifier struct {
	o                VerifyOptions
	src              *source
	r                *Report
	cfg              engineSpec
	snapP            map[int64]int // snapshot seq -> its partition count, for sound snapshots
	kinds            [256]int64
	symbols, brokers []int64       // commands per id
	otherP           map[int]int64 // partition counts met in checkpoints and snapshots -> last seq they need
	durable          int64         // the journal's DURABLE mark: 0 when none
}

// checkSnapshots checks each snapshot file on its own: sound file, state
// that restores, and a header hash equal to the restored state's.
func (v *verifier) checkSnapshots() {
	v.snapP = map[int64]int{}
	for _, sf := range v.src.snaps {
		if sf.damage != "" {
			v.r.problem(Problem{File: sf.path, Offset: -1, Seq: sf.seq, What: "damaged snapshot: " + sf.damage})
			continue
		}
		e, err := restoreEngines(v.cfg, sf.data)
		if err != nil {
			v.r.problem(Problem{File: sf.path, Offset: journal.SnapshotDataOffset, Seq: sf.seq, What: "snapshot does not restore: " + err.Error()})
			continue
		}
		if h := e.hashes(); h[0] != sf.hash && h[1] != sf.hash && h[2] != sf.hash {
			v.r.problem(Problem{File: sf.path, Offset: journal.SnapshotHashOffset, Seq: sf.seq,
				What: fmt.Sprintf("snapshot header hash %016x, its restored state hashes to %016x", sf.hash, h[0])})
			continue
		}
		v.snapP[sf.seq] = e.P()
		v.otherP[e.P()] = max(v.otherP[e.P()], sf.seq)
	}
}

// pass replays the journal with p partitions up to seq until (0: the end).
// The primary pass also gathers the summary. It reports whether the
// journal read cleanly.
func (v *verifier) pass(p int, until int64, primary bool) bool {
	r := v.r
	r.Passes = append(r.Passes, p)
	from, ok := v.startPass(p, primary)
	if !ok {
		return false
	}
	if !primary && from.seq > until && until > 0 {
		return true
	}
	snaps := map[int64]*snapFile{}
	for i := range v.src.snaps {
		if sf := &v.src.snaps[i]; v.snapP[sf.seq] == p && sf.seq >= from.seq {
			snaps[sf.seq] = sf
		}
	}
	pending := map[int64][3]uint64{} // checkpoint seq -> replayed hashes (engines.hashes)
	if from.snap != nil {
		// The snapshot is the state at its checkpoint: its hash record, if
		// it follows, is checked against the restored state.
		pending[from.snap.seq] = from.engines.hashes()
	}
	var prog *progress
	if v.o.Progress != nil {
		label := "verify"
		if !primary {
			label = fmt.Sprintf("verify (%d partitions)", p)
		}
		prog = v.src.progress(v.o.Progress, label)
	}
	capture := func(c *matcher.Command) capKind {
		var k capKind
		if checkpointOf(c) {
			k |= capHash
		}
		if snaps[c.Seq] != nil {
			k |= capSnapshot
		}
		return k
	}
	var prevNs int64
	lastSeq := from.seq - 1
	tail, err := run(v.src, from, runOpts{bound: bound{toSeq: until}, capture: capture}, func(c *matcher.Command, evs []matcher.Event, cp *captured) error {
		prog.tick(c.Seq)
		lastSeq = c.Seq
		if primary {
			v.count(c, evs, prevNs)
			prevNs = max(prevNs, c.TimeNs)
		}
		if checkpointOf(c) {
			pending[c.Seq] = cp.stateHashes()
			if primary {
				r.Checkpoints++
			}
		}
		if s, h, q, ok := checkpointHashOf(c); ok {
			if s >= from.seq-1 {
				v.checkHash(c, s, h, q, p, pending, primary, from.engines.rs)
			}
		}
		if sf := snaps[c.Seq]; sf != nil {
			if !bytes.Equal(cp.snapshot(), sf.data) && !bytes.Equal(cp.legacySnapshot(), sf.data) {
				r.problem(Problem{File: sf.path, Offset: journal.SnapshotDataOffset, Seq: sf.seq,
					What: fmt.Sprintf("snapshot differs from the state replayed from the journal (%d partitions)", p)})
			} else {
				r.SnapshotsOK++
			}
		}
		return nil
	})
	prog.done()
	if primary {
		v.summarize()
	}
	if err != nil {
		r.problem(*asProblem(err))
		return false
	}
	if primary {
		v.checkTail(tail, lastSeq)
		v.checkDurable(lastSeq)
		if n := len(pending); n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d checkpoint(s) have no hash record yet (the node stopped before writing it)", n))
		}
	}
	return true
}

// startPass picks where a pass starts: seq 1, or the oldest usable snapshot.
func (v *verifier) startPass(p int, primary bool) (start, bool) {
	first := v.src.segs[0]
	var refused string // why the last snapshot tried was not used
	if v.o.FromSnapshot {
		for i := range v.src.snaps {
			sf := &v.src.snaps[i]
			if v.snapP[sf.seq] != p || sf.seq+1 < first.First {
				continue
			}
			e, err := restoreEngines(v.cfg, sf.data)
			if err == nil {
				if primary {
					v.r.StartSnapshot = sf.seq
				}
				return start{engines: e, seq: sf.seq + 1, snap: sf}, true
			}
			refused = fmt.Sprintf("; the snapshot at seq %d is unusable: %v", sf.seq, err)
		}
	}
	if first.First != 1 {
		v.r.problem(Problem{File: segPath(first), Offset: 0, Seq: first.First,
			What: fmt.Sprintf("the journal starts at seq %d: the segments holding seqs 1..%d are missing (or use --from-snapshot)%s", first.First, first.First-1, refused)})
		return start{}, false
	}
	e, err := newEngines(v.cfg, p)
	if err != nil {
		v.r.problem(Problem{Offset: -1, What: err.Error()})
		return start{}, false
	}
	return start{engines: e, seq: 1}, true
}

// count gathers the summary. Per command: plain array increments, so the
// summary costs little next to the matcher.
func (v *verifier) count(c *matcher.Command, evs []matcher.Event, prevNs int64) {
	r := v.r
	if r.Records == 0 {
		r.FirstSeq, r.FirstNs = c.Seq, c.TimeNs
	}
	r.Records++
	r.LastSeq, r.LastNs = c.Seq, max(r.LastNs, c.TimeNs)
	if c.TimeNs < prevNs {
		r.TimeStepsBack++
	}
	v.kinds[c.Kind]++
	v.symbols = bump(v.symbols, c.Symbol)
	v.brokers = bump(v.brokers, c.Account)
	r.Events += int64(len(evs))
	for i := range evs {
		if evs[i].Type == matcher.EvFill {
			r.Fills++
		}
	}
}

// bump counts id in a dense table (ids are small: positions in the config).
func bump(t []int64, id uint32) []int64 {
	if id == 0 {
		return t
	}
	if int(id) >= len(t) {
		if id > 1<<20 {
			return t // not an id the venue could have; the matcher rejected it
		}
		t = append(t, make([]int64, int(id)+1-len(t))...)
	}
	t[id]++
	return t
}

// summarize moves the dense counters into the report.
func (v *verifier) summarize() {
	for k, n := range v.kinds {
		if n > 0 {
			v.r.Kinds[matcher.Kind(k).String()] += n
		}
	}
	for id, n := range v.symbols {
		if n > 0 {
			v.r.Symbols[uint32(id)] += n
		}
	}
	for id, n := range v.brokers {
		if n > 0 {
			v.r.Brokers[uint32(id)] += n
		}
	}
}

func (v *verifier) checkHash(c *matcher.Command, s int64, h uint64, q, p int, pending map[int64][3]uint64, primary bool, rs *risk.State) {
	r := v.r
	if q != p {
		if primary {
			v.otherP[q] = max(v.otherP[q], c.Seq)
		}
		return
	}
	file, off := v.src.place(c.Seq)
	got, ok := pending[s]
	switch {
	case !ok:
		r.problem(Problem{Seq: c.Seq, File: file, Offset: off,
			What: fmt.Sprintf("checkpoint hash record names seq %d, which is not a checkpoint before it", s)})
	case got[0] != h && got[1] != h && got[2] != h:
		what := fmt.Sprintf("state hash at checkpoint %d: the journal records %016x, replay computes %016x (%d partitions)", s, h, got[0], p)
		if err := node.RiskModeMismatch(v.src.dir, rs); err != nil { // the node's explanation of a journal written with another risk mode
			what += ": " + err.Error()
		}
		r.problem(Problem{Seq: c.Seq, File: file, Offset: off, What: what})
	default:
		r.CheckpointsOK++
	}
	delete(pending, s)
}

// checkTail reports bytes after the last whole record: journal.Read drops
// them silently, as the node does on start, but an auditor should know.
func (v *verifier) checkTail(tail journal.Tail, lastSeq int64) {
	if tail.Bytes == 0 {
		return
	}
	what := fmt.Sprintf("torn tail: %d bytes after the last whole record (seq %d); a crash mid-write leaves this, and the node truncates it on start", tail.Bytes, lastSeq)
	if v.o.AllowTornTail {
		v.r.Notes = append(v.r.Notes, tail.File+": "+what)
		return
	}
	v.r.problem(Problem{File: tail.File, Offset: tail.Offset, Seq: lastSeq + 1, What: what + " (--allow-torn-tail accepts it)"})
}

// checkDurable reports records the DURABLE mark says were durable (so
// possibly acknowledged) and the journal no longer holds: the node refuses
// to start on such a journal (journal.DurableName), so verify does not call
// it OK either.
func (v *verifier) checkDurable(lastSeq int64) {
	if v.durable <= lastSeq {
		return
	}
	v.r.problem(Problem{File: filepath.Join(v.o.Dir, journal.DurableName), Offset: -1, Seq: lastSeq + 1, What: fmt.Sprintf(
		"the journal ends at seq %d, but its DURABLE mark shows seqs up to %d were durable (fsynced, possibly acknowledged): records %d..%d are missing, and the node refuses to start (journal.startFromLastGood starts it without them)",
		lastSeq, v.durable, lastSeq+1, v.durable)})
}

// checkCopies checks the copies that replay passes over, as the node would
// meet them: replay reads a segment's hot file where there is one, so the
// archived copy of each such segment is verified whole on its own and must
// hold the same records (up to the next segment). The archive never holds
// the last hot segment, which the journal writes, or anything after it: the
// node refuses to start on such a folder, and so does verify.
func (v *verifier) checkCopies() {
	segs := v.src.segs
	lastHot := int64(0)
	for _, s := range segs {
		if s.Hot != "" {
			lastHot = s.First
		}
	}
	if lastHot == 0 {
		v.r.Notes = append(v.r.Notes, "no hot segment, only the archive: it verifies on its own, but the node does not start on such a folder (its last sequence is unknown)")
	}
	for i, s := range segs {
		if s.Archived == "" {
			continue
		}
		if lastHot > 0 && s.First >= lastHot {
			v.r.problem(Problem{File: s.Archived, Offset: -1, Seq: s.First, What: fmt.Sprintf(
				"the archive holds this segment, at or after the last hot segment (seq %d): the hot folder is missing segments, and the node refuses to start", lastHot)})
			continue
		}
		if s.Hot == "" {
			continue // replay reads it
		}
		v.r.Copies++
		last, err := journal.CheckFile(s.Archived)
		if err != nil {
			v.r.problem(*asProblem(err))
			continue
		}
		if want := segs[i+1].First - 1; last != want {
			v.r.problem(Problem{File: s.Archived, Offset: -1, Seq: s.First, What: fmt.Sprintf(
				"archived copy holds seqs %d..%d; its hot copy %s holds %d..%d", s.First, last, s.Hot, s.First, want)})
		}
	}
}
