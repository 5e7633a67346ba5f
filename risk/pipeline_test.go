package risk

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/ringbuffer"
)

// The node's pipeline shape with the journal off: a writer claims ring
// slots and copies commands in; the risk stage runs Check on every slot;
// the match stage applies the ones Check accepted; the last stage settles
// each slot's events (Apply, Event, Done) as the node's publish stage
// does, then says how far it has settled. Each stage runs on its own
// goroutine over the real ring (package ringbuffer), with the node's
// handling of a refusal that depends on balances (node/risk.go,
// riskHandler): if neither Exact nor Final vouches for it, the risk stage
// ends its batch before that slot, or, at the start of one, waits until
// the settle stage has settled the slot before, and checks again.
//
// Without risk the shape is the node's with risk.mode none: the match
// stage, then a publish stage that reads every event.

// pipeSlot is one ring slot, as the node's: the command, the risk stage's
// Hold, and the first events of the command; the rest spill into the
// spill store of the partition that applied it (pipePart.spill, one
// buffer per slot, grown only during the first lap; the node's is a map
// under a lock, once per spilled command).
type pipeSlot struct {
	cmd     matcher.Command
	hold    Hold
	nEvents int32 // all of the command's events: those beyond pipeInline spilled
	events  [pipeInline]matcher.Event
}

const pipeInline = 4

// stageMeter is one stage goroutine's CPU time inside its handler, read
// from its own thread (CLOCK_THREAD_CPUTIME_ID): the goroutine is locked
// to its thread at its first batch. The time a stage spends waiting for
// the stage before it is not in it: it is the work a core of its own
// would do. Its goroutine only, until the ring is closed.
type stageMeter struct {
	locked  bool
	cpu     time.Duration
	batches int64
}

func (m *stageMeter) begin() time.Duration {
	if !m.locked {
		runtime.LockOSThread() // for the goroutine's life: the thread ends with it
		m.locked = true
	}
	return threadCPU()
}

func (m *stageMeter) end(t0 time.Duration) {
	m.cpu += threadCPU() - t0
	m.batches++
}

type pipe struct {
	ring    *ringbuffer.Ring[pipeSlot]
	state   *State // nil: no risk stage
	stage   *Stage
	engines matcher.Partitions
	parts   []*pipePart // one match goroutine each, as the node's partitions
	mask    int64
	settled atomic.Int64 // ring sequence the last stage has settled up to
	holds   []Hold       // if not nil, every Hold by ring sequence (tests)
	sink    int64        // what the publish stage read, so that it reads

	risk, last stageMeter
}

// pipePart is one match goroutine: partition index of the engines, as
// the node's partition and matchHandler. Allocated apart, with padding,
// so that the fields it writes on every command share no cache line with
// another goroutine's.
type pipePart struct {
	_       [cacheLine]byte
	p       *pipe
	index   int
	scratch []matcher.Event
	spill   [][]matcher.Event // events beyond a slot's inline ones, by ring sequence & mask
	meter   stageMeter
	_       [cacheLine]byte
}

const pipeCapacity = ringbuffer.DefaultCapacity

// newPipe starts a pipeline over engines, one match goroutine each, and,
// withRisk, a fresh state of cfg. from, if not nil, is a
// pipeline before it with as many partitions, whose spill stores it takes
// (so that a benchmark's laps after the first grow none).
func newPipe(tb testing.TB, withRisk bool, cfg Config, engines matcher.Partitions, from *pipe) *pipe {
	p := &pipe{engines: engines, mask: pipeCapacity - 1}
	p.settled.Store(-1)
	var stages []ringbuffer.Stage
	if withRisk {
		var err error
		if p.state, err = New(cfg); err != nil {
			tb.Fatal(err)
		}
		p.stage = NewStage(p.state, p)
		stages = append(stages, ringbuffer.Stage{Name: "risk", Handlers: []ringbuffer.Handler{pipeRisk{p}}})
	}
	match := ringbuffer.Stage{Name: "match"}
	for i := range engines {
		m := &pipePart{p: p, index: i}
		if from != nil {
			m.spill = from.parts[i].spill
		} else {
			m.spill = make([][]matcher.Event, pipeCapacity)
		}
		p.parts = append(p.parts, m)
		match.Handlers = append(match.Handlers, m)
	}
	stages = append(stages, match, ringbuffer.Stage{Name: "settle", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(p.settleBatch)}})
	r, err := ringbuffer.New[pipeSlot](ringbuffer.Options{Capacity: pipeCapacity, Writers: 1}, stages...)
	if err != nil {
		tb.Fatal(err)
	}
	p.ring = r
	r.Start()
	return p
}

// send runs cmds through the pipeline from the calling goroutine, the
// one writer.
func (p *pipe) send(cmds []matcher.Command) error {
	for i := range cmds {
		seq, err := p.ring.Claim()
		if err != nil {
			return err
		}
		s := p.ring.Slot(seq)
		s.cmd, s.hold, s.nEvents = cmds[i], Hold{}, 0
		p.ring.Publish(seq)
	}
	return nil
}

// The pipe as the risk stage's decision sees it (Pipeline).
func (p *pipe) Settled() int64                              { return p.settled.Load() }
func (p *pipe) Failed() bool                                { return p.ring.Err() != nil }
func (p *pipe) Target(cmd *matcher.Command) (id, cum int64) { return p.engines.Target(cmd) }

// pipeRisk is the risk stage's handler, as the node's riskHandler.
type pipeRisk struct{ p *pipe }

func (h pipeRisk) Handle(lo, hi int64) { h.HandleUpTo(lo, hi) }

func (h pipeRisk) HandleUpTo(lo, hi int64) int64 {
	p := h.p
	t0 := p.risk.begin()
	defer p.risk.end(t0)
	for seq := lo; seq <= hi; seq++ {
		s := p.ring.Slot(seq)
		hold, last, ok := p.stage.Decide(&s.cmd, seq, lo, hi)
		if !ok {
			return last
		}
		s.hold = hold
		if p.holds != nil {
			p.holds[seq] = hold
		}
		if hold.Reason == matcher.ReasonNone {
			continue
		}
		if ev, ok := RefusalEvent(&s.cmd, hold); ok {
			s.events[0], s.nEvents = ev, 1
		}
	}
	return hi
}

// Handle is the match stage of partition m.index, as the node's
// matchHandler and partition.match: it applies the slots of its own
// partition that the risk stage accepted (a refused replace: its order's
// answer) and skips the others; the end of the day and a block, which
// every partition applies, leave all their events in each partition's
// spill store.
func (m *pipePart) Handle(lo, hi int64) {
	t0 := m.meter.begin()
	p, count := m.p, len(m.p.engines)
	e := p.engines[m.index]
	for seq := lo; seq <= hi; seq++ {
		s := p.ring.Slot(seq)
		r := matcher.Route(&s.cmd, count)
		if r != m.index && r != matcher.RouteAll {
			continue // another partition's: its Hold's cache line is not read, as the node's partition.match
		}
		refused := s.hold.Reason != matcher.ReasonNone
		if r == matcher.RouteAll {
			m.scratch = m.scratch[:0]
			if !refused {
				m.scratch = e.Apply(&s.cmd, m.scratch)
			}
			m.spill[seq&p.mask] = append(m.spill[seq&p.mask][:0], m.scratch...)
			continue
		}
		if refused && s.cmd.Kind != matcher.KindReplace {
			continue
		}
		if refused {
			m.scratch = e.RefuseReplace(&s.cmd, s.hold.Reason, m.scratch[:0])
		} else {
			m.scratch = e.Apply(&s.cmd, m.scratch[:0])
		}
		n := copy(s.events[:], m.scratch)
		s.nEvents = int32(len(m.scratch))
		if len(m.scratch) > n {
			m.spill[seq&p.mask] = append(m.spill[seq&p.mask][:0], m.scratch[n:]...)
		}
	}
	m.meter.end(t0)
}

// settleBatch is the last stage: with risk, the settle half on each slot's
// events, inline then spilled, as the node's publish stage; without, a
// read of every event.
func (p *pipe) settleBatch(lo, hi int64) {
	t0 := p.last.begin()
	for seq := lo; seq <= hi; seq++ {
		s := p.ring.Slot(seq)
		if p.state != nil {
			p.state.Apply(&s.cmd, s.hold)
		}
		n := int(s.nEvents)
		for i := range min(n, pipeInline) {
			p.event(&s.events[i])
		}
		if n > pipeInline {
			spilled := p.parts[matcher.PartitionOf(s.cmd.Symbol, len(p.parts))].spill[seq&p.mask]
			for i := range spilled {
				p.event(&spilled[i])
			}
		}
		if matcher.Route(&s.cmd, len(p.parts)) == matcher.RouteAll {
			for _, m := range p.parts {
				spilled := m.spill[seq&p.mask]
				for i := range spilled {
					p.event(&spilled[i])
				}
			}
		}
		if p.state != nil {
			p.state.Done()
		}
	}
	if p.state != nil {
		p.settled.Store(hi)
	}
	p.last.end(t0)
}

func (p *pipe) event(ev *matcher.Event) {
	if p.state != nil {
		p.state.Event(ev)
		return
	}
	p.sink += ev.LeavesQty
}

// TestPipelineDecidesAsSequential runs a stream with every kind of
// refusal (the property tests' mix, with deposits, withdrawals, blocks and
// rules) through the stage goroutines over the real ring, with one, two
// and four match partitions, and wants every Hold, the end state and the
// books of the sequential Step.
func TestPipelineDecidesAsSequential(t *testing.T) {
	cmds := stream(11, 4000)
	for _, parts := range []int{1, 2, 4} {
		want, wantEngines, wantHolds := run(t, ModeSpot, cmds, parts, matcher.STPNone, nil)
		p := newPipe(t, true, testConfig(ModeSpot), testEngines(t, parts, matcher.STPNone), nil)
		p.holds = make([]Hold, len(cmds))
		if err := p.send(cmds); err != nil {
			t.Fatal(err)
		}
		if err := p.ring.Close(); err != nil {
			t.Fatal(err)
		}
		for i := range cmds {
			if p.holds[i] != wantHolds[i] {
				t.Fatalf("%d partitions, seq %d: the pipeline decided %+v; sequentially %+v", parts, cmds[i].Seq, p.holds[i], wantHolds[i])
			}
		}
		if !bytes.Equal(want.Snapshot(nil), p.state.Snapshot(nil)) {
			t.Fatalf("%d partitions: the pipeline's end state differs from the sequential one", parts)
		}
		if p.engines.Hash() != wantEngines.Hash() {
			t.Fatalf("%d partitions: the pipeline's books differ from the sequential ones", parts)
		}
		t.Logf("%d partitions: %d refusals waited for the settle stage", parts, p.stage.Waits())
	}
}

// BenchmarkPipelineRiskSpot and BenchmarkPipelineAlone run the stream of
// BenchmarkMatcherRiskSpot through the pipeline: risk check, match and
// settle on three goroutines, or match and publish on two; the ones named
// 2 and 4 run that many match goroutines over the same ring, as the node
// does with match.partitions (each applies its own symbols' commands and
// skips the others). Besides ops/s (wall clock: on a machine with fewer
// cores than goroutines, mostly how the stages share them) each reports
// every stage's CPU time inside its handler per command of the stream
// (each match goroutine's divided by all the commands, not its own;
// match-cpu-ns/op is the largest of them), the writer's, and
// stage-ops/s: 1e9 over the slowest stage goroutine's, what the pipeline
// gives with a core per stage goroutine (scripts/riskbench.sh,
// docs/performance.md).
func BenchmarkPipelineRiskSpot(b *testing.B)  { benchPipe(b, true, 1) }
func BenchmarkPipelineRiskSpot2(b *testing.B) { benchPipe(b, true, 2) }
func BenchmarkPipelineRiskSpot4(b *testing.B) { benchPipe(b, true, 4) }
func BenchmarkPipelineAlone(b *testing.B)     { benchPipe(b, false, 1) }
func BenchmarkPipelineAlone2(b *testing.B)    { benchPipe(b, false, 2) }
func BenchmarkPipelineAlone4(b *testing.B)    { benchPipe(b, false, 4) }

func benchPipe(b *testing.B, withRisk bool, partitions int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmds := benchCmds()
	b.ReportAllocs()
	var writer time.Duration
	var risk, last stageMeter
	match := make([]stageMeter, partitions)
	sum := func(m *stageMeter, n stageMeter) { m.cpu += n.cpu; m.batches += n.batches }
	var p *pipe
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, len(cmds))
		b.StopTimer()
		p = newPipe(b, withRisk, benchConfig(), benchEngines(b, partitions), p) // a fresh state and books each lap, as benchRun
		b.StartTimer()
		t0 := threadCPU()
		if err := p.send(cmds[:n]); err != nil {
			b.Fatal(err)
		}
		writer += threadCPU() - t0
		if err := p.ring.Close(); err != nil { // waits for every stage to pass the last slot
			b.Fatal(err)
		}
		done += n
		sum(&risk, p.risk)
		sum(&last, p.last)
		for i, m := range p.parts {
			sum(&match[i], m.meter)
		}
	}
	b.StopTimer()
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	slowest, stages, batches := perOp(last.cpu), 1+partitions, last.batches
	var matchMax float64
	for i := range match {
		if partitions > 1 {
			b.ReportMetric(perOp(match[i].cpu), fmt.Sprintf("match%d-cpu-ns/op", i))
		}
		matchMax = max(matchMax, perOp(match[i].cpu))
		batches += match[i].batches
	}
	slowest = max(slowest, matchMax)
	if withRisk {
		slowest, stages, batches = max(slowest, perOp(risk.cpu)), stages+1, batches+risk.batches
		b.ReportMetric(perOp(risk.cpu), "risk-cpu-ns/op")
	}
	b.ReportMetric(matchMax, "match-cpu-ns/op")
	b.ReportMetric(perOp(last.cpu), "publish-cpu-ns/op") // with risk: the settle half's
	b.ReportMetric(perOp(writer), "writer-cpu-ns/op")
	b.ReportMetric(float64(stages*b.N)/float64(batches), "ops/batch")
	b.ReportMetric(1e9/slowest, "stage-ops/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
