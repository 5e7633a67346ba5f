package risk

import (
	"bytes"
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
// Hold, and the first events of the command; the rest spill into
// pipe.spill, one buffer per slot, grown only during the first lap (the
// node's spill store is a map under a lock, once per spilled command).
type pipeSlot struct {
	cmd     matcher.Command
	hold    Hold
	nEvents int32
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
	engines matcher.Partitions
	scratch []matcher.Event   // the match stage's
	spill   [][]matcher.Event // events beyond a slot's inline ones, by ring sequence & mask
	mask    int64
	settled atomic.Int64 // ring sequence the last stage has settled up to
	waits   int64        // refusals that waited for the settle stage (risk stage only)
	holds   []Hold       // if not nil, every Hold by ring sequence (tests)
	sink    int64        // what the publish stage read, so that it reads

	risk, match, last stageMeter
}

const pipeCapacity = ringbuffer.DefaultCapacity

// newPipe starts a pipeline with a fresh book and, withRisk, a fresh
// state of cfg. spill, if not nil, is the spill store of a pipeline
// before it (so that a benchmark's laps after the first grow none).
func newPipe(tb testing.TB, withRisk bool, cfg Config, spill [][]matcher.Event) *pipe {
	if spill == nil {
		spill = make([][]matcher.Event, pipeCapacity)
	}
	p := &pipe{engines: testEngines(tb, 1, matcher.STPNone), spill: spill, mask: pipeCapacity - 1}
	p.settled.Store(-1)
	var stages []ringbuffer.Stage
	if withRisk {
		var err error
		if p.state, err = New(cfg); err != nil {
			tb.Fatal(err)
		}
		stages = append(stages, ringbuffer.Stage{Name: "risk", Handlers: []ringbuffer.Handler{pipeRisk{p}}})
	}
	stages = append(stages,
		ringbuffer.Stage{Name: "match", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(p.matchBatch)}},
		ringbuffer.Stage{Name: "settle", Handlers: []ringbuffer.Handler{ringbuffer.HandlerFunc(p.settleBatch)}})
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

// pipeRisk is the risk stage's handler, as the node's riskHandler.
type pipeRisk struct{ p *pipe }

func (h pipeRisk) Handle(lo, hi int64) { h.HandleUpTo(lo, hi) }

func (h pipeRisk) HandleUpTo(lo, hi int64) int64 {
	p := h.p
	t0 := p.risk.begin()
	defer p.risk.end(t0)
	for seq := lo; seq <= hi; seq++ {
		s := p.ring.Slot(seq)
		hold := p.state.Check(&s.cmd)
		if Reducible(&s.cmd, hold.Reason) {
			// Judged again on the difference, the match and settle
			// stages idle at seq-1 (CheckExact).
			if p.settled.Load() < seq-1 {
				if done, ok := p.wait(seq, lo, hi); !ok {
					return done
				}
			}
			id, cum := p.engines.Target(&s.cmd)
			hold = p.state.CheckExact(&s.cmd, id, cum)
		} else if ViewDependent(hold.Reason) {
			// As the node's: what vouches for the view is read before
			// the Check it vouches for, and only on a refusal.
			settled := p.settled.Load() >= seq-1
			exact := settled || p.state.Exact(s.cmd.OwnerID())
			hold = p.state.Check(&s.cmd)
			if ViewDependent(hold.Reason) && !exact && !p.state.Final(&s.cmd, hold.Reason) {
				if done, ok := p.wait(seq, lo, hi); !ok {
					return done
				}
				hold = p.state.Check(&s.cmd)
			}
		}
		s.hold = hold
		if p.holds != nil {
			p.holds[seq] = hold
		}
	}
	return hi
}

// wait is the node's riskWait: ok once the settle stage has settled
// seq-1, else what HandleUpTo returns (seq-1 to end the batch before
// seq, hi when a stage failed).
func (p *pipe) wait(seq, lo, hi int64) (done int64, ok bool) {
	if seq > lo {
		return seq - 1, false
	}
	p.waits++
	for i := 0; p.settled.Load() < seq-1; i++ {
		runtime.Gosched()
		if i%1024 == 1023 && p.ring.Err() != nil {
			return hi, false // a stage failed: the settle stage never gets there
		}
	}
	return 0, true
}

func (p *pipe) matchBatch(lo, hi int64) {
	t0 := p.match.begin()
	for seq := lo; seq <= hi; seq++ {
		s := p.ring.Slot(seq)
		if s.hold.Reason != matcher.ReasonNone {
			p.spill[seq&p.mask] = p.spill[seq&p.mask][:0]
			continue // refused: no matcher sees it
		}
		p.scratch = p.engines.Apply(&s.cmd, p.scratch[:0])
		n := copy(s.events[:], p.scratch)
		s.nEvents = int32(n)
		p.spill[seq&p.mask] = append(p.spill[seq&p.mask][:0], p.scratch[n:]...)
	}
	p.match.end(t0)
}

func (p *pipe) settleBatch(lo, hi int64) {
	t0 := p.last.begin()
	for seq := lo; seq <= hi; seq++ {
		s := p.ring.Slot(seq)
		inline, spilled := s.events[:s.nEvents], p.spill[seq&p.mask]
		if p.state == nil {
			for i := range inline {
				p.sink += inline[i].LeavesQty
			}
			for i := range spilled {
				p.sink += spilled[i].LeavesQty
			}
			continue
		}
		p.state.Apply(&s.cmd, s.hold)
		for i := range inline {
			p.state.Event(&inline[i])
		}
		for i := range spilled {
			p.state.Event(&spilled[i])
		}
		p.state.Done()
	}
	if p.state != nil {
		p.settled.Store(hi)
	}
	p.last.end(t0)
}

// TestPipelineDecidesAsSequential runs a stream with every kind of
// refusal (the property tests' mix, with deposits, withdrawals, blocks and
// rules) through the three stage goroutines over the real ring, and wants
// every Hold and the end state of the sequential Step.
func TestPipelineDecidesAsSequential(t *testing.T) {
	cmds := stream(11, 4000)
	want, _, wantHolds := run(t, ModeSpot, cmds, 1, matcher.STPNone, nil)
	p := newPipe(t, true, testConfig(ModeSpot), nil)
	p.holds = make([]Hold, len(cmds))
	if err := p.send(cmds); err != nil {
		t.Fatal(err)
	}
	if err := p.ring.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range cmds {
		if p.holds[i] != wantHolds[i] {
			t.Fatalf("seq %d: the pipeline decided %+v; sequentially %+v", cmds[i].Seq, p.holds[i], wantHolds[i])
		}
	}
	if !bytes.Equal(want.Snapshot(nil), p.state.Snapshot(nil)) {
		t.Fatal("the pipeline's end state differs from the sequential one")
	}
	t.Logf("%d refusals waited for the settle stage", p.waits)
}

// BenchmarkPipelineRiskSpot and BenchmarkPipelineAlone run the stream of
// BenchmarkMatcherRiskSpot through the pipeline: risk check, match and
// settle on three goroutines, or match and publish on two. Besides ops/s
// (wall clock: on a machine with fewer cores than goroutines, mostly how
// the stages share them) each reports every stage's CPU time per command
// inside its handler, the writer's, and stage-ops/s: 1e9 over the slowest
// stage's, what the pipeline gives with a core per stage goroutine
// (scripts/riskbench.sh, docs/performance.md).
func BenchmarkPipelineRiskSpot(b *testing.B) { benchPipe(b, true) }

func BenchmarkPipelineAlone(b *testing.B) { benchPipe(b, false) }

func benchPipe(b *testing.B, withRisk bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmds := benchCmds()
	b.ReportAllocs()
	var writer time.Duration
	var risk, match, last stageMeter
	sum := func(m *stageMeter, n stageMeter) { m.cpu += n.cpu; m.batches += n.batches }
	var spill [][]matcher.Event
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, len(cmds))
		b.StopTimer()
		p := newPipe(b, withRisk, benchConfig(), spill) // a fresh state and book each lap, as benchRun
		spill = p.spill
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
		sum(&match, p.match)
		sum(&last, p.last)
	}
	b.StopTimer()
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	slowest, stages := max(perOp(match.cpu), perOp(last.cpu)), 2
	if withRisk {
		slowest, stages = max(slowest, perOp(risk.cpu)), 3
		b.ReportMetric(perOp(risk.cpu), "risk-cpu-ns/op")
	}
	b.ReportMetric(perOp(match.cpu), "match-cpu-ns/op")
	b.ReportMetric(perOp(last.cpu), "publish-cpu-ns/op") // with risk: the settle half's
	b.ReportMetric(perOp(writer), "writer-cpu-ns/op")
	b.ReportMetric(float64(stages*b.N)/float64(risk.batches+match.batches+last.batches), "ops/batch")
	b.ReportMetric(1e9/slowest, "stage-ops/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
