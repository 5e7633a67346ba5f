package matcher

import (
	"os"
	"strconv"
	"testing"
)

// TestReplayMixForCallgrind replays the benchmark mix through a warm engine
// in one function, so an instruction counter can count the engine alone:
//
//	go test -c -o /tmp/m.test ./matcher
//	MATCHER_REPLAY=200000 GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 \
//	    valgrind --tool=callgrind --toggle-collect='*replayCommands*' \
//	    /tmp/m.test -test.run ReplayMixForCallgrind
//
// Instructions per op = the total collected / MATCHER_REPLAY. Callgrind
// aborts on the runtime's preemption signals without asyncpreemptoff, and
// with the collector on, write barriers inside Apply add noise. Skipped
// unless MATCHER_REPLAY is set.
func TestReplayMixForCallgrind(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MATCHER_REPLAY"))
	if n <= 0 {
		t.Skip("set MATCHER_REPLAY to the number of commands to replay")
	}
	m, e := newMixEngine(benchConfig())
	cmds := make([]Command, 0, n+benchChunk)
	for len(cmds) < n {
		cmds = m.refill(cmds)
	}
	cmds = cmds[:n]
	out := make([]Event, 0, 1024)
	replayCommands(e, cmds, out)
	t.Logf("replayed %d commands, %d resting", n, e.RestingOrders())
}

//go:noinline
func replayCommands(e *Engine, cmds []Command, out []Event) {
	for i := range cmds {
		out = e.Apply(&cmds[i], out[:0])
	}
}
