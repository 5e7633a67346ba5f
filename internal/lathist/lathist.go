// Package lathist is a latency histogram that the exchange's own stages
// record into on the hot path, without locks or allocation, and that a
// reader takes by interval: the node's latency log line.
//
// Buckets are log-linear, as HdrHistogram's: values below 64 are exact;
// above, each power of two is cut into 32 buckets, so a bucket is at most
// 1/32 (3.1%) wide, relative to its value. A percentile reads as the
// highest value of its bucket, so it is never understated. The fixed
// 1,888 counters cover every int64; a negative value counts as 0.
//
// Record is safe from any number of goroutines (one atomic add, and an
// atomic max); Take reads and zeroes the counters one by one, so a value
// recorded meanwhile lands in this interval or the next, never in neither.
// bench/ keeps using HdrHistogram proper for what it reports.
package lathist

import (
	"math/bits"
	"sync/atomic"
)

const (
	subBits = 5
	sub     = 1 << subBits // buckets per power of two
	buckets = (64 - subBits) * sub
)

// Hist is a histogram of int64 values (nanoseconds, records, ...). The zero
// value is empty and ready.
type Hist struct {
	max    atomic.Int64
	counts [buckets]atomic.Uint64
}

func index(v int64) int {
	if v < 2*sub {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return (shift+1)*sub + int(uint64(v)>>shift) - sub
}

// upper is the highest value that falls in bucket i.
func upper(i int) int64 {
	if i < 2*sub {
		return int64(i)
	}
	shift := i/sub - 1
	return (int64(i%sub+sub)+1)<<shift - 1
}

// Record counts v. Hot path: no lock, no allocation.
func (h *Hist) Record(v int64) {
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	h.counts[index(v)].Add(1)
}

// Snapshot is what a Hist counted over one interval.
type Snapshot struct {
	Count  uint64
	Max    int64
	counts [buckets]uint64
}

// Take returns what h counted since the last Take and starts h again.
func (h *Hist) Take() *Snapshot {
	s := &Snapshot{}
	for i := range h.counts {
		c := h.counts[i].Swap(0)
		s.counts[i] = c
		s.Count += c
	}
	s.Max = h.max.Swap(0)
	// A value recorded while Take ran can be counted here with its max in
	// the next interval (or the other way round): never report a Max below
	// the bucket of the highest value counted.
	for i := buckets - 1; i >= 0; i-- {
		if s.counts[i] != 0 {
			if i > 0 && s.Max <= upper(i-1) {
				s.Max = upper(i)
			}
			break
		}
	}
	return s
}

// Quantile is the value at or below which a fraction q (0 to 1) of the
// values lie, read as the top of its bucket and never above Max; 0 when
// nothing was counted.
func (s *Snapshot) Quantile(q float64) int64 {
	if s.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(s.Count) + 0.5)
	rank = min(max(rank, 1), s.Count)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), s.Max)
		}
	}
	return s.Max
}

// Add adds what o counted to s, so that a reader can keep a running total
// of the intervals it took.
func (s *Snapshot) Add(o *Snapshot) {
	for i, c := range o.counts {
		s.counts[i] += c
	}
	s.Count += o.Count
	s.Max = max(s.Max, o.Max)
}

// Sub removes from s what an earlier total o of the same running total
// counted: what was counted between the two. Max stays s's, the highest
// since the total began, not within the difference.
func (s *Snapshot) Sub(o *Snapshot) {
	for i, c := range o.counts {
		s.counts[i] -= c
	}
	s.Count -= o.Count
}

// AtMost is how many values lie in buckets whose highest value is at most
// v: every value at or below v but those sharing a bucket with values
// above it (a bucket is at most 3.1% wide), so a cumulative count read at
// v is never overstated.
func (s *Snapshot) AtMost(v int64) uint64 {
	var n uint64
	for i, c := range s.counts {
		if upper(i) > v {
			break
		}
		n += c
	}
	return n
}

// Sum estimates the sum of the values counted: each bucket's count times
// its middle value, exact below 64 and within half a bucket's width
// (1.6%) above. Record keeps no exact sum: one more atomic add per value
// on the hot path, for a figure only means are read from.
func (s *Snapshot) Sum() float64 {
	var sum float64
	for i, c := range s.counts {
		if c == 0 {
			continue
		}
		lo := int64(0)
		if i > 0 {
			lo = upper(i-1) + 1
		}
		sum += float64(c) * (float64(lo) + float64(upper(i))) / 2
	}
	return sum
}
