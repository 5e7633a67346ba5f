package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
)

// TestOldPrimaryRejoinsAsStandbyByItself: a pair in sync; the standby goes
// away and the primary journals orders alone (async: nobody was told of
// them as replicated); the primary stops and the standby starts as primary
// of a new epoch. The old primary then starts with its own configuration,
// role primary with the peer's address: it finds the new primary serving,
// does not begin a term, is told its own records are not the new primary's,
// and node.Run (the loop of 'ringex serve') cuts them and starts it again
// in place, following as standby with the new primary's history and
// journal.
func TestOldPrimaryRejoinsAsStandbyByItself(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	var logA, logB logLines
	cfgOf := func(dir, role, primary string) config.Config {
		c := replCfg(dir, role, primary)
		c.Replication.Mode = config.ModeAsync
		return c
	}
	a, _ := startRepl(t, cfgOf(dirA, "primary", ""), &logA)
	b, _ := startRepl(t, cfgOf(dirB, "standby", a.ReplicationAddr().String()), &logB)
	trade(t, a, "S", 60)
	waitUntil(t, "standby has the shared prefix", func() bool { return lastSeq(a) >= 60 && lastSeq(b) == lastSeq(a) })
	b.Stop()
	shared := lastSeq(b) // what the standby has, not what a journaled since
	trade(t, a, "A", 15)
	waitUntil(t, "A journals alone", func() bool { return lastSeq(a) >= shared+15 })
	a.Stop()
	aLast := lastSeq(a) // after Stop: a checkpoint's hash record may follow the trades
	b, _ = startRepl(t, cfgOf(dirB, "primary", ""), &logB)
	trade(t, b, "B", 10)
	waitUntil(t, "B journals in its epoch", func() bool { return lastSeq(b) >= shared+10 })
	bStats, _ := b.ReplicationStats()

	// The old primary's own configuration: role primary, the peer named,
	// run by the supervisor 'ringex serve' runs.
	aCfg := cfgOf(dirA, "primary", b.ReplicationAddr().String())
	ctx, cancel := context.WithCancel(context.Background())
	started, ran := make(chan *node.Node, 4), make(chan error, 1)
	go func() {
		logger := logA.Tee(t, "").Logger()
		ran <- node.Run(ctx, aCfg, node.RunOptions{Options: node.Options{Publisher: &sink{}, Log: logger},
			Serving: func(n *node.Node) func() { started <- n; return func() {} }})
	}()
	first := nextStart(t, started, ran)
	if !logA.has("REJOINING AS STANDBY") {
		t.Fatal("the old primary did not say it rejoins as standby")
	}
	// It must stop on its own, cut its records and start again in place.
	a = nextStart(t, started, ran)
	var div *replica.DivergedError
	if !errors.As(first.FailErr(), &div) || div.Keep != shared || div.Last != aLast {
		t.Fatalf("old primary stopped with %v, want DivergedError keep %d last %d", first.FailErr(), shared, aLast)
	}

	trade(t, b, "C", 10)
	waitUntil(t, "the old primary follows the new one", func() bool { return lastSeq(b) >= shared+20 && lastSeq(a) == lastSeq(b) })
	st, _ := a.ReplicationStats()
	if st.Role != config.RoleStandby || st.Epoch != bStats.Epoch || a.ReplicationAddr() != nil {
		t.Fatalf("old primary: role %s epoch %d, replication port %v; want standby at the new primary's epoch %d, no port",
			st.Role, st.Epoch, a.ReplicationAddr(), bStats.Epoch)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run of the old primary after cancel: %v", err)
	}
	b.Stop()
	sameJournal(t, dirB, dirA)
}

// nextStart waits for the next node node.Run starts (its Serving hook
// sends it on started); ran gets Run's result should it end instead.
func nextStart(t *testing.T, started <-chan *node.Node, ran <-chan error) *node.Node {
	t.Helper()
	select {
	case n := <-started:
		return n
	case err := <-ran:
		t.Fatalf("Run ended (%v) instead of starting a node", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Run started no node within 60 s")
	}
	return nil
}
