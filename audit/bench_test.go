package audit

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// benchCommands is the size of the benchmark journal: big enough that a
// pass is dominated by steady-state work, small enough (116 MB) to sit in
// the page cache, so the figures are CPU, not disk.
const benchCommands = 1 << 20

var benchJournal struct {
	once sync.Once
	dir  string
	cmds []matcher.Command
}

// benchDir journals benchCommands commands of the loadGen mix once per
// process, in 64 MiB segments as a node does.
func benchDir(b *testing.B) (string, []matcher.Command) {
	benchJournal.once.Do(func() {
		dir, err := os.MkdirTemp("", "ringex-replay-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchJournal.dir = filepath.Join(dir, "journal")
		benchJournal.cmds = newLoadGen(99, 8, 8).commands(benchCommands)
		writeJournal(b, benchJournal.dir, benchJournal.cmds, journal.DefaultSegmentBytes)
	})
	return benchJournal.dir, benchJournal.cmds
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchJournal.dir != "" {
		os.RemoveAll(filepath.Dir(benchJournal.dir))
	}
	os.Exit(code)
}

// reportRate reports commands per second over b.N passes of n commands,
// and the CPU time per command (all threads) since cpu0.
func reportRate(b *testing.B, n int, cpu0 int64) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mcmd/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/float64(b.N), "ns/cmd")
	if cpu0 != 0 {
		b.ReportMetric(float64(processCPUNs()-cpu0)/float64(n)/float64(b.N), "cpu-ns/cmd")
	}
}

// BenchmarkReplay: one op is one pass over the whole journal. The stages
// are measured apart: reading (journal.Read: framing and CRC-32C), then
// decoding too, then the full replay through the matcher (what verify and
// trail do before they write anything); apply alone is the matcher fed
// commands from memory.
func BenchmarkReplay(b *testing.B) {
	dir, cmds := benchDir(b)
	v := testVenue(b)
	src, err := openSource(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := processCPUNs()
		for b.Loop() {
			n := 0
			if err := journal.Read(dir, 1, func(int64, []byte) error { n++; return nil }); err != nil || n != len(cmds) {
				b.Fatal(n, err)
			}
		}
		reportRate(b, len(cmds), cpu0)
	})
	b.Run("read+decode", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := processCPUNs()
		var c matcher.Command
		for b.Loop() {
			if err := journal.Read(dir, 1, func(_ int64, rec []byte) error { return c.Decode(rec) }); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, len(cmds), cpu0)
	})
	// The node's partitioning (2 in the default config), serial on one
	// goroutine and in parallel on one goroutine per partition (plus the
	// reader's), and one partition through the parallel pipeline.
	for _, tc := range []struct {
		name       string
		partitions int
		parallel   bool
	}{{"serial", v.Partitions, false}, {"parallel", v.Partitions, true}, {"parallel-1-partition", 1, true}} {
		b.Run("read+decode+apply/"+tc.name, func(b *testing.B) {
			defer func(f func(int) bool) { parallelReplay = f }(parallelReplay)
			parallelReplay = func(int) bool { return tc.parallel }
			b.ReportAllocs()
			cpu0 := processCPUNs()
			for b.Loop() {
				st, err := startAt(src, v, tc.partitions, false, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := run(src, st, runOpts{}, func(*matcher.Command, []matcher.Event, *captured) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, len(cmds), cpu0)
		})
	}
	b.Run("apply", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := processCPUNs()
		for b.Loop() {
			e, _ := newEngines(v.spec(), v.Partitions)
			for i := range cmds {
				e.apply(&cmds[i])
			}
		}
		reportRate(b, len(cmds), cpu0)
	})
}

// BenchmarkVerify is what an operator waits for: `ringex replay verify`
// end to end on the benchmark journal (summary included, no checkpoints).
func BenchmarkVerify(b *testing.B) {
	dir, cmds := benchDir(b)
	v := testVenue(b)
	b.ReportAllocs()
	cpu0 := processCPUNs()
	for b.Loop() {
		r, err := Verify(VerifyOptions{Dir: dir, Venue: v})
		if err != nil || !r.OK() || r.Records != int64(len(cmds)) {
			b.Fatal(err, r.Problems)
		}
	}
	reportRate(b, len(cmds), cpu0)
}

// BenchmarkTrail writes the whole trail (every command and event, about
// 2.3 rows per command) as CSV and as JSON lines to io.Discard.
func BenchmarkTrail(b *testing.B) {
	dir, cmds := benchDir(b)
	v := testVenue(b)
	for _, format := range []string{"csv", "json"} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPUNs()
			var rows int64
			for b.Loop() {
				st, err := Trail(io.Discard, TrailOptions{Dir: dir, Venue: v, Format: format})
				if err != nil {
					b.Fatal(err)
				}
				rows = st.Rows
			}
			reportRate(b, len(cmds), cpu0)
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrow/s")
		})
	}
}
