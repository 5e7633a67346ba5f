package node_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/replica"
)

// TestBothStartedAsPrimaryDoNotShareAnEpoch: a pair in sync is stopped, and
// each node is then started as primary on its own (an operator's mistake, or
// a partition with manual promotion). Both pick epoch number 2 at the same
// seq, and both journal different orders there. When one is then started
// as standby of the other, the histories must not compare equal: the
// standby is told its records after the shared prefix are not the
// primary's, instead of following a different journal silently.
func TestBothStartedAsPrimaryDoNotShareAnEpoch(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	var logA, logB logLines
	asyncCfg := func(dir, role, primary string) config.Config {
		cfg := replCfg(dir, role, primary)
		cfg.Replication.Mode = config.ModeAsync
		cfg.Snapshot = config.Snapshot{} // no checkpoint records: the seqs below are exact
		return cfg
	}
	a, _ := startRepl(t, asyncCfg(dirA, "primary", ""), &logA)
	b, _ := startRepl(t, asyncCfg(dirB, "standby", a.ReplicationAddr().String()), &logB)
	trade(t, a, "S", 100)
	waitUntil(t, "standby has the shared prefix", func() bool { return lastSeq(a) >= 100 && lastSeq(b) == lastSeq(a) })
	shared := lastSeq(a)
	time.Sleep(50 * time.Millisecond)
	b.Stop()
	a.Stop()

	a, _ = startRepl(t, asyncCfg(dirA, "primary", ""), &logA)
	trade(t, a, "A", 20)
	waitUntil(t, "A journals its own term", func() bool { return lastSeq(a) == shared+20 })
	b, _ = startRepl(t, asyncCfg(dirB, "primary", ""), &logB)
	trade(t, b, "B", 20)
	waitUntil(t, "B journals its own term", func() bool { return lastSeq(b) == shared+20 })
	ha, _ := replica.LoadHistory(dirA)
	hb, _ := replica.LoadHistory(dirB)
	ea, eb := ha.Entries(), hb.Entries()
	if ea[len(ea)-1].Epoch != eb[len(eb)-1].Epoch || ea[len(ea)-1].FirstSeq != eb[len(eb)-1].FirstSeq {
		t.Fatalf("histories %v and %v: the test wants both terms to share number and first seq", ea, eb)
	}
	if ea[len(ea)-1] == eb[len(eb)-1] {
		t.Fatalf("two terms begun on two nodes compare equal: %v", ea[len(ea)-1])
	}
	b.Stop()

	b, _ = startRepl(t, asyncCfg(dirB, "standby", a.ReplicationAddr().String()), &logB)
	select {
	case <-b.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("B followed A although their journals differ after seq", shared)
	}
	var div *replica.DivergedError
	if !errors.As(b.FailErr(), &div) || div.Keep != shared || div.Last != shared+20 {
		t.Fatalf("B stopped with %v, want DivergedError keep %d last %d", b.FailErr(), shared, shared+20)
	}
	b.Stop()
	a.Stop()
}
