package risk

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ringex/ringex/matcher"
)

// benchStream is an order flow every account can afford: large deposits
// first, then the property tests' mix with no funds records and no
// limits that refuse, so risk does its full work on every order. It
// spreads the mix's three symbols over benchSymbols, each order's symbol
// s on one of s, s+3, s+6 and s+9 (its cancels and replaces follow it), so
// that each of up to four match partitions owns a share of every one of
// the mix's symbols; its cancels and replaces name their orders by the
// order ids of this stream's sequence.
func benchStream(n int) []matcher.Command {
	var cmds []matcher.Command
	seq := int64(0)
	for a := uint32(1); a <= testAccounts; a++ {
		for y := uint32(0); y <= benchSymbols; y++ {
			seq++
			c, _ := matcher.Funds{Account: a, Symbol: y, Amount: 1 << 40}.Command()
			c.Seq = seq
			cmds = append(cmds, c)
		}
	}
	type placed struct {
		seq    int64
		symbol uint32
	}
	orders := map[int64]placed{} // by the mix's sequence
	spread := func(c *matcher.Command) uint32 {
		return c.Symbol + testSymbols*uint32(c.Seq*0x9E3779B1>>7%(benchSymbols/testSymbols))
	}
	for _, c := range stream(5, n*2) {
		if len(cmds) >= n {
			break
		}
		switch c.Kind {
		case matcher.KindDeposit, matcher.KindWithdraw, matcher.KindEndOfDay,
			matcher.KindBlock, matcher.KindUnblock, matcher.KindRiskLimits, matcher.KindRiskSymbol, matcher.KindRiskFee:
			continue // funds, blocks and rules that refuse orders: the stream is orders only
		}
		seq++
		switch c.Kind {
		case matcher.KindNew:
			o := placed{seq, spread(&c)}
			orders[c.Seq], c.Symbol = o, o.symbol
		case matcher.KindCancel, matcher.KindReplace:
			o := orders[c.OrderID] // the mix's cancels and replaces name new orders
			c.OrderID, c.Symbol = o.seq, o.symbol
		default:
			c.Symbol = spread(&c)
		}
		c.Seq = seq
		cmds = append(cmds, c)
	}
	return cmds
}

// benchSymbols is how many symbols benchStream trades: the mix's, four
// times over.
const benchSymbols = 4 * testSymbols

func benchConfig() Config {
	cfg := testConfig(ModeSpot)
	cfg.Default, cfg.Account = Limits{MaxOrderQty: 1000, MaxOrderNotional: 1 << 40, MaxOpenOrders: 1 << 20}, nil
	syms := cfg.Symbols
	cfg.Symbols = nil
	for y := range benchSymbols {
		cfg.Symbols = append(cfg.Symbols, syms[y%testSymbols]) // symbol y+1 trades as the mix's (y%3)+1
	}
	return cfg
}

// benchEngines is partitions fresh engines for benchStream's symbols.
func benchEngines(tb testing.TB, partitions int) matcher.Partitions {
	tb.Helper()
	var cfg matcher.Config
	for y := uint32(1); y <= benchSymbols; y++ {
		cfg.Symbols = append(cfg.Symbols, matcher.SymbolSpec{ID: y})
	}
	ps, err := matcher.NewPartitions(cfg, partitions)
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// BenchmarkMatcherAlone and BenchmarkMatcherRiskSpot run the same
// stream, one partition, one goroutine: the matcher's cost, and the
// matcher's plus risk's check and settle (docs/performance.md has the
// ratio; scripts/riskbench.sh runs them). Besides ops/s (wall clock) they
// report cpu-ns/op, the CPU time of the benchmark's thread, which on a
// shared machine leaves out the time it waited for a core.
func BenchmarkMatcherAlone(b *testing.B) { benchRun(b, false) }

func BenchmarkMatcherRiskSpot(b *testing.B) { benchRun(b, true) }

var benchCmds = sync.OnceValue(func() []matcher.Command { return benchStream(1 << 16) })

func benchRun(b *testing.B, withRisk bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmds := benchCmds()
	b.ReportAllocs()
	var evs []matcher.Event
	var s *State
	var engines matcher.Partitions
	reset := func() {
		engines = benchEngines(b, 1)
		s, _ = New(benchConfig())
	}
	reset()
	var c matcher.Command // one copy for the run: a copy per op would escape, and allocate
	b.ResetTimer()
	cpu := -threadCPU()
	for i := 0; i < b.N; i++ {
		k := i % len(cmds)
		if k == 0 && i > 0 {
			b.StopTimer()
			cpu += threadCPU()
			reset()
			cpu -= threadCPU()
			b.StartTimer()
		}
		c = cmds[k]
		if withRisk {
			evs, _ = s.Step(&c, engines, evs[:0])
		} else {
			evs = engines.Apply(&c, evs[:0])
		}
	}
	cpu += threadCPU()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// threadCPU is the CPU time the calling OS thread has used
// (CLOCK_THREAD_CPUTIME_ID), as matcher's benchmarks read it.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// BenchmarkRiskOnly is risk's own work on the same stream, with no
// matcher: Check, Apply, the matcher's events for the command (recorded
// once, from a run of Step) and Done, one goroutine. Its cpu-ns/op is what
// the risk stage and the settle half together cost a command.
func BenchmarkRiskOnly(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmds := benchCmds()
	evs, from := benchEvents(b, cmds)
	b.ReportAllocs()
	s, _ := New(benchConfig())
	var c matcher.Command
	b.ResetTimer()
	cpu := -threadCPU()
	for i := 0; i < b.N; i++ {
		k := i % len(cmds)
		if k == 0 && i > 0 {
			b.StopTimer()
			cpu += threadCPU()
			s, _ = New(benchConfig())
			cpu -= threadCPU()
			b.StartTimer()
		}
		c = cmds[k]
		h := s.Check(&c)
		s.Apply(&c, h)
		if h.Reason == matcher.ReasonNone {
			for j := from[k]; j < from[k+1]; j++ {
				s.Event(&evs[j])
			}
		}
		s.Done()
	}
	cpu += threadCPU()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// benchEvents is the matcher's events for each of cmds, in order, as
// Step produces them: command k's are evs[from[k]:from[k+1]].
func benchEvents(tb testing.TB, cmds []matcher.Command) (evs []matcher.Event, from []int) {
	s, _ := New(benchConfig())
	engines := benchEngines(tb, 1)
	for i := range cmds {
		c := cmds[i]
		from = append(from, len(evs))
		var h Hold
		n := len(evs)
		if evs, h = s.Step(&c, engines, evs); h.Reason != matcher.ReasonNone {
			evs = evs[:n] // the refusal, which the settle half does not see
		}
	}
	return evs, append(from, len(evs))
}
