package risk

import (
	"runtime"
	"testing"
	"time"

	"github.com/ringex/ringex/matcher"
)

// BenchmarkMatchSlots takes the match stage's memory traffic apart, on
// one goroutine, so that nothing but the arm differs: the stream is
// written into a ring's slots a batch of 4,096 at a time (as the
// pipeline's writer fills them while the stages wait), then each arm's
// engine applies the batch from its own slots, and then its events are
// read. Every arm gets each batch in turn, so all of them run in the same
// milliseconds of a shared machine; each reports the CPU time of its match
// loop per command (arm-ns/op):
//
//   - hot: the events go to a buffer that stays in the cache, not the slot;
//   - slot: into the slot, the rest spilled only beyond pipeInline (the
//     pipeline's and the node's match stage);
//   - spillall: as slot, with the spill buffer's header written on every
//     command (the pipeline benchmark before 2026-12-06);
//   - pad768: as slot, with slots padded from 752 to 768 bytes, a whole
//     number of cache lines;
//   - p4hold and p4route: partition 0 of 4, which applies a quarter of the
//     commands: reading each slot's Hold and then its route, or the route
//     first and the Hold only for its own (node's partition.match).
//
// docs/performance.md, "the pipeline with match partitions", has a run.
func BenchmarkMatchSlots(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmds := benchCmds()
	const batch = 4096
	names := []string{"hot", "slot", "spillall", "pad768", "p4hold", "p4route"}
	arms := make([]*slotArm, len(names))
	for i := range arms {
		arms[i] = &slotArm{slots: make([]pipeSlot, pipeCapacity), spill: make([][]matcher.Event, pipeCapacity)}
	}
	arms[3].padded = make([]paddedSlot, pipeCapacity)
	reset := func() {
		for _, a := range arms {
			a.e = benchEngines(b, 1)[0]
		}
	}
	reset()
	b.ResetTimer()
	for done, k, seq := 0, 0, int64(0); done < b.N; {
		n := min(batch, b.N-done, len(cmds)-k)
		for i, a := range arms {
			a.run(i, cmds[k:k+n], seq)
		}
		seq, done, k = seq+int64(n), done+n, k+n
		if k == len(cmds) {
			k = 0
			b.StopTimer()
			reset() // fresh books each lap, as the other benchmarks
			b.StartTimer()
		}
	}
	for i, a := range arms {
		b.ReportMetric(float64(a.cpu.Nanoseconds())/float64(b.N), names[i]+"-ns/op")
	}
}

type paddedSlot struct {
	pipeSlot
	_ [16]byte
}

type slotArm struct {
	slots   []pipeSlot
	padded  []paddedSlot // arm pad768's
	spill   [][]matcher.Event
	hot     [pipeInline]matcher.Event
	scratch []matcher.Event
	e       *matcher.Engine
	cpu     time.Duration
	sink    int64
}

// run is arm a (BenchmarkMatchSlots' names[arm]) on cmds, the slots from
// ring sequence seq on.
func (a *slotArm) run(arm int, cmds []matcher.Command, seq int64) {
	const mask = pipeCapacity - 1
	slot := func(i int) *pipeSlot {
		if a.padded != nil {
			return &a.padded[(seq+int64(i))&mask].pipeSlot
		}
		return &a.slots[(seq+int64(i))&mask]
	}
	for i := range cmds { // the writer
		s := slot(i)
		s.cmd, s.hold, s.nEvents = cmds[i], Hold{}, 0
	}
	t0 := threadCPU()
	for i := range cmds {
		s, j := slot(i), (seq+int64(i))&mask
		switch arm {
		case 4, 5: // partition 0 of 4
			var r int
			if arm == 4 {
				if s.hold.Reason != matcher.ReasonNone && s.cmd.Kind != matcher.KindReplace {
					continue
				}
				r = matcher.Route(&s.cmd, 4)
			} else if r = matcher.Route(&s.cmd, 4); r == 0 && s.hold.Reason != matcher.ReasonNone && s.cmd.Kind != matcher.KindReplace {
				continue
			}
			if r != 0 {
				continue
			}
		}
		a.scratch = a.e.Apply(&s.cmd, a.scratch[:0])
		events := s.events[:]
		if arm == 0 {
			events = a.hot[:]
		}
		n := copy(events, a.scratch)
		s.nEvents = int32(len(a.scratch))
		if arm == 2 || len(a.scratch) > n {
			a.spill[j] = append(a.spill[j][:0], a.scratch[n:]...)
		}
	}
	a.cpu += threadCPU() - t0
	for i := range cmds { // the stage after
		s := slot(i)
		for k := range min(int(s.nEvents), pipeInline) {
			a.sink += s.events[k].LeavesQty
		}
	}
}
