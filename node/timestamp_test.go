package node_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// submitConcurrently has sessions goroutines, one account each, submit
// perSession orders at once, buys and sells that cross, so that the
// writers race on the ring's claims and trades report the stamp too.
func submitConcurrently(t *testing.T, n *node.Node, sessions, perSession int, tag string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			side := matcher.Buy
			if s%2 == 1 {
				side = matcher.Sell
			}
			for i := range perSession {
				c := order(uint32(s+1), fmt.Sprintf("%s-%d-%d", tag, s, i), side, 100+int64(i%3), 1)
				if err := n.Submit(c); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("submit: %v", err)
	}
}

// journaledTimes reads every record's TimeNs, by seq, and fails the test
// at the first one stamped earlier than the record before it.
func journaledTimes(t *testing.T, dir string) map[int64]int64 {
	t.Helper()
	times := map[int64]int64{}
	var prev, prevSeq int64
	err := journal.Read(filepath.Join(dir, "journal"), 1, func(seq int64, rec []byte) error {
		var c matcher.Command
		if err := c.DecodeAt(rec, seq); err != nil {
			return err
		}
		if c.TimeNs < prev {
			t.Errorf("seq %d (%s) is stamped %d, %d ns before seq %d", seq, c.Kind, c.TimeNs, prev-c.TimeNs, prevSeq)
		}
		prev, prevSeq, times[seq] = c.TimeNs, seq, c.TimeNs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return times
}

// sameTimes checks that every published event carries the TimeNs its
// command was journaled with: the stamp is made before anything reads it.
func sameTimes(t *testing.T, out *sink, times map[int64]int64) {
	t.Helper()
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.evs) == 0 {
		t.Fatal("no event published")
	}
	for _, ev := range out.evs {
		if want, ok := times[ev.Seq]; !ok || ev.TimeNs != want {
			t.Fatalf("event %v of seq %d carries TimeNs %d; the journal has %d (journaled: %v)", ev.Type, ev.Seq, ev.TimeNs, want, ok)
		}
	}
}

// TestTimeNsNonDecreasingInJournalOrder: many sessions submit at once, so
// writers claim slots concurrently and read the clock in another order
// than their claims; the journal's TimeNs still never steps back, every
// event carries its command's journaled stamp, and a restart goes on from
// the last stamp. With and without the risk stage, which is the stage
// that stamps when there is one.
func TestTimeNsNonDecreasingInJournalOrder(t *testing.T) {
	for _, mode := range []config.RiskMode{config.RiskModeNone, config.RiskModeLimits} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Default()
			cfg.DataDir = dir
			cfg.Risk.Mode = mode
			out := &sink{}
			n, err := node.Start(cfg, node.Options{Publisher: out, Log: logtest.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			submitConcurrently(t, n, 8, 250, "a")
			if _, err := n.EndOfDay(); err != nil {
				t.Fatal(err)
			}
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			times := journaledTimes(t, dir)
			if len(times) < 8*250 {
				t.Fatalf("%d records journaled, want at least %d", len(times), 8*250)
			}
			sameTimes(t, out, times)

			out2 := &sink{}
			n, err = node.Start(cfg, node.Options{Publisher: out2, Log: logtest.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			submitConcurrently(t, n, 8, 100, "b")
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			times = journaledTimes(t, dir)
			sameTimes(t, out2, times)
		})
	}
}

// TestRestartKeepsTimeNsWhenTheClockIsBehind: the journal's last record is
// stamped an hour ahead of the clock (the clock stepped back while the
// node was down); the commands after a restart are stamped no earlier,
// and the event of each carries that stamp.
func TestRestartKeepsTimeNsWhenTheClockIsBehind(t *testing.T) {
	dir := t.TempDir()
	ahead := journalAhead(t, dir)
	cfg := config.Default()
	cfg.DataDir = dir
	out := &sink{}
	n, err := node.Start(cfg, node.Options{Publisher: out, Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	submitConcurrently(t, n, 4, 50, "c")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	times := journaledTimes(t, dir)
	if len(times) < 1+4*50 {
		t.Fatalf("%d records journaled, want at least %d", len(times), 1+4*50)
	}
	notBefore(t, times, ahead)
	sameTimes(t, out, times)
}

// journalAhead writes a journal in dir whose one record, a resting sell,
// is stamped an hour ahead of the clock, and returns that stamp.
func journalAhead(t *testing.T, dir string) int64 {
	t.Helper()
	ahead := time.Now().Add(time.Hour).UnixNano()
	j, err := journal.Open(journal.Options{Dir: filepath.Join(dir, "journal"), Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	var buf [matcher.CommandSize]byte
	first := order(1, "S1", matcher.Sell, 100, 10)
	first.Seq, first.TimeNs = 1, ahead
	if err := j.Append(1, first.Encode(buf[:])); err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return ahead
}

// notBefore fails the test for every record stamped before floor.
func notBefore(t *testing.T, times map[int64]int64, floor int64) {
	t.Helper()
	for seq, ns := range times {
		if ns < floor {
			t.Errorf("seq %d stamped %d, %d ns before the floor %d", seq, ns, floor-ns, floor)
		}
	}
}

// TestPromotedStandbyKeepsTimeNs: the primary goes on from a journal
// stamped an hour ahead of the clock; its standby follows those stamps
// and stamps nothing; once promoted, the commands it takes are stamped no
// earlier than the last record it applied.
func TestPromotedStandbyKeepsTimeNs(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	ahead := journalAhead(t, dirP)
	var logP, logS logLines
	p, _ := startRepl(t, replCfg(dirP, "primary", ""), &logP)
	s, outS := startRepl(t, replCfg(dirS, "standby", p.ReplicationAddr().String()), &logS)
	trade(t, p, "A", 100)
	waitUntil(t, "standby has everything", func() bool { return lastSeq(p) >= 100 && lastSeq(s) == lastSeq(p) })
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	before := lastSeq(s)
	submitConcurrently(t, s, 4, 50, "p")
	waitUntil(t, "the promoted node journals them", func() bool { return lastSeq(s) >= before+4*50 })
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	times := journaledTimes(t, dirS)
	notBefore(t, times, ahead)
	out := outS
	out.mu.Lock()
	for _, ev := range out.evs {
		if ev.Seq > before && ev.TimeNs != times[ev.Seq] {
			t.Errorf("event of seq %d carries TimeNs %d; the journal has %d", ev.Seq, ev.TimeNs, times[ev.Seq])
		}
	}
	out.mu.Unlock()
}
