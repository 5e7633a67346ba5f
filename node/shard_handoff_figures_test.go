package node_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestHandoffHoldFigures measures, in one run (RINGEX_REPL_FIGURES=1), how
// long a handoff holds the leader's acknowledgements when its target is a
// standby catching up a backlog, as the gap in the acknowledgements the
// leader hands its FIX sessions (its publisher) while orders flow at
// 1,000/s: once holding from the start as before (lag unbounded, 10 s),
// once with the approach first (the defaults), twice each, alternately.
func TestHandoffHoldFigures(t *testing.T) {
	figuresWanted(t)
	etcd := etcdtest.Start(t)
	const backlog = 100000
	var gaps [2][]time.Duration
	for round := range 4 {
		before := round%2 == 0
		restore := func() {}
		if before {
			restore = node.SetHandoffBounds(1<<62, 10*time.Second, 10*time.Second)
		}
		gap, took := handoffGap(t, etcd, fmt.Sprintf("hf%d", round), backlog)
		restore()
		i := map[bool]int{true: 0, false: 1}[before]
		gaps[i] = append(gaps[i], gap)
		t.Logf("round %d %-22s acknowledgement gap %-8v handoff took %v", round,
			map[bool]string{true: "hold from the start", false: "approach, then hold"}[before], gap.Round(time.Millisecond), took.Round(time.Millisecond))
	}
	ratio := float64(gaps[0][0]+gaps[0][1]) / float64(gaps[1][0]+gaps[1][1])
	t.Logf("FIGURE handoff to a standby catching up %d records, 1,000 orders/s: acknowledgement gap before %v %v, after %v %v; ratio before/after %.1f",
		backlog, gaps[0][0].Round(time.Millisecond), gaps[0][1].Round(time.Millisecond), gaps[1][0].Round(time.Millisecond), gaps[1][1].Round(time.Millisecond), ratio)
}

// handoffGap runs a two-node shard, stops its standby, has the primary
// journal backlog orders alone, starts the standby again and at once hands
// it the shard under a flow of 1,000 orders/s. It returns the longest gap
// between acknowledgements of the leader while the handoff ran (to its
// end), and how long the handoff took.
func handoffGap(t *testing.T, etcd *etcdtest.Server, shard string, backlog int) (gap, took time.Duration) {
	dirs := [2]string{t.TempDir(), t.TempDir()}
	pubs := [2]*stampSink{{}, {}}
	cfgs := [2]config.Config{}
	for i := range cfgs {
		cfg := replCfg(dirs[i], "", "")
		cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
		cfg.Replication.OnStandbyLost, cfg.Replication.SyncTimeoutMs = config.LostAsync, 200
		cfg.Snapshot.EveryCommands = 10000
		cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: shard, Name: fmt.Sprintf("n%d", i), LeaseTTLMs: 2000}
		cfgs[i] = cfg
	}
	n0, stop0 := runFigureShard(t, cfgs[0], pubs[0])
	defer stop0()
	n1, stop1 := runFigureShard(t, cfgs[1], pubs[1])
	trade(t, n0, "A", 100)
	waitUntil(t, "the standby has everything", func() bool { return lastSeq(n0) >= 100 && lastSeq(n1) == lastSeq(n0) })
	stop1()
	trade(t, n0, "B", backlog)
	waitUntil(t, "the backlog acknowledged", func() bool { return pubs[0].count() > backlog })
	_, stop1 = runFigureShard(t, cfgs[1], pubs[1])
	defer stop1()

	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 1,000 orders/s until the leader refuses them or the test stops
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			side := matcher.Buy
			if i%2 == 1 {
				side = matcher.Sell
			}
			if n0.Submit(order(uint32(1+i%3), fmt.Sprintf("L%d", i), side, 100, 1)) != nil {
				return
			}
		}
	}()
	began := time.Now()
	pubs[0].watchGaps(began)
	if _, err := n0.Handoff("n1"); err != nil {
		t.Fatalf("handoff to n1: %v", err)
	}
	ended := time.Now()
	gap = pubs[0].maxGap(ended)
	close(stopLoad)
	wg.Wait()
	return gap, ended.Sub(began)
}

// stampSink is a Publisher that counts events and, from watchGaps on,
// keeps the longest gap between two of them.
type stampSink struct {
	mu     sync.Mutex
	n      int
	since  time.Time // zero: not watching
	last   time.Time
	gapMax time.Duration
}

func (s *stampSink) Publish(*matcher.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.since.IsZero() {
		return
	}
	now := time.Now()
	s.gapMax = max(s.gapMax, now.Sub(s.last))
	s.last = now
}

func (s *stampSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *stampSink) watchGaps(from time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since, s.last, s.gapMax = from, from, 0
}

// maxGap is the longest gap seen, counting the one from the last event to
// end.
func (s *stampSink) maxGap(end time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.gapMax, end.Sub(s.last))
}
