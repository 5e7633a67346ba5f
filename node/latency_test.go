package node_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestLatencyLogLine: a serving node says in its log how long its commands
// spent from the ring to the publish stage and how long its journal's
// write+fsync took, counting exactly the broker commands that passed; a
// node that passed nothing says nothing.
func TestLatencyLogLine(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	var log logLines
	n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	const orders = 50
	for i := range orders {
		if err := n.Submit(order(1, fmt.Sprintf("S%02d", i), matcher.Sell, int64(100+i), 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`latency over \S+: (\d+) commands, ring → publish p50 \S+ p99 \S+ p99\.9 \S+ max \S+; ` +
		`journal (\d+) batches \(records p50 \d+ p99 \d+\), write\+fsync p50 \S+ p99 \S+ p99\.9 \S+ max \S+$`)
	var found []string
	for _, l := range log.lines {
		if m := line.FindStringSubmatch(l); m != nil {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no latency line at Stop; log: %q", log.lines)
	}
	commands, _ := strconv.Atoi(found[1])
	batches, _ := strconv.Atoi(found[2])
	if commands != orders || batches < 1 || batches > orders {
		t.Fatalf("latency line counts %d commands in %d journal batches, want %d in 1 to %d: %s", commands, batches, orders, orders, found[0])
	}

	cfg.DataDir = t.TempDir()
	var idle logLines
	if n, err = node.Start(cfg, node.Options{Publisher: &sink{}, Logf: idle.logf}); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if idle.has("latency over") {
		t.Fatalf("an idle node logged a latency line: %q", idle.lines)
	}
}
