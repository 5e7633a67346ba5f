package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// TestFailedAutomaticPromotionStopsTheNode: a standby whose sessions
// contradict the journal's account bindings (here swapped) cannot be
// promoted (accounts.go refuses it). When its primary dies and the
// standby's automatic failover tries, the promotion fails; the node must
// then stop on its own (Done), so that `ringex serve` (node.Run) exits
// non-zero naming why, instead of running on as a failed node that is
// neither standby nor primary.
func TestFailedAutomaticPromotionStopsTheNode(t *testing.T) {
	cfgP := replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	cfgP.FIX.Sessions = venueWith("", "", "BROKER01", "BROKER02").FIX.Sessions
	p, err := node.Start(cfgP, node.Options{Logf: func(f string, a ...any) { t.Logf("P: "+f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	cfgS := replCfg(t.TempDir(), "standby", p.ReplicationAddr().String())
	cfgS.FIX.Listen = fixtest.FreeAddr(t)
	cfgS.FIX.Sessions = venueWith("", "", "BROKER02", "BROKER01").FIX.Sessions
	cfgS.Replication.FailoverMs = 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan *node.Node, 4)
	ran := make(chan error, 1)
	go func() {
		ran <- node.Run(ctx, cfgS, node.RunOptions{Options: node.Options{Logf: func(f string, a ...any) { t.Logf("S: "+f, a...) }},
			Serving: func(n *node.Node) func() { served <- n; return func() {} }})
	}()
	var s *node.Node
	select {
	case s = <-served:
	case err := <-ran:
		t.Fatalf("the standby did not start: %v", err)
	case <-time.After(wait):
		t.Fatal("the standby did not start")
	}
	waitUntil(t, "the standby has the bindings", func() bool {
		st, _ := s.ReplicationStats()
		return st.InSync && lastSeq(s) == lastSeq(p) && lastSeq(s) >= 2
	})
	p.Stop() // the primary dies; the standby promotes itself and is refused

	select {
	case err := <-ran:
		if err == nil {
			t.Fatal("Run returned nil after a failed promotion")
		}
		t.Logf("Run ended: %v", err)
	case <-time.After(2 * wait):
		t.Fatalf("the standby's promotion failed (node error: %v), but the node neither stopped on its own (Done) nor served: node.Run still runs", s.Err())
	}
}
