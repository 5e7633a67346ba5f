package lathist

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// TestBucketsCoverEveryValue: each value falls in a bucket whose top is at
// or above it and within 1/32 of it, and buckets are in value order.
func TestBucketsCoverEveryValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v int64) {
		i := index(v)
		if i < 0 || i >= buckets {
			t.Fatalf("value %d: bucket %d of %d", v, i, buckets)
		}
		top := upper(i)
		if top < v || (v >= 2*sub && float64(top-v) > float64(v)/sub) {
			t.Fatalf("value %d: bucket %d tops at %d", v, i, top)
		}
		if i > 0 && upper(i-1) >= v {
			t.Fatalf("value %d: the bucket below (%d) tops at %d", v, i-1, upper(i-1))
		}
	}
	for v := int64(0); v < 1<<16; v++ {
		check(v)
	}
	for range 100_000 {
		check(rng.Int64N(math.MaxInt64))
	}
	check(math.MaxInt64)
	if index(-5) != 0 {
		t.Fatal("a negative value is not counted as 0")
	}
}

// TestQuantilesAgreeWithSorting: against the exact order statistics of
// random latencies, every quantile reads at or above the exact one and
// within 1/32 of it.
func TestQuantilesAgreeWithSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h Hist
	vals := make([]int64, 50_000)
	for i := range vals {
		vals[i] = int64(rng.ExpFloat64()*200_000) + int64(rng.IntN(50))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.Take()
	if s.Count != uint64(len(vals)) || s.Max != vals[len(vals)-1] {
		t.Fatalf("count %d max %d, want %d and %d", s.Count, s.Max, len(vals), vals[len(vals)-1])
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(q*float64(len(vals))+0.5), 1)
		exact := vals[rank-1]
		got := s.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/sub+1 {
			t.Errorf("q %v: %d, exact %d", q, got, exact)
		}
	}
	if again := h.Take(); again.Count != 0 || again.Max != 0 || again.Quantile(0.99) != 0 {
		t.Fatalf("Take did not start the histogram again: %+v", again.Count)
	}
}

// TestRecordWhileTaking: values recorded by several goroutines while
// another takes intervals are each counted exactly once.
func TestRecordWhileTaking(t *testing.T) {
	var h Hist
	const writers, each = 4, 20_000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.Record(int64(w*each + i))
			}
		}()
	}
	done, taken := make(chan struct{}), make(chan uint64)
	go func() {
		var total uint64
		for {
			select {
			case <-done:
				taken <- total
				return
			default:
				total += h.Take().Count
			}
		}
	}()
	wg.Wait()
	close(done)
	total := <-taken + h.Take().Count
	if total != writers*each {
		t.Fatalf("counted %d of %d values", total, writers*each)
	}
}

func TestRecordAllocatesNothing(t *testing.T) {
	var h Hist
	if a := testing.AllocsPerRun(1000, func() { h.Record(123_456) }); a != 0 {
		t.Fatalf("Record allocates %v times", a)
	}
}

// TestRunningTotals: Add and Sub keep a running total of taken intervals
// and give back what was counted between two totals; AtMost never counts
// a value above its bound; Sum is within 1.6% of the exact sum.
func TestRunningTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h Hist
	var total, first Snapshot
	var exact [2]float64
	var values [2][]int64
	for part := range 2 {
		for range 10_000 {
			v := rng.Int64N(5_000_000)
			h.Record(v)
			exact[part] += float64(v)
			values[part] = append(values[part], v)
		}
		total.Add(h.Take())
		if part == 0 {
			first = total
		}
	}
	if total.Count != 20_000 {
		t.Fatalf("running total counts %d, want 20000", total.Count)
	}
	between := total
	between.Sub(&first)
	if between.Count != 10_000 {
		t.Fatalf("between the totals: %d values, want 10000", between.Count)
	}
	if got, want := between.Sum(), exact[1]; math.Abs(got-want)/want > 1.0/64 {
		t.Errorf("Sum %.0f, exact %.0f: off by more than 1.6%%", got, want)
	}
	for _, bound := range []int64{0, 63, 1000, 100_000, 4_999_999} {
		got, atOrBelow := between.AtMost(bound), 0
		for _, v := range values[1] {
			if v <= bound {
				atOrBelow++
			}
		}
		if got > uint64(atOrBelow) {
			t.Errorf("AtMost(%d) = %d, but only %d values are at or below it", bound, got, atOrBelow)
		}
		if bound > 64 && float64(got) < 0.9*float64(atOrBelow) {
			t.Errorf("AtMost(%d) = %d of %d: more than a bucket's worth missing", bound, got, atOrBelow)
		}
	}
	if between.Quantile(1) > total.Max {
		t.Error("a quantile of the difference above the running max")
	}
}
