package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestRunServesUntilCancelled drives `ringex serve`'s supervisor: Serving
// sees the node it started, and cancelling the context stops that node
// cleanly (Run returns nil, and Serving's stop ran first).
func TestRunServesUntilCancelled(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	served, stopped := make(chan *node.Node, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Log: logtest.New(t)},
			Serving: func(n *node.Node) func() { served <- n; return func() { close(stopped) } }})
	}()
	select {
	case n := <-served:
		if n.Err() != nil {
			t.Fatalf("the node Run started has failed: %v", n.Err())
		}
	case err := <-done:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(wait):
		t.Fatal("Run started no node")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after its context was cancelled")
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Run returned without calling Serving's stop")
	}
}
