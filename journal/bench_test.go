package journal

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/logtest"
)

// orderGen makes records that look like the exchange's encoded commands
// (matcher.Command's 100-byte layout, copied here because journal must not
// import matcher): contiguous seqs, nanosecond ingress times microseconds
// apart, a few hot symbols, a few hundred accounts, prices a few ticks around
// each symbol's mid, round-lot quantities, ClOrdIDs like "B01-000123"
// zero-padded to 24 bytes, and cancels and replaces naming earlier ids.
type orderGen struct {
	rng     *rand.Rand
	timeNs  int64
	mid     [65]int64
	nextID  [256]int64
	scratch [100]byte
}

func newOrderGen(seed uint64) *orderGen {
	g := &orderGen{rng: rand.New(rand.NewPCG(seed, 3)), timeNs: 1_767_225_600_000_000_000}
	for s := range g.mid {
		g.mid[s] = 1000 + int64(g.rng.IntN(100_000))
	}
	return g
}

func (g *orderGen) next(seq int64) []byte {
	b := g.scratch[:]
	clear(b)
	le := binary.LittleEndian
	g.timeNs += 1_000 + int64(g.rng.ExpFloat64()*20_000)
	sym := uint32(min(int(g.rng.ExpFloat64()*6), 63)) + 1 // a few symbols take most of the flow
	acct := uint32(g.rng.IntN(200)) + 1
	if g.rng.IntN(10) == 0 {
		g.mid[sym] += int64(g.rng.IntN(3)) - 1
	}
	price := g.mid[sym] + int64(g.rng.IntN(11)) - 5
	le.PutUint64(b[0:], uint64(seq))
	le.PutUint64(b[8:], uint64(g.timeNs))
	le.PutUint64(b[32:], uint64(100*(1+g.rng.IntN(20))))
	le.PutUint32(b[40:], sym)
	le.PutUint32(b[44:], acct)
	b[49] = byte(1 + g.rng.IntN(2)) // side
	b[50] = 1                       // limit
	b[51] = byte([]int{0, 0, 0, 1, 3}[g.rng.IntN(5)])
	g.nextID[acct]++
	copy(b[52:76], fmt.Appendf(nil, "B%02d-%06d", acct%100, g.nextID[acct]))
	switch k := g.rng.IntN(20); {
	case k < 14: // new order
		b[48] = 1
		le.PutUint64(b[24:], uint64(price))
	case k < 19: // cancel an earlier order of this account
		b[48] = 2
		le.PutUint64(b[32:], 0)
		copy(b[76:100], fmt.Appendf(nil, "B%02d-%06d", acct%100, max(1, g.nextID[acct]-int64(g.rng.IntN(50)))))
	default: // replace
		b[48] = 3
		le.PutUint64(b[24:], uint64(price))
		copy(b[76:100], fmt.Appendf(nil, "B%02d-%06d", acct%100, max(1, g.nextID[acct]-int64(g.rng.IntN(50)))))
	}
	return b
}

// writeRealistic fills dir with n realistic records, unsynced (setup only).
func writeRealistic(tb testing.TB, dir string, n int64, segmentBytes int64) {
	tb.Helper()
	j, err := Open(Options{Dir: dir, Sync: SyncNone, SegmentBytes: segmentBytes, Log: logtest.Discard()})
	if err != nil {
		tb.Fatal(err)
	}
	g := newOrderGen(42)
	for seq := int64(1); seq <= n; seq++ {
		j.Append(seq, g.next(seq))
		if seq%256 == 0 || seq == n {
			if err := j.Commit(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := j.Close(); err != nil {
		tb.Fatal(err)
	}
}

// archiveAll compresses every segment of dir (the last one too, which the
// live archiver never touches) and removes the plain copies.
func archiveAll(tb testing.TB, dir string) (plain, packed int64) {
	tb.Helper()
	a, err := newArchiver(dir, logtest.Discard())
	if err != nil {
		tb.Fatal(err)
	}
	defer a.close()
	segs, _ := listHot(dir)
	for _, first := range segs {
		if err := a.archive(first); err != nil {
			tb.Fatal(err)
		}
		hot := filepath.Join(dir, segName(first))
		plain += fileSize(hot)
		packed += fileSize(archivePath(dir, first))
		os.Remove(hot)
	}
	return plain, packed
}

// TestCompressionRatio holds the archive to its goal on realistic records:
// the data is generated from a fixed seed, so the figure is deterministic.
func TestCompressionRatio(t *testing.T) {
	dir := t.TempDir()
	writeRealistic(t, dir, 200_000, DefaultSegmentBytes)
	plain, packed := archiveAll(t, dir)
	ratio := float64(plain) / float64(packed)
	t.Logf("realistic journal: %d -> %d bytes, ratio %.2f", plain, packed, ratio)
	if ratio < 2.5 {
		t.Fatalf("compression ratio %.2f, goal 2.5", ratio)
	}
}

// BenchmarkCommit measures appends with an fsync every batch (SyncBatch) of
// 100-byte records; one op is one record. fsyncs/s is Commits per second.
func BenchmarkCommit(b *testing.B) {
	for _, mode := range []SyncMode{SyncBatch, SyncNone} {
		for _, batch := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("sync=%s/batch=%d", mode, batch), func(b *testing.B) {
				j, err := Open(Options{Dir: b.TempDir(), Sync: mode, Log: logtest.Discard()})
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				rec := newOrderGen(1).next(1)
				b.SetBytes(int64(len(rec)))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				commits := 0
				for i := 1; i <= b.N; i++ {
					if err := j.Append(int64(i), rec); err != nil {
						b.Fatal(err)
					}
					if i%batch == 0 || i == b.N {
						if err := j.Commit(); err != nil {
							b.Fatal(err)
						}
						commits++
					}
				}
				sec := time.Since(start).Seconds()
				b.ReportMetric(float64(b.N)/sec, "records/s")
				b.ReportMetric(float64(commits)/sec, "fsyncs/s")
				if mode == SyncNone {
					b.ReportMetric(float64(commits)/sec, "commits/s")
					b.ReportMetric(0, "fsyncs/s")
				}
			})
		}
	}
}

// BenchmarkRead measures replay: read and verify (CRC, continuity) every
// record of a realistic journal, from plain and from zstd segments. One op
// is one whole read.
func BenchmarkRead(b *testing.B) {
	const n = 1_000_000
	for _, kind := range []string{"plain", "zstd"} {
		b.Run(kind, func(b *testing.B) {
			dir := b.TempDir()
			writeRealistic(b, dir, n, DefaultSegmentBytes)
			var bytes int64
			if kind == "zstd" {
				bytes, _ = archiveAll(b, dir)
			} else {
				segs, _ := listHot(dir)
				for _, f := range segs {
					bytes += fileSize(filepath.Join(dir, segName(f)))
				}
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				count := 0
				if err := Read(dir, 1, func(seq int64, rec []byte) error { count++; return nil }); err != nil {
					b.Fatal(err)
				}
				if count != n {
					b.Fatalf("read %d records", count)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkArchive measures compressing one realistic 64 MiB segment on one
// core, and reports the ratio.
func BenchmarkArchive(b *testing.B) {
	dir := b.TempDir()
	writeRealistic(b, dir, 560_000, DefaultSegmentBytes) // about 62 MiB: one segment
	segs, _ := listHot(dir)
	a, err := newArchiver(dir, logtest.Discard())
	if err != nil {
		b.Fatal(err)
	}
	defer a.close()
	plain := fileSize(filepath.Join(dir, segName(segs[0])))
	b.SetBytes(plain)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		os.Remove(archivePath(dir, segs[0]))
		if err := a.archive(segs[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(plain)/float64(fileSize(archivePath(dir, segs[0]))), "ratio")
}

// BenchmarkCommitLatency is the journal's share of acknowledgement latency:
// the time one Commit takes (write plus fsync), as a distribution. One op is
// one batch of 16 records; latency is measured per Commit, closed-loop.
func BenchmarkCommitLatency(b *testing.B) {
	for _, mode := range []SyncMode{SyncBatch, SyncNone} {
		b.Run("sync="+mode.String(), func(b *testing.B) {
			j, err := Open(Options{Dir: b.TempDir(), Sync: mode, Log: logtest.Discard()})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			rec := newOrderGen(1).next(1)
			took := make([]time.Duration, b.N)
			seq := int64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for range 16 {
					seq++
					j.Append(seq, rec)
				}
				t0 := time.Now()
				if err := j.Commit(); err != nil {
					b.Fatal(err)
				}
				took[i] = time.Since(t0)
			}
			b.StopTimer()
			slices.Sort(took)
			at := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / 1e3 }
			b.ReportMetric(at(0.50), "p50-µs")
			b.ReportMetric(at(0.99), "p99-µs")
			b.ReportMetric(at(0.999), "p99.9-µs")
			b.ReportMetric(at(1), "max-µs")
		})
	}
}
