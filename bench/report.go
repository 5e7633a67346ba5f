package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// progress prints one line a second while a run goes: elapsed, requests
// sent and answered, the answer rate of the last second, in flight. A
// terminal gets one line rewritten; a file or pipe a line every 5 s. It
// returns the function that stops it.
func progress(w io.Writer, name string, start time.Time, total time.Duration, counts func() (sent, answered, inflight int64)) func() {
	if w == nil {
		return func() {}
	}
	tty := isTerminal(w)
	every := time.Second
	if !tty {
		every = 5 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var lastAnswered int64
		last := start
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-t.C:
				sent, answered, inflight := counts()
				rate := float64(answered-lastAnswered) / now.Sub(last).Seconds()
				lastAnswered, last = answered, now
				line := fmt.Sprintf("  %-28s %5.1fs/%.0fs  sent %9d  answered %9d  %8.0f/s  in flight %5d",
					name, now.Sub(start).Seconds(), total.Seconds(), sent, answered, rate, inflight)
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// FormatNs writes a latency with a unit that keeps three digits.
func FormatNs(ns int64) string {
	switch {
	case ns == 0:
		return "-"
	case ns < 1_000:
		return fmt.Sprintf("%dns", ns)
	case ns < 1_000_000:
		return trimUnit(float64(ns)/1e3, "µs")
	case ns < 1_000_000_000:
		return trimUnit(float64(ns)/1e6, "ms")
	default:
		return trimUnit(float64(ns)/1e9, "s")
	}
}

func trimUnit(v float64, unit string) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f%s", v, unit)
	case v < 100:
		return fmt.Sprintf("%.1f%s", v, unit)
	default:
		return fmt.Sprintf("%.0f%s", v, unit)
	}
}

func formatRate(r float64) string {
	if r == 0 {
		return "max"
	}
	s := fmt.Sprintf("%.0f", r)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// WriteTable writes the summary table: one row per run and metric (ack,
// and fill and amend where there are any).
func WriteTable(w io.Writer, results []*Result) {
	nameWidth := 30
	for _, r := range results {
		nameWidth = max(nameWidth, utf8.RuneCountInString(r.Name))
	}
	fmt.Fprintf(w, "%-*s %-6s %8s %9s %10s %8s %8s %8s %8s %8s %8s %7s\n",
		nameWidth, "run", "metric", "inflight", "asked/s", "achieved/s", "p50", "p90", "p99", "p99.9", "p99.99", "max", "errors")
	for _, r := range results {
		rows := []struct {
			name string
			p    Percentiles
		}{{"ack", r.Ack}, {"fill", r.Fill}, {"amend", r.Amend}}
		for i, row := range rows {
			if i > 0 && row.p.Count == 0 {
				continue
			}
			name, asked, achieved, errs := r.Name, formatRate(r.RateAsked), formatRate(max(r.Achieved, 1e-9)), fmt.Sprint(r.Errors)
			if i > 0 {
				name, asked, achieved, errs = "", "", "", ""
			}
			p := row.p
			fmt.Fprintf(w, "%-*s %-6s %8d %9s %10s %8s %8s %8s %8s %8s %8s %7s\n",
				nameWidth, name, row.name, r.Inflight, asked, achieved, FormatNs(p.P50), FormatNs(p.P90), FormatNs(p.P99),
				FormatNs(p.P999), FormatNs(p.P9999), FormatNs(p.Max), errs)
		}
	}
	for _, r := range results {
		if r.Unsent > 0 {
			fmt.Fprintf(w, "note: %s: %d requests planned in the run were never sent (the target fell behind by more than the in-flight bound)\n", r.Name, r.Unsent)
		}
		if r.Unanswered > 0 {
			fmt.Fprintf(w, "note: %s: %d requests sent were not answered within the drain time (counted in errors)\n", r.Name, r.Unanswered)
		}
	}
	fmt.Fprintln(w, "latency from each request's planned send time (rate asked) or its send (max: closed loop); ack: new order → New (journal alone: record → durable); fill: crossing order → first fill; amend: cancel/replace → answer")
}

// fileName turns a run name into a file name.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '_'
	}, name)
}

// WriteResults writes under dir: <run>.<metric>.hgrm for every
// distribution with values (milliseconds, as HdrHistogram's tools expect),
// summary.json with every result, and table.txt.
func WriteResults(dir string, results []*Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, r := range results {
		for metric, h := range r.Hists {
			if h.TotalCount() == 0 {
				continue
			}
			f, err := os.Create(filepath.Join(dir, fileName(r.Name)+"."+metric+".hgrm"))
			if err != nil {
				return err
			}
			err = WriteHgrm(f, h, 1e6)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
	host, _ := os.Hostname()
	summary := struct {
		Time    string    `json:"time"`
		Host    string    `json:"host"`
		Machine string    `json:"machine"`
		Results []*Result `json:"results"`
	}{time.Now().UTC().Format(time.RFC3339), host, Machine(), results}
	b, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "# %s\n", Machine())
	WriteTable(&t, results)
	return os.WriteFile(filepath.Join(dir, "table.txt"), []byte(t.String()), 0o644)
}

// Machine names the machine in words: CPU model and count, Go version.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = ", load average " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s%s", model, numCPU(), goVersion(), load)
}

// FormatRate writes a rate with thousands separators; 0 is "max".
func FormatRate(r float64) string { return formatRate(r) }

// Held reports whether a run held its asked rate: p99 order-to-ack under
// p99Max, achieved within 5% of asked, nothing unanswered or rejected.
func Held(r *Result, p99Max time.Duration) bool {
	return r.Ack.Count > 0 && r.Ack.P99 < int64(p99Max) && r.Errors == 0 && r.Unsent == 0 &&
		(r.RateAsked == 0 || r.Achieved >= 0.95*r.RateAsked)
}
