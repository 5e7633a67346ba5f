package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ringex/ringex/bench"
	"github.com/ringex/ringex/journal"
)

// benchModes are the modes of `ringex bench`, in the order its usage lists
// them; each mode's own usage repeats its entry.
var benchModes = []struct{ name, about string }{
	{"pipeline", `commands straight into a node (temp data dir, --sync fsync mode):
sequence (or risk) → {journal, match} → publish to a sink;
no network`},
	{"fix", `FIX sessions against an acceptor: --addr HOST:PORT, or --self (a
ringex node in-process), --responder (a trivial raw-socket
acceptor: the generator's ceiling), --quickfixgo (a bare
quickfixgo acceptor), --ordermatch (QuickFIX/C++'s ordermatch
example, the peer exchange: 'make peer' builds it; FIX 4.2 and
--peer-mix, set for every target of the run). With --compare
(default) the same load also runs against the responder and the
quickfixgo baseline.`},
	{"journal", `the journal alone (--dir, --sync): records at --rate into a real
journal, one write (and, with --sync batch, one fsync) per batch
of what is due, as the journal stage does: what a durable
acknowledgement costs before the exchange does anything`},
	{"sweep", `step the rate up (--from, --step, --to) until p99 passes --p99;
report the highest rate held (--mode fix or pipeline, and their flags)`},
	{"suite", `the quick suite of 'make bench' (under 5 minutes); with --peer,
ringex beside the ordermatch peer under its FIX 4.2 load`},
	{"mix", `write a generated order mix to a file (--orders per session),
for fix --mix to replay`},
	{"chart", `draw .hgrm files as percentile curves on one SVG: chart --out F a.hgrm b.hgrm`},
}

// benchModeEntry is mode's entry in the usage's list of modes.
func benchModeEntry(mode string) string {
	for _, m := range benchModes {
		if m.name == mode {
			return fmt.Sprintf("  %-10s %s\n", m.name, strings.ReplaceAll(m.about, "\n", "\n"+strings.Repeat(" ", 13)))
		}
	}
	return ""
}

// benchModeUsage returns the usage func of a mode's flag set.
func benchModeUsage(fs *flag.FlagSet, mode, args string) func() {
	return usageFunc(fs, fmt.Sprintf("Usage: ringex bench %s [flags]%s\n\n%s", mode, args, benchModeEntry(mode)))
}

var benchUsage = func() string {
	var b strings.Builder
	b.WriteString(`Usage: ringex bench mode [flags]

Latency benchmarks with HDR histograms. Load is open-loop: every request has
a planned send time at the asked rate and latency counts from it, so a stall
is never hidden. --rate 0 is "as fast as the in-flight bound allows"
(closed loop: latency is the round trip alone). --wake-grid D (every mode
that runs, and the suite) wakes idle senders together on a grid of D;
latency still counts from the planned time (see 'bench journal --help').

Modes:
`)
	for _, m := range benchModes {
		b.WriteString(benchModeEntry(m.name))
	}
	b.WriteString(`
Every mode that runs writes under --out (default bench-results/<time>/):
a .hgrm file per run and metric, summary.json, table.txt and chart.svg.
Run 'ringex bench MODE --help' for its flags.
`)
	return b.String()
}()

// wakeGridUsage is the --wake-grid flag's help, for every mode and the suite.
const wakeGridUsage = "a sender with nothing due wakes on this grid from the run's start (e.g. 500us), so all senders wake together;\n" +
	"late sends still count from their planned time. 0: each wakes at its own planned time. On a small VM each\n" +
	"timer wake-up of an idle vCPU is costly (see bench.Schedule); on dedicated cores use 0"

// benchMain runs `ringex bench`.
func benchMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && !isHelp(args[1]) {
			return benchMain([]string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, benchUsage)
		return 0
	case "pipeline", "fix", "sweep", "journal":
		err = benchRun(args[0], args[1:], stdout, stderr)
	case "suite":
		err = benchSuite(args[1:], stdout, stderr)
	case "mix":
		err = benchMix(args[1:], stdout, stderr)
	case "chart":
		err = benchChart(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "ringex bench: unknown mode %q\n\n%s", args[0], benchUsage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "ringex bench %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// benchFlags are the flags of pipeline, fix and sweep.
type benchFlags struct {
	fs                             *flag.FlagSet
	rate                           float64
	duration, warmup, drain        time.Duration
	inflight, sessions             int
	seed                           uint64
	sync                           journal.SyncMode
	out, dir                       string
	addr, begin, prefix, senders   string
	target, password, symbols, mix string
	self, responder, qfgo, compare bool
	ordermatch, peerMix            bool
	ordermatchStore                string
	mode                           string
	from, step, to                 float64
	p99, wakeGrid                  time.Duration
	verbose                        bool
}

func newBenchFlags(mode string) *benchFlags {
	f := &benchFlags{fs: flag.NewFlagSet("bench "+mode, flag.ContinueOnError)}
	fs := f.fs
	fs.Usage = benchModeUsage(fs, mode, "")
	rateUsage := "requests per `second` over all sessions; 0: as fast as --inflight allows"
	if mode == "journal" {
		rateUsage = "records per `second` (above 0: the journal alone runs open loop only)"
	}
	fs.Float64Var(&f.rate, "rate", 10000, rateUsage)
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long to send, warm-up included")
	fs.DurationVar(&f.warmup, "warmup", 2*time.Second, "requests planned in this first part are sent but not measured")
	syncUsage := "journal sync `mode` of the node (pipeline, fix --self): batch, interval (2 ms) or none"
	if mode == "journal" {
		syncUsage = "the journal's sync `mode`, as the node's: batch (fsync every batch), interval (at most every 2 ms) or none"
	}
	fs.TextVar(&f.sync, "sync", journal.SyncBatch, syncUsage)
	fs.StringVar(&f.out, "out", "", "results `dir` (default bench-results/<time>)")
	fs.DurationVar(&f.wakeGrid, "wake-grid", 0, wakeGridUsage)
	if mode == "journal" {
		fs.StringVar(&f.dir, "dir", "", "put the run's journal (removed after) in this `folder`, on the disk to measure (default: the system's temp dir)")
		return f
	}
	fs.DurationVar(&f.drain, "drain", 5*time.Second, "how long to wait for answers after the last request")
	fs.IntVar(&f.sessions, "sessions", 8, "FIX sessions (fix) or broker accounts (pipeline)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the order mix")
	fs.BoolVar(&f.verbose, "v", false, "show the node's log")
	if mode == "pipeline" {
		fs.IntVar(&f.inflight, "inflight", 4096, "bound on commands submitted and not yet published")
	} else {
		fs.IntVar(&f.inflight, "inflight", 100, "bound on orders in flight per session")
		fs.StringVar(&f.addr, "addr", "", "FIX acceptor `host:port` to load")
		fs.BoolVar(&f.self, "self", false, "start a ringex node in-process (temp data dir, free port) and load it")
		fs.BoolVar(&f.responder, "responder", false, "load the trivial raw-socket responder (the generator's ceiling)")
		fs.BoolVar(&f.qfgo, "quickfixgo", false, "load a bare quickfixgo acceptor that answers each order at once")
		fs.BoolVar(&f.compare, "compare", mode == "fix", "also run the same load against the responder and the quickfixgo baseline")
		fs.BoolVar(&f.ordermatch, "ordermatch", false, "load QuickFIX/C++'s ordermatch example (scripts/ordermatch.sh must have built it); implies --begin FIX.4.2 --peer-mix")
		fs.StringVar(&f.ordermatchStore, "ordermatch-store", "file", "ordermatch's message store: file (as shipped) or memory")
		fs.BoolVar(&f.peerMix, "peer-mix", false, "send what ordermatch trades: new Day limit orders only (no IOC, cancel or replace)")
		fs.StringVar(&f.begin, "begin", "FIX.4.4", "BeginString: FIX.4.4 or FIX.4.2")
		fs.StringVar(&f.prefix, "sender-prefix", "BROKER", "SenderCompIDs are this and 01, 02, ...")
		fs.StringVar(&f.senders, "senders", "", "comma-separated SenderCompIDs (overrides --sessions and --sender-prefix)")
		fs.StringVar(&f.target, "target", "RINGEX", "the acceptor's CompID")
		fs.StringVar(&f.password, "password", "", "Logon Password(554)")
		fs.StringVar(&f.symbols, "symbols", "AAPL,MSFT,GOOG,AMZN,TSLA,NVDA,META,IBM", "symbols the mix trades (--addr)")
		fs.StringVar(&f.mix, "mix", "", "replay this mix `file` ('ringex bench mix') instead of generating")
	}
	if mode == "sweep" {
		fs.StringVar(&f.mode, "mode", "fix", "what to sweep: fix or pipeline")
		fs.Float64Var(&f.from, "from", 10000, "first rate")
		fs.Float64Var(&f.step, "step", 10000, "rate step")
		fs.Float64Var(&f.to, "to", 200000, "last rate tried")
		fs.DurationVar(&f.p99, "p99", time.Millisecond, "the p99 a rate must stay under to be held")
	}
	return f
}

func (f *benchFlags) parse(args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(f.fs, args, false, stdout, stderr); err != nil {
		return err
	}
	if f.out == "" {
		f.out = filepath.Join("bench-results", time.Now().Format("20060102-150405"))
	}
	if f.ordermatch {
		f.begin, f.peerMix = "FIX.4.2", true
	}
	return nil
}

func (f *benchFlags) senderIDs() []string {
	if f.senders != "" {
		return strings.Split(f.senders, ",")
	}
	return bench.SenderIDs(f.prefix, f.sessions)
}

func (f *benchFlags) logw(stderr io.Writer) io.Writer {
	if f.verbose {
		return stderr
	}
	return nil
}

// fixTargets runs the FIX load at rate against each target the flags name.
func (f *benchFlags) fixRuns(rate float64, name string, stderr io.Writer) ([]*bench.Result, error) {
	senders := f.senderIDs()
	cfg := bench.FIXConfig{BeginString: f.begin, SenderIDs: senders, TargetID: f.target, Password: f.password,
		Symbols: strings.Split(f.symbols, ","), RatePerSec: rate, InflightMax: f.inflight,
		Duration: f.duration, Warmup: f.warmup, Drain: f.drain, Mix: bench.DefaultMix(f.seed, 0), Progress: stderr, WakeGrid: f.wakeGrid}
	if f.peerMix {
		cfg.Mix = bench.PeerMix(f.seed, 0)
	}
	if f.mix != "" {
		file, err := os.Open(f.mix)
		if err != nil {
			return nil, err
		}
		cfg.Streams, err = bench.ReadMix(file)
		file.Close()
		if err != nil {
			return nil, err
		}
	}
	label := fmt.Sprintf("%s %s %dx%d", name, bench.FormatRate(rate), len(senders), f.inflight) + bench.GridSuffix(f.wakeGrid)
	var targets []string
	switch {
	case f.self:
		targets = append(targets, "ringex")
	case f.addr != "":
		targets = append(targets, f.addr)
	}
	if f.ordermatch {
		t := "ordermatch"
		if f.ordermatchStore == "memory" {
			t = "ordermatch-mem"
		}
		targets = append(targets, t)
	}
	if f.responder || f.compare {
		targets = append(targets, "responder")
	}
	if f.qfgo || f.compare {
		targets = append(targets, "quickfixgo")
	}
	if len(targets) == 0 {
		return nil, usageError(f.fs, "name a target: --addr, --self, --responder, --quickfixgo or --ordermatch")
	}
	var results []*bench.Result
	for _, t := range targets {
		r, err := bench.RunFIXTarget(t, cfg, label+" "+t, f.sync, f.logw(stderr))
		if r != nil {
			results = append(results, r)
		}
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func benchRun(mode string, args []string, stdout, stderr io.Writer) error {
	f := newBenchFlags(mode)
	if err := f.parse(args, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s\n", bench.Machine())
	var results []*bench.Result
	var err error
	switch {
	case mode == "pipeline" || (mode == "sweep" && f.mode == "pipeline"):
		runOne := func(rate float64) (*bench.Result, error) {
			return bench.RunPipeline(bench.PipelineConfig{Name: fmt.Sprintf("pipeline %s sync=%s", bench.FormatRate(rate), f.sync) + bench.GridSuffix(f.wakeGrid),
				Sync: f.sync, Accounts: f.sessions, RatePerSec: rate, InflightMax: f.inflight,
				Duration: f.duration, Warmup: f.warmup, Drain: f.drain, Mix: bench.DefaultMix(f.seed, 8),
				Progress: stderr, Log: f.logw(stderr), WakeGrid: f.wakeGrid})
		}
		if mode == "pipeline" {
			var r *bench.Result
			if r, err = runOne(f.rate); r != nil {
				results = append(results, r)
			}
		} else {
			results, err = sweep(f, stdout, func(rate float64) (*bench.Result, error) { return runOne(rate) })
		}
	case mode == "fix":
		results, err = f.fixRuns(f.rate, "fix", stderr)
	case mode == "journal":
		var r *bench.Result
		r, err = bench.RunJournal(bench.JournalConfig{Name: fmt.Sprintf("journal alone %s sync=%s", bench.FormatRate(f.rate), f.sync) + bench.GridSuffix(f.wakeGrid),
			Dir: f.dir, Sync: f.sync, RatePerSec: f.rate, Duration: f.duration, Warmup: f.warmup, Progress: stderr, WakeGrid: f.wakeGrid})
		if r != nil {
			results = append(results, r)
		}
	default: // sweep over fix: the first target the flags name
		f.compare = false
		results, err = sweep(f, stdout, func(rate float64) (*bench.Result, error) {
			rs, err := f.fixRuns(rate, "sweep", stderr)
			if len(rs) == 0 {
				return nil, err
			}
			return rs[0], err
		})
	}
	if len(results) > 0 {
		bench.WriteTable(stdout, results)
		if werr := writeAll(f.out, mode, results); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stdout, "results in %s\n", f.out)
		}
	}
	return err
}

// sweep runs the rates from --from by --step to --to until one misses the
// p99 bound or falls behind, and says which was the highest held.
func sweep(f *benchFlags, stdout io.Writer, run func(rate float64) (*bench.Result, error)) ([]*bench.Result, error) {
	var results []*bench.Result
	held := 0.0
	for rate := f.from; rate <= f.to && f.step > 0; rate += f.step {
		r, err := run(rate)
		if r == nil {
			return results, err
		}
		results = append(results, r)
		ok := bench.Held(r, f.p99)
		fmt.Fprintf(stdout, "  rate %9s/s  achieved %9s/s  p99 %8s  %s\n", bench.FormatRate(rate), bench.FormatRate(r.Achieved),
			bench.FormatNs(r.Ack.P99), map[bool]string{true: "held", false: "NOT held"}[ok])
		if err != nil || !ok {
			break
		}
		held = rate
	}
	if held > 0 {
		fmt.Fprintf(stdout, "highest rate held (p99 under %v, achieved within 5%%, no errors): %s/s\n", f.p99, bench.FormatRate(held))
	} else {
		fmt.Fprintf(stdout, "no rate held (p99 under %v)\n", f.p99)
	}
	return results, nil
}

func writeAll(dir, title string, results []*bench.Result) error {
	if err := bench.WriteResults(dir, results); err != nil {
		return err
	}
	var curves []bench.Curve
	for _, r := range results {
		curves = append(curves, bench.CurveOf(r.Name+" ack", r, "ack"))
	}
	file, err := os.Create(filepath.Join(dir, "chart.svg"))
	if err != nil {
		return err
	}
	defer file.Close()
	return bench.WriteSVG(file, "ringex bench "+title+": order→ack latency by percentile ("+bench.Machine()+")", curves)
}

func benchMix(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench mix", flag.ContinueOnError)
	fs.Usage = benchModeUsage(fs, "mix", "")
	seed := fs.Uint64("seed", 1, "seed")
	sessions := fs.Int("sessions", 8, "sessions")
	orders := fs.Int("orders", 100000, "requests per session")
	symbols := fs.Int("symbols", 8, "symbols")
	out := fs.String("out", "", "output `file` (required)")
	if err := parseFlags(fs, args, false, stdout, stderr); err != nil {
		return err
	}
	if *out == "" {
		return usageError(fs, "--out is required")
	}
	file, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := bench.WriteMix(file, bench.DefaultMix(*seed, *symbols), *sessions, *orders); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func benchChart(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench chart", flag.ContinueOnError)
	fs.Usage = benchModeUsage(fs, "chart", " FILE.hgrm...")
	out := fs.String("out", "chart.svg", "SVG `file` to write")
	title := fs.String("title", "latency by percentile", "chart title")
	if err := parseFlags(fs, args, true, stdout, stderr); err != nil {
		return err
	}
	var curves []bench.Curve
	for _, path := range fs.Args() {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		pts, err := bench.ReadHgrm(file)
		file.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		curves = append(curves, bench.Curve{Name: strings.TrimSuffix(filepath.Base(path), ".hgrm"), Points: pts})
	}
	file, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer file.Close()
	if err := bench.WriteSVG(file, *title, curves); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

func benchSuite(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench suite", flag.ContinueOnError)
	cfg := bench.SuiteConfig{Progress: stderr, Out: stdout}
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "length of each run, warm-up included")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured start of each run")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "wait for answers after each run")
	fs.TextVar(&cfg.Sync, "sync", journal.SyncBatch, "journal sync `mode` of the ringex runs: batch, interval (2 ms) or none")
	fs.DurationVar(&cfg.WakeGrid, "wake-grid", 0, wakeGridUsage)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the order mix")
	fs.BoolVar(&cfg.Sweep, "sweep", true, "end with a rate sweep of ringex over FIX (10,000/s steps, 3 s each)")
	fs.DurationVar(&cfg.SweepP99, "p99", time.Millisecond, "the p99 a sweep step must stay under")
	out := fs.String("out", "", "results `dir` (default bench-results/<time>)")
	peer := fs.String("peer", "auto", "the ordermatch peer runs: auto (when scripts/ordermatch.sh has built it), build (build it first; the suite goes on without it if that fails), off")
	var runs strings.Builder
	runs.WriteString("\nRuns:\n")
	for _, r := range bench.SuiteRuns() {
		fmt.Fprintf(&runs, "  %-28s %-14s sessions %d, in flight %d\n", r.Name, r.Target, r.Sessions, r.Inflight)
	}
	runs.WriteString("\nPeer runs (--peer; FIX 4.2, new Day limit orders only):\n")
	for _, r := range bench.PeerRuns() {
		fmt.Fprintf(&runs, "  %-28s %-14s sessions %d, in flight %d\n", r.Name, r.Target, r.Sessions, r.Inflight)
	}
	fs.Usage = usageFunc(fs, "Usage: ringex bench suite [flags]\n\n"+benchModeEntry("suite")+runs.String())
	if err := parseFlags(fs, args, false, stdout, stderr); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("bench-results", time.Now().Format("20060102-150405"))
	}
	switch *peer {
	case "off":
	case "build":
		if err := bench.BuildOrdermatch(stderr); err != nil {
			fmt.Fprintf(stdout, "# peer: ordermatch not built (%v): the suite runs without it\n", err)
		}
		cfg.Peer = bench.OrdermatchBuilt("file")
	case "auto":
		cfg.Peer = bench.OrdermatchBuilt("file")
		if !cfg.Peer {
			fmt.Fprintf(stdout, "# peer: ordermatch not built (make peer, or make bench PEER=build): the suite runs without it\n")
		}
	default:
		return usageError(fs, "--peer %q: want auto, build or off", *peer)
	}
	fmt.Fprintf(stdout, "# %s\n", bench.Machine())
	start := time.Now()
	results, err := bench.RunSuite(cfg)
	if len(results) > 0 {
		bench.WriteTable(stdout, results)
		if werr := writeAll(*out, "suite", results); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stdout, "results in %s (%v)\n", *out, time.Since(start).Round(time.Second))
		}
	}
	return err
}
