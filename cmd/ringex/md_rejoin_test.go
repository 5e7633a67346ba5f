package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// syncBuffer is a bytes.Buffer that `ringex md listen` writes while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMdListenAcrossNodeRestart: `ringex md listen` joins the feed, from
// a snapshot, and prints every message applied; a join lasts as long as
// its recovery connection. The node restarts (its recovery service, and
// so the join, end with it) and trades again. listen notices the closed
// connection, joins again and prints the new messages (or, failing that,
// exits non-zero saying the feed was lost): never a silent exit 0 having
// missed them.
func TestMdListenAcrossNodeRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery, cfg.Feed.HeartbeatMs = true, fixtest.FreeAddr(t), 20
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	first := n
	t.Cleanup(func() { first.Stop() })
	order := func(id, px string) {
		t.Helper()
		b := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
		defer b.Close()
		b.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5",
			tag.OrdType, "2", tag.Price, px, tag.TimeInForce, "1")
		if m := b.Next(10 * time.Second); m == nil {
			t.Fatalf("%s: no execution report", id)
		}
	}
	order("S1", "101.00")

	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"md", "listen", "--recovery", cfg.Feed.Recovery, "--count", "3", "--for", "15s"}, &out, &errOut)
	}()
	// listen is joined once it prints the Add of S2.
	adds := func() int { return strings.Count(out.String(), " A sym ") }
	for i := 0; adds() < 1; i++ {
		if i == 100 {
			t.Fatalf("md listen printed no Add within 10 s: stdout %q, stderr %q", out.String(), errOut.String())
		}
		if i%10 == 0 {
			order(fmt.Sprintf("S2-%d", i), "102.00")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	for i := range 5 {
		order(fmt.Sprintf("S3-%d", i), "103.00")
	}
	code := <-done
	if code == 0 && adds() < 3 {
		t.Fatalf("md listen exited 0 having printed %d Adds: the orders the restarted node put on its feed never reached it, and nothing said so.\nstdout:\n%s\nstderr: %s",
			adds(), out.String(), errOut.String())
	}
	if code != 0 || adds() < 3 || !strings.Contains(errOut.String(), "again") {
		t.Fatalf("md listen exited %d having printed %d Adds; want it to join the restarted node again, say so, and print its orders.\nstdout:\n%s\nstderr: %s",
			code, adds(), out.String(), errOut.String())
	}
	t.Logf("md listen: exit %d, %d Adds; stderr %s", code, adds(), errOut.String())
}
