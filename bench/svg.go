package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Curve is one run's latency by percentile, for the chart.
type Curve struct {
	Name   string
	Points []HgrmPoint // Value in milliseconds, Percentile a fraction
}

// CurveOf reads the percentile curve of a histogram in nanoseconds.
func CurveOf(name string, r *Result, metric string) Curve {
	c := Curve{Name: name}
	h := r.Hists[metric]
	if h == nil || h.TotalCount() == 0 {
		return c
	}
	for _, b := range h.CumulativeDistributionWithTicks(hgrmTicksPerHalfDistance) {
		c.Points = append(c.Points, HgrmPoint{Value: float64(b.ValueAt) / 1e6, Percentile: b.Quantile / 100, Count: b.Count})
	}
	return c
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH         = 1120, 560
	plotL, plotR           = 80, 700
	plotT, plotB           = 50, 500
	chartMaxNines          = 6 // the x axis ends at 99.9999%
	chartPalette           = "#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf #7f7f7f #bcbd22"
	percentileClampNines   = chartMaxNines
	chartLegendLineSpacing = 18
)

// WriteSVG draws the curves on one chart as HdrHistogram's plotter does:
// the x axis is the percentile on a log scale of 1/(1-p), labelled 0%,
// 90%, 99%, 99.9%...; the y axis is latency, here on a log scale so that
// runs a thousand times apart stay readable. A standalone SVG: any browser
// shows it, no service needed.
func WriteSVG(w io.Writer, title string, curves []Curve) error {
	yMin, yMax := math.Inf(1), 0.0
	maxNines := 2.0
	for _, c := range curves {
		for _, p := range c.Points {
			if p.Value > 0 {
				yMin, yMax = math.Min(yMin, p.Value), math.Max(yMax, p.Value)
			}
			if p.Percentile < 1 {
				maxNines = math.Max(maxNines, nines(p.Percentile))
			}
		}
	}
	if yMax == 0 {
		yMin, yMax = 0.001, 1
	}
	maxNines = math.Min(math.Ceil(maxNines), chartMaxNines)
	lo, hi := math.Floor(math.Log10(yMin)), math.Ceil(math.Log10(yMax))
	if hi <= lo {
		hi = lo + 1
	}
	x := func(p float64) float64 { return plotL + (plotR-plotL)*math.Min(nines(p), maxNines)/maxNines }
	y := func(ms float64) float64 {
		return plotB - (plotB-plotT)*(math.Log10(math.Max(ms, math.Pow(10, lo)))-lo)/(hi-lo)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="12">%s</text>`+"\n", plotL, html.EscapeString(title))
	for d := 0.0; d <= maxNines; d++ { // vertical grid: 0%, 90%, 99%, ...
		xp := plotL + (plotR-plotL)*d/maxNines
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", xp, plotT, xp, plotB)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xp, plotB+18, ninesLabel(int(d)))
	}
	for e := lo; e <= hi; e++ { // horizontal grid: decades
		yp := y(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", plotL, yp, plotR, yp)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotL-6, yp+4, FormatNs(int64(math.Pow(10, e)*1e6)))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", plotL, plotT, plotR-plotL, plotB-plotT)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">percentile</text>`+"\n", (plotL+plotR)/2, plotB+40)
	fmt.Fprintf(&b, `<text x="20" y="%d" transform="rotate(-90 20 %d)" text-anchor="middle">latency (log scale)</text>`+"\n", (plotT+plotB)/2, (plotT+plotB)/2)
	colors := strings.Fields(chartPalette)
	for i, c := range curves {
		color := colors[i%len(colors)]
		var path strings.Builder
		for j, p := range c.Points {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f,%.1f ", cmd, x(p.Percentile), y(p.Value))
		}
		dash := "" // a second round of the palette is dashed, so no two curves look alike
		if i >= len(colors) {
			dash = ` stroke-dasharray="6 3"`
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"%s><title>%s</title></path>`+"\n", strings.TrimSpace(path.String()), color, dash, html.EscapeString(c.Name))
		ly := plotT + 10 + i*chartLegendLineSpacing
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>`+"\n", plotR+15, ly, plotR+35, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", plotR+40, ly+4, html.EscapeString(c.Name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// nines is log10(1/(1-p)): 0 at 0%, 1 at 90%, 2 at 99%; capped where p is 1.
func nines(p float64) float64 {
	if p >= 1 {
		return percentileClampNines
	}
	return math.Min(math.Log10(1/(1-p)), percentileClampNines)
}

func ninesLabel(d int) string {
	switch d {
	case 0:
		return "0%"
	case 1:
		return "90%"
	}
	if d == 2 {
		return "99%"
	}
	return "99." + strings.Repeat("9", d-2) + "%"
}
