package audit

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/risk"
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
		return &Problem{Seq: ce.Seq, File: ce.File, Offset: ce.Offset, What: ce.Reason}
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
	cfg := v.spec()
	if fromSnapshot {
		if err := src.loadSnapshots(); err != nil {
			return start{}, err
		}
		if sf, e := src.snapshotBefore(cfg, usable); sf != nil {
			return start{engines: e, seq: sf.seq + 1, snap: sf}, nil
		}
	}
	if len(src.segs) > 0 && src.segs[0].First > 1 {
		first := src.segs[0].First
		what := "use --from-snapshot"
		if fromSnapshot {
			what = "and no sound snapshot at or after seq " + strconv.FormatInt(first-1, 10) + " to start from"
		}
		return start{}, &Problem{File: segPath(src.segs[0]), Offset: 0, Seq: first,
			What: fmt.Sprintf("the journal starts at seq %d: the segments holding seqs 1..%d are missing (%s)", first, first-1, what)}
	}
	e, err := newEngines(cfg, p)
	if err != nil {
		return start{}, err
	}
	return start{engines: e, seq: 1}, nil
}

// visit is called for every command replayed, in sequence order, with the
// events it caused and, when the capture function asked for it, the
// partitions' hashes or snapshots right after it. evs and cap are valid
// until visit returns. An error ends the replay and is returned.
type visit func(cmd *matcher.Command, evs []matcher.Event, cap *captured) error

// capKind asks the partitions for their state right after a command.
type capKind uint8

const (
	capHash     capKind = 1 << iota // each partition's Engine.Hash
	capSnapshot                     // each partition's Engine.Snapshot
)

// captured holds what a capKind asked for, indexed by partition, and the
// risk state's (rs nil: the venue has none).
type captured struct {
	hashes   []uint64
	snaps    [][]byte
	rs       *risk.State
	parts    matcher.Partitions // the engines, for the bindings (stateHashes)
	riskSnap []byte
}

// hash is the node's state hash of what was captured.
func (c *captured) hash() uint64 { return risk.CombineHash(matcher.CombineHashes(c.hashes), c.rs) }

// stateHashes are hash and its legacy forms (engines.hashes).
func (c *captured) stateHashes() [3]uint64 {
	ph := matcher.CombineHashes(c.hashes)
	if c.rs == nil {
		return [3]uint64{ph, ph, ph}
	}
	l := node.LegacyStateHashes(ph, c.parts, c.rs)
	return [3]uint64{risk.CombineHash(ph, c.rs), l[0], l[1]}
}

// legacySnapshot is snapshot with the risk state's frame as a version 1
// risk snapshot (risk.State.LegacySnapshot), as snapshot files written
// before version 3 hold it; nil without risk.
func (c *captured) legacySnapshot() []byte {
	if c.rs == nil {
		return nil
	}
	return matcher.FrameSnapshot(append(c.snaps[:len(c.snaps):len(c.snaps)], c.rs.LegacySnapshot(nil)))
}

// snapshot frames what was captured as the node's snapshot file holds it.
func (c *captured) snapshot() []byte {
	if c.rs == nil {
		return matcher.FrameSnapshot(c.snaps)
	}
	return matcher.FrameSnapshot(append(c.snaps[:len(c.snaps):len(c.snaps)], c.riskSnap))
}

// bound ends a replay before the first record past it; zero fields are open.
type bound struct {
	toSeq int64 // the last record to apply
	toNs  int64 // stop before the first record stamped later than this
}

// runOpts are the optional parts of a replay.
type runOpts struct {
	bound   bound
	capture func(cmd *matcher.Command) capKind // nil: nothing
}

// run replays the records from st.seq on within o.bound and visits each
// command with its events in sequence order. With cores to spare it runs in
// parallel the way the node matches: one goroutine reads and decodes chunks
// of commands, one per partition applies the commands of its own symbols to
// its own engine, and the caller's goroutine visits. When run returns,
// every goroutine has ended and st.engines holds the state after the last
// record applied. Damage is a *Problem naming the file and offset; a torn
// tail the read stopped at (which the node truncates on start) is returned
// for the caller to judge.
func run(src *source, st start, o runOpts, fn visit) (journal.Tail, error) {
	// The node's checks (node/riskvenue.go, node/symbolscale.go): a journal
	// written with another risk mode or cash unit replays differently, and
	// one written with another tick or lot size means other prices and
	// quantities. Made at the visit, after the record is applied: the
	// replay ends there all the same.
	check, scales, inner := node.RiskVenueCheck(st.engines.rs, st.seq), st.engines.scales, fn
	fn = func(cmd *matcher.Command, evs []matcher.Event, cap *captured) error {
		err := check(cmd)
		if err == nil && scales != nil {
			err = scales(cmd)
		}
		if err != nil {
			return &Problem{Seq: cmd.Seq, Offset: -1, What: err.Error()}
		}
		return inner(cmd, evs, cap)
	}
	if st.engines.rs == nil && parallelReplay(st.engines.P()) {
		// With risk, a command's check needs the settlements of every
		// command before it: one goroutine applies them in turn.
		return runParallel(src, st, o, fn)
	}
	return runSerial(src, st, o, fn)
}

// parallelReplay says whether to replay partitions on their own goroutines:
// only when there are cores for the reader and every partition. Measured
// on a 2-core machine (docs/performance.md), the hand-offs between
// goroutines cost more than two partitions gain.
var parallelReplay = func(partitions int) bool { return runtime.GOMAXPROCS(0) > partitions }

// runSerial reads, decodes and applies on the caller's goroutine.
func runSerial(src *source, st start, o runOpts, fn visit) (journal.Tail, error) {
	var cmd matcher.Command
	b := o.bound
	e := st.engines
	np := e.P()
	cap := captured{hashes: make([]uint64, np), snaps: make([][]byte, np), rs: e.rs, parts: e.parts}
	tail, err := journal.Scan(src.dir, st.seq, func(r journal.Record) error {
		if p := decodeRecord(&cmd, r); p != nil {
			return p
		}
		if (b.toSeq > 0 && r.Seq > b.toSeq) || (b.toNs != 0 && cmd.TimeNs > b.toNs) {
			return errStop
		}
		evs := e.apply(&cmd)
		var cp *captured
		if o.capture != nil {
			if k := o.capture(&cmd); k != 0 {
				for p, eng := range e.parts {
					if k&capHash != 0 {
						cap.hashes[p] = eng.Hash()
					}
					if k&capSnapshot != 0 {
						cap.snaps[p] = eng.Snapshot(nil)
					}
				}
				if k&capSnapshot != 0 && e.rs != nil {
					cap.riskSnap = e.rs.Snapshot(nil)
				}
				cp = &cap
			}
		}
		return fn(&cmd, evs, cp)
	})
	if errors.Is(err, errStop) {
		return journal.Tail{}, nil
	}
	if err != nil {
		return journal.Tail{}, asProblem(err)
	}
	return tail, nil
}

// decodeRecord decodes the command in r, or says what is wrong with it and
// where.
func decodeRecord(c *matcher.Command, r journal.Record) *Problem {
	err := c.DecodeAt(r.Data, r.Seq)
	if err == nil {
		return nil
	}
	what := err.Error()
	var re *matcher.RecordError
	if errors.As(err, &re) {
		what = re.What() // the Problem names the seq itself
	}
	return &Problem{Seq: r.Seq, File: r.File, Offset: r.Offset, What: what}
}

// runParallel runs a reader goroutine and one goroutine per partition.
func runParallel(src *source, st start, o runOpts, fn visit) (journal.Tail, error) {
	r := newRunner(st.engines, o)
	go r.read(src, st.seq)
	for p := range r.workers {
		go r.work(p)
	}
	err := r.visit(fn)
	close(r.quit)
	for range r.consumer { // let the reader see quit and end
	}
	r.wg.Wait()
	if err == nil {
		err = r.readErr
	}
	if errors.Is(err, errStop) {
		return journal.Tail{}, nil
	}
	if err != nil {
		return journal.Tail{}, asProblem(err)
	}
	return r.tail, nil
}

const (
	chunkCommands  = 1024
	chunksInFlight = 8
)

// chunk is a run of consecutive commands on their way through the stages.
type chunk struct {
	cmds []matcher.Command
	caps []capKind // per command; all zero when nothing is captured
	part []partOut // per partition
	done sync.WaitGroup
}

// partOut is what one partition produced for a chunk.
type partOut struct {
	events []matcher.Event
	ends   []int32 // per command of the chunk: end of its events in events
	hashes []uint64
	snaps  [][]byte
}

type runner struct {
	eng      *engines
	opts     runOpts
	free     chan *chunk
	workers  []chan *chunk
	consumer chan *chunk
	quit     chan struct{}
	wg       sync.WaitGroup
	readErr  error        // set by the reader before it closes consumer
	tail     journal.Tail // likewise
}

func newRunner(e *engines, o runOpts) *runner {
	p := e.P()
	r := &runner{eng: e, opts: o, free: make(chan *chunk, chunksInFlight), workers: make([]chan *chunk, p),
		consumer: make(chan *chunk, chunksInFlight), quit: make(chan struct{})}
	for i := range r.workers {
		r.workers[i] = make(chan *chunk, chunksInFlight)
	}
	for range chunksInFlight {
		c := &chunk{cmds: make([]matcher.Command, 0, chunkCommands), caps: make([]capKind, chunkCommands), part: make([]partOut, p)}
		for i := range c.part {
			c.part[i].ends = make([]int32, chunkCommands)
		}
		r.free <- c
	}
	r.wg.Add(1 + p)
	return r
}

// read decodes records into chunks and hands each to every worker and, in
// order, to the consumer.
func (r *runner) read(src *source, from int64) {
	defer r.wg.Done()
	defer func() {
		for _, w := range r.workers {
			close(w)
		}
		close(r.consumer)
	}()
	var cur *chunk
	send := func() bool {
		cur.done.Add(len(r.workers))
		for _, w := range r.workers {
			w <- cur
		}
		select {
		case r.consumer <- cur:
		case <-r.quit:
			return false
		}
		cur = nil
		return true
	}
	b := r.opts.bound
	tail, err := journal.Scan(src.dir, from, func(rec journal.Record) error {
		if cur == nil {
			select {
			case cur = <-r.free:
			case <-r.quit:
				return errStop
			}
			cur.cmds = cur.cmds[:0]
		}
		i := len(cur.cmds)
		cur.cmds = cur.cmds[:i+1]
		c := &cur.cmds[i]
		if p := decodeRecord(c, rec); p != nil {
			cur.cmds = cur.cmds[:i]
			return p
		}
		if (b.toSeq > 0 && rec.Seq > b.toSeq) || (b.toNs != 0 && c.TimeNs > b.toNs) {
			cur.cmds = cur.cmds[:i]
			return errStop
		}
		cur.caps[i] = 0
		if r.opts.capture != nil {
			cur.caps[i] = r.opts.capture(c)
		}
		if len(cur.cmds) == chunkCommands && !send() {
			return errStop
		}
		return nil
	})
	if cur != nil && len(cur.cmds) > 0 {
		send() // the commands before the end or the damage
	}
	r.readErr, r.tail = err, tail
}

// work applies the commands of partition p. Hot path.
func (r *runner) work(p int) {
	defer r.wg.Done()
	e := r.eng.parts[p]
	np := r.eng.P()
	for c := range r.workers[p] {
		out := &c.part[p]
		out.events, out.hashes, out.snaps = out.events[:0], out.hashes[:0], out.snaps[:0]
		for i := range c.cmds {
			cmd := &c.cmds[i]
			if r := matcher.Route(cmd, np); r == p || r == matcher.RouteAll {
				out.events = e.Apply(cmd, out.events)
			}
			out.ends[i] = int32(len(out.events))
			if k := c.caps[i]; k != 0 {
				if k&capHash != 0 {
					out.hashes = append(out.hashes, e.Hash())
				}
				if k&capSnapshot != 0 {
					out.snaps = append(out.snaps, e.Snapshot(nil))
				}
			}
		}
		c.done.Done()
	}
}

// visit hands each command to fn in order, then recycles its chunk.
func (r *runner) visit(fn visit) error {
	np := uint32(r.eng.P())
	var cap captured
	cap.hashes = make([]uint64, np)
	cap.snaps = make([][]byte, np)
	var every []matcher.Event // an every-partition command's events, partition by partition
	for c := range r.consumer {
		c.done.Wait()
		var hi, si int
		for i := range c.cmds {
			cmd := &c.cmds[i]
			r := matcher.Route(cmd, int(np))
			out := &c.part[max(r, 0)] // a command no partition applies has no events in any
			lo := int32(0)
			if i > 0 {
				lo = out.ends[i-1]
			}
			var cp *captured
			if k := c.caps[i]; k != 0 {
				for q := range c.part {
					if k&capHash != 0 {
						cap.hashes[q] = c.part[q].hashes[hi]
					}
					if k&capSnapshot != 0 {
						cap.snaps[q] = c.part[q].snaps[si]
					}
				}
				if k&capHash != 0 {
					hi++
				}
				if k&capSnapshot != 0 {
					si++
				}
				cp = &cap
			}
			evs := out.events[lo:out.ends[i]]
			if r == matcher.RouteAll {
				every = every[:0]
				for q := range c.part {
					from := int32(0)
					if i > 0 {
						from = c.part[q].ends[i-1]
					}
					every = append(every, c.part[q].events[from:c.part[q].ends[i]]...)
				}
				evs = every
			}
			if err := fn(cmd, evs, cp); err != nil {
				return err
			}
		}
		r.free <- c
	}
	return nil
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
