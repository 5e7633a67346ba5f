package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/ringex/ringex/journal"
)

// SuiteConfig shapes the quick suite (make bench).
type SuiteConfig struct {
	Duration, Warmup, Drain time.Duration
	Sync                    journal.SyncMode // of the ringex runs
	Seed                    uint64
	Sweep                   bool          // end with a rate sweep of ringex over FIX
	SweepP99                time.Duration // the p99 a sweep step must stay under
	Peer                    bool          // also PeerRuns: ordermatch (scripts/ordermatch.sh must have built it)
	WakeGrid                time.Duration // every run's wake-up grid (Schedule.WakeGridNs); 0: exact
	Progress                io.Writer
	Out                     io.Writer // the sweep's lines
}

// SuiteRun names one run of the suite.
type SuiteRun struct {
	Name     string
	Target   string // "journal", "pipeline", "ringex", "responder", "quickfixgo"
	Rate     float64
	Sessions int
	Inflight int  // per session (fix) or in all (pipeline)
	Peer     bool // the peer's load: FIX 4.2, PeerMix (new Day limit orders only)
}

// SuiteRuns is the quick suite: the journal alone (the disk's floor under a
// durable acknowledgement); the pipeline with fsync; ringex over FIX at a
// few rates and at its maximum with 100 in flight; the generator's ceiling
// (the trivial responder) and the bare quickfixgo baseline under the same
// loads.
func SuiteRuns() []SuiteRun {
	return []SuiteRun{
		{"journal alone 10,000/s", "journal", 10_000, 1, 0, false},
		{"pipeline 10,000/s", "pipeline", 10_000, 8, 4096, false},
		{"pipeline max", "pipeline", 0, 8, 4096, false},
		{"ringex 1,000/s", "ringex", 1_000, 8, 100, false},
		{"ringex 10,000/s", "ringex", 10_000, 8, 100, false},
		{"ringex 50,000/s", "ringex", 50_000, 8, 100, false},
		{"ringex max 4x25", "ringex", 0, 4, 25, false},
		{"responder 10,000/s", "responder", 10_000, 8, 100, false},
		{"responder max 4x25", "responder", 0, 4, 25, false},
		{"quickfixgo 10,000/s", "quickfixgo", 10_000, 8, 100, false},
		{"quickfixgo max 4x25", "quickfixgo", 0, 4, 25, false},
	}
}

// PeerRuns set ringex beside QuickFIX/C++'s ordermatch example (with the
// file store it ships with, and with a memory store) under the load it can
// answer: FIX 4.2, new Day limit orders only. Each ringex run comes just
// before the peer's at the same load, so both see the same neighbours on a
// shared machine.
func PeerRuns() []SuiteRun {
	return []SuiteRun{
		{"ringex 4.2 new-only 1,000/s", "ringex", 1_000, 8, 100, true},
		{"ordermatch 1,000/s", "ordermatch", 1_000, 8, 100, true},
		{"ringex 4.2 new-only 10,000/s", "ringex", 10_000, 8, 100, true},
		{"ordermatch 10,000/s", "ordermatch", 10_000, 8, 100, true},
		{"ordermatch-mem 10,000/s", "ordermatch-mem", 10_000, 8, 100, true},
		{"ringex 4.2 new-only max 4x25", "ringex", 0, 4, 25, true},
		{"ordermatch max 4x25", "ordermatch", 0, 4, 25, true},
		{"ordermatch-mem max 4x25", "ordermatch-mem", 0, 4, 25, true},
	}
}

// RunSuite runs SuiteRuns in order, then PeerRuns when cfg.Peer (those of
// a variant the script has not built are left out), and returns every
// result, stopping at the first error of ringex, the responder or
// quickfixgo. A peer that fails is reported on cfg.Out and the suite goes
// on: the peer is optional.
func RunSuite(cfg SuiteConfig) ([]*Result, error) {
	var results []*Result
	runs := SuiteRuns()
	if cfg.Peer {
		runs = append(runs, PeerRuns()...)
	}
	for _, sr := range runs {
		peer := sr.Target == "ordermatch" || sr.Target == "ordermatch-mem"
		if peer && !OrdermatchBuilt(peerStore(sr.Target)) {
			continue
		}
		r, err := runSuiteOne(cfg, sr)
		if r != nil {
			results = append(results, r)
		}
		if err != nil && peer {
			if cfg.Out != nil {
				fmt.Fprintf(cfg.Out, "  peer %s: %v (the suite goes on without it)\n", sr.Name, err)
			}
			continue
		}
		if err != nil {
			return results, fmt.Errorf("%s: %w", sr.Name, err)
		}
	}
	if cfg.Sweep {
		swept, err := suiteSweep(cfg)
		results = append(results, swept...)
		if err != nil {
			return results, err
		}
	}
	if note := DiskFloorNote(results, cfg.SweepP99); note != "" && cfg.Out != nil {
		fmt.Fprintf(cfg.Out, "  %s\n", note)
	}
	return results, nil
}

// suiteSweep steps ringex over FIX up from 10,000/s by 10,000/s, 3 s a
// step, until a step misses cfg.SweepP99, and says the highest rate held.
func suiteSweep(cfg SuiteConfig) ([]*Result, error) {
	var results []*Result
	held := 0.0
	for rate := 10_000.0; rate <= 100_000; rate += 10_000 {
		sr := SuiteRun{fmt.Sprintf("sweep ringex %s/s", FormatRate(rate)), "ringex", rate, 8, 100, false}
		c := cfg
		c.Duration, c.Warmup = 3*time.Second, time.Second
		r, err := runSuiteOne(c, sr)
		if r == nil {
			return results, err
		}
		results = append(results, r)
		ok := err == nil && Held(r, cfg.SweepP99)
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, "  sweep %9s/s  achieved %9s/s  p99 %8s  %s\n", FormatRate(rate), FormatRate(r.Achieved),
				FormatNs(r.Ack.P99), map[bool]string{true: "held", false: "NOT held"}[ok])
		}
		if !ok {
			break
		}
		held = rate
	}
	if cfg.Out != nil && held > 0 {
		fmt.Fprintf(cfg.Out, "  sweep: highest rate held by ringex over FIX (p99 ack under %v, sync %s): %s/s\n", cfg.SweepP99, cfg.Sync, FormatRate(held))
	} else if cfg.Out != nil {
		fmt.Fprintf(cfg.Out, "  sweep: no rate from 10,000/s held by ringex over FIX (p99 ack under %v, sync %s)\n", cfg.SweepP99, cfg.Sync)
	}
	return results, nil
}

// DiskFloorNote says when the journal alone, with nothing of ringex in the
// way, already missed a p99 bound: then a durable run at that rate is not
// expected to hold it on this machine, whatever the exchange does. "" when
// it held, or when there is no journal-alone result.
func DiskFloorNote(results []*Result, p99Max time.Duration) string {
	for _, r := range results {
		if r.Mode != "journal" || r.Ack.Count == 0 || r.Sync == journal.SyncNone.String() || r.Ack.P99 < int64(p99Max) {
			continue
		}
		note := fmt.Sprintf("disk floor: the journal alone at %s/s (write + fsync, nothing else of ringex) has p99 %s, above %v: on this machine the journal alone misses %v at that rate",
			FormatRate(r.RateAsked), FormatNs(r.Ack.P99), p99Max, p99Max)
		if r.WakeGridNs == 0 {
			note += "; on a small VM the pacer's own wake-ups can cause that (try --wake-grid 500us, see bench.Schedule)"
		} else {
			note += fmt.Sprintf(" (up to %v of each figure is the %v wake-up grid's delay)", time.Duration(r.WakeGridNs), time.Duration(r.WakeGridNs))
		}
		return note
	}
	return ""
}

func runSuiteOne(cfg SuiteConfig, sr SuiteRun) (*Result, error) {
	if sr.Target == "journal" {
		return RunJournal(JournalConfig{Name: sr.Name + " sync=" + cfg.Sync.String() + GridSuffix(cfg.WakeGrid), Sync: cfg.Sync, RatePerSec: sr.Rate,
			Duration: cfg.Duration, Warmup: cfg.Warmup, Progress: cfg.Progress, WakeGrid: cfg.WakeGrid})
	}
	if sr.Target == "pipeline" {
		return RunPipeline(PipelineConfig{Name: sr.Name + " sync=" + cfg.Sync.String() + GridSuffix(cfg.WakeGrid), Sync: cfg.Sync, Accounts: sr.Sessions,
			RatePerSec: sr.Rate, InflightMax: sr.Inflight, Duration: cfg.Duration, Warmup: cfg.Warmup,
			Drain: cfg.Drain, Mix: DefaultMix(cfg.Seed, 8), Progress: cfg.Progress, WakeGrid: cfg.WakeGrid})
	}
	fc := FIXConfig{SenderIDs: SenderIDs("BROKER", sr.Sessions), TargetID: "RINGEX",
		Symbols:    []string{"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "IBM"},
		RatePerSec: sr.Rate, InflightMax: sr.Inflight, Duration: cfg.Duration, Warmup: cfg.Warmup,
		Drain: cfg.Drain, Mix: DefaultMix(cfg.Seed, 0), Progress: cfg.Progress, WakeGrid: cfg.WakeGrid}
	if sr.Peer {
		fc.BeginString, fc.Mix = "FIX.4.2", PeerMix(cfg.Seed, 0)
	}
	name := sr.Name
	if sr.Target == "ringex" {
		name += " sync=" + cfg.Sync.String()
	}
	name += GridSuffix(cfg.WakeGrid)
	return RunFIXTarget(sr.Target, fc, name, cfg.Sync, nil)
}

// GridSuffix names a run's wake-up grid, when it has one.
func GridSuffix(grid time.Duration) string {
	if grid <= 0 {
		return ""
	}
	return " grid=" + grid.String()
}

func peerStore(target string) string {
	if target == "ordermatch-mem" {
		return "memory"
	}
	return "file"
}
