package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 ns to 100 s at 3 significant digits (about 0.1%
// resolution at every magnitude).
const (
	histLowestNs  = 1
	histHighestNs = 100_000_000_000
	histDigits    = 3
)

// NewHist returns an empty latency histogram in nanoseconds. Not safe for
// concurrent use: give each goroutine its own and Merge them at the end.
func NewHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowestNs, histHighestNs, histDigits)
}

// Record records a latency, clamped into the histogram's range so that an
// absurd value (a clock step) is counted at the edge rather than lost.
// Hot path: no allocation.
func Record(h *hdrhistogram.Histogram, latencyNs int64) {
	latencyNs = min(max(latencyNs, histLowestNs), histHighestNs)
	_ = h.RecordValue(latencyNs)
}

// Merge returns a new histogram holding every value of hs (nil entries are
// skipped) and the count of values it could not hold.
func Merge(hs ...*hdrhistogram.Histogram) (*hdrhistogram.Histogram, int64) {
	all := NewHist()
	var dropped int64
	for _, h := range hs {
		if h != nil {
			dropped += all.Merge(h)
		}
	}
	return all, dropped
}

// Percentiles is the summary of one latency distribution, in nanoseconds.
type Percentiles struct {
	Count  int64   `json:"count"`
	P50    int64   `json:"p50Ns"`
	P90    int64   `json:"p90Ns"`
	P99    int64   `json:"p99Ns"`
	P999   int64   `json:"p99_9Ns"`
	P9999  int64   `json:"p99_99Ns"`
	Max    int64   `json:"maxNs"`
	MeanNs float64 `json:"meanNs"`
}

// Summarize reads the usual percentiles of h. ValueAtQuantile takes a
// percent (99.9), not a fraction.
func Summarize(h *hdrhistogram.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count: h.TotalCount(),
		P50:   h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90), P99: h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9), P9999: h.ValueAtQuantile(99.99), Max: h.Max(),
		MeanNs: h.Mean(),
	}
}

// hgrmTicksPerHalfDistance is the percentile resolution of .hgrm files, the
// default of HdrHistogram's outputPercentileDistribution.
const hgrmTicksPerHalfDistance = 5

// WriteHgrm writes h in HdrHistogram's standard percentile distribution
// format (Java's outputPercentileDistribution, which the online plotter
// and HistogramLogProcessor read): values divided by unitNs, so 1e6 writes
// milliseconds from a nanosecond histogram.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram, unitNs float64) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	if h.TotalCount() > 0 {
		for _, b := range h.CumulativeDistributionWithTicks(hgrmTicksPerHalfDistance) {
			p := b.Quantile / 100
			if p < 1 {
				fmt.Fprintf(bw, "%12.3f %2.12f %10d %14.2f\n", float64(b.ValueAt)/unitNs, p, b.Count, 1/(1-p))
			} else {
				fmt.Fprintf(bw, "%12.3f %2.12f %10d\n", float64(b.ValueAt)/unitNs, p, b.Count)
			}
		}
	}
	buckets, subBuckets := histGeometry()
	fmt.Fprintf(bw, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", h.Mean()/unitNs, h.StdDev()/unitNs)
	fmt.Fprintf(bw, "#[Max     = %12.3f, Total count    = %12d]\n", float64(h.Max())/unitNs, h.TotalCount())
	fmt.Fprintf(bw, "#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, subBuckets)
	return bw.Flush()
}

// histGeometry computes the bucket and sub-bucket counts of NewHist's
// histograms as HdrHistogram does, for the .hgrm footer.
func histGeometry() (buckets, subBuckets int) {
	largest := 2 * math.Pow10(histDigits)
	subBuckets = 1 << int(math.Ceil(math.Log2(largest)))
	smallestUntrackable := int64(subBuckets) * histLowestNs
	buckets = 1
	for smallestUntrackable <= histHighestNs {
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}

// HgrmPoint is one line of a .hgrm file.
type HgrmPoint struct {
	Value      float64 // in the file's unit
	Percentile float64 // a fraction, 0..1
	Count      int64
}

// ReadHgrm reads the points of a .hgrm file (the chart's input when it is
// drawn from files of earlier runs).
func ReadHgrm(r io.Reader) ([]HgrmPoint, error) {
	var pts []HgrmPoint
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		var p HgrmPoint
		if n, _ := fmt.Sscan(sc.Text(), &p.Value, &p.Percentile, &p.Count); n == 3 {
			pts = append(pts, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read hgrm line %d: %w", line, err)
	}
	return pts, nil
}
