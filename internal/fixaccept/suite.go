package fixaccept

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartFunc starts a fresh acceptor for one scenario and returns the address
// to dial and a function that stops it. The acceptor must serve s.BeginString
// as SenderCompID ISLD to TargetCompID TW, with ResetOnLogon=Y, HeartBtInt
// 30 and the echo application described in the package comment. RunAll
// calls it once per scenario, from several goroutines at once when
// SuiteOptions.Parallel is above one.
type StartFunc func(s Scenario) (addr string, stop func(), err error)

// SuiteOptions tune RunAll and RunSuite.
type SuiteOptions struct {
	Options
	// Parallel is how many scenarios run at once, each against its own
	// acceptor. Default 1. Scenarios spend most of their time waiting on the
	// acceptor, so more than the number of cores helps.
	Parallel int
	// ScenarioTimeout bounds one scenario, acceptor start included.
	// Default 2 min.
	ScenarioTimeout time.Duration
	// KnownFailures names the scenarios expected to fail, each with why.
	// RunSuite logs them instead of failing the test, and logs a known
	// failure that passes so that the list can shrink.
	KnownFailures map[string]string
}

// Summary is the outcome of a directory of scenarios.
type Summary struct {
	Dir     string
	Results []Result // in file-name order
	Passed  int
	Failed  int
	Elapsed time.Duration
}

func (s Summary) String() string {
	return fmt.Sprintf("%s: %d passed, %d failed in %v", s.Dir, s.Passed, s.Failed, s.Elapsed.Round(100*time.Millisecond))
}

// Failures lists the failing scenarios, one per line, with their reasons.
func (s Summary) Failures() string {
	var b strings.Builder
	for _, r := range s.Results {
		if !r.Passed {
			fmt.Fprintf(&b, "%s: %v\n", r.Name, r.Err)
		}
	}
	return b.String()
}

// RunAll plays each scenario against its own acceptor from start and
// returns the results in the order of scenarios. Scenarios that wait on the
// acceptor's timers start first, so that they overlap the quick ones.
func RunAll(ctx context.Context, scenarios []Scenario, start StartFunc, opts SuiteOptions) []Result {
	parallel := max(opts.Parallel, 1)
	scenarioTimeout := cmp.Or(opts.ScenarioTimeout, 2*time.Minute)

	order := make([]int, len(scenarios))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(timerWait(scenarios[b]), timerWait(scenarios[a]))
	})

	results := make([]Result, len(scenarios))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(scenarios)) {
		wg.Go(func() {
			for i := range jobs {
				sctx, cancel := context.WithTimeout(ctx, scenarioTimeout)
				results[i] = runOne(sctx, scenarios[i], start, opts.Options)
				cancel()
			}
		})
	}
	for _, i := range order {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return results
}

func runOne(ctx context.Context, s Scenario, start StartFunc, opts Options) Result {
	t0 := time.Now()
	if err := ctx.Err(); err != nil {
		return Result{Name: s.Name, Err: fmt.Errorf("not started: %w", err)}
	}
	addr, stop, err := start(s)
	if err != nil {
		return Result{Name: s.Name, Err: fmt.Errorf("start acceptor: %w", err), Elapsed: time.Since(t0)}
	}
	r := Run(ctx, addr, s, opts)
	stop()
	r.Elapsed = time.Since(t0)
	return r
}

// timerWait estimates how long a scenario waits on the acceptor's own timers:
// one heartbeat interval for each expected message or disconnect that no
// message of ours has prompted, on a connection with a short HeartBtInt.
// Only the order of the estimates matters.
func timerWait(s Scenario) time.Duration {
	var total time.Duration
	heartBtInt := map[int]time.Duration{}
	prev := map[int]StepKind{}
	for _, step := range s.Steps {
		switch step.Kind {
		case Send:
			if hb := logonHeartBtInt(step.Text); hb > 0 {
				heartBtInt[step.Conn] = hb
			}
		case Expect, ExpectDisconnect:
			hb := heartBtInt[step.Conn]
			if prev[step.Conn] != Send && hb > 0 && hb < standardHeartBtInt {
				total += hb
			}
		}
		prev[step.Conn] = step.Kind
	}
	return total
}

// RunSuite is the test helper: it loads the .def files in dir, plays each
// against a fresh acceptor from start, and reports one subtest per scenario.
// A scenario that fails fails the test unless opts.KnownFailures names it;
// a known failure is logged with its reason, and a known failure that now
// passes is logged so that the list can be updated. The last log line reads
// "N passed, N failed".
func RunSuite(t *testing.T, dir string, start StartFunc, opts SuiteOptions) Summary {
	t.Helper()
	scenarios, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool, len(scenarios))
	for _, s := range scenarios {
		names[s.Name] = true
	}
	for name := range opts.KnownFailures {
		if !names[name] {
			t.Errorf("KnownFailures names %q, which is not a scenario in %s", name, dir)
		}
	}

	if match := subtestFilter(t); match != nil {
		selected := scenarios[:0:0]
		for _, s := range scenarios {
			if match(s.Name) {
				selected = append(selected, s)
			}
		}
		scenarios = selected
	}

	t0 := time.Now()
	sum := Summary{Dir: dir, Results: RunAll(t.Context(), scenarios, start, opts)}
	sum.Elapsed = time.Since(t0)
	known, nowPassing := 0, 0
	for _, r := range sum.Results {
		why, isKnown := opts.KnownFailures[r.Name]
		if r.Passed {
			sum.Passed++
		} else {
			sum.Failed++
		}
		if !r.Passed && isKnown {
			known++
		}
		if r.Passed && isKnown {
			nowPassing++
		}
		t.Run(r.Name, func(t *testing.T) {
			switch {
			case r.Passed && isKnown:
				t.Logf("passes now (%v); remove it from KnownFailures (%s)", r.Elapsed.Round(time.Millisecond), why)
			case r.Passed:
				t.Logf("passed in %v", r.Elapsed.Round(time.Millisecond))
			case isKnown:
				t.Logf("known failure (%s): %v\n%s", why, r.Err, transcript(r))
			default:
				t.Errorf("%v\n%s", r.Err, transcript(r))
			}
		})
	}
	t.Logf("%v (%d known failures, %d known failures now passing)", sum, known, nowPassing)
	return sum
}

func transcript(r Result) string {
	if len(r.Transcript) == 0 {
		return "    (nothing sent or received)"
	}
	return "    transcript:\n        " + strings.Join(r.Transcript, "\n        ")
}

// subtestFilter reads the part of -test.run that selects t's subtests, so
// that "go test -run 'TestX/FIX42/3b_'" plays only the scenarios it names
// rather than all of them and then reporting one. It returns nil when every
// scenario runs. Like the testing package, it splits the pattern at '/';
// unlike it, it does not look inside brackets or parentheses.
func subtestFilter(t *testing.T) func(string) bool {
	f := flag.Lookup("test.run")
	if f == nil {
		return nil
	}
	parts := strings.Split(f.Value.String(), "/")
	depth := strings.Count(t.Name(), "/") + 1
	if len(parts) <= depth || parts[depth] == "" {
		return nil
	}
	re, err := regexp.Compile(parts[depth])
	if err != nil {
		return nil
	}
	return re.MatchString
}
