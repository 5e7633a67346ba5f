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
// write+fsync took, counting exactly the commands that passed (the
// broker's, and the records its start journaled); a node that passed
// nothing says nothing.
func TestLatencyLogLine(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	var log logLines
	n, err := node.Start(cfg, node.Options{Publisher: &sink{}, Log: log.Logger()})
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
	line := regexp.MustCompile(`level=INFO msg=latency component=node over=\S+ commands=(\d+) publish_p50=\S+ publish_p99=\S+ publish_p999=\S+ publish_max=\S+ ` +
		`batches=(\d+) batch_records_p50=\d+ batch_records_p99=\d+ fsync_p50=\S+ fsync_p99=\S+ fsync_p999=\S+ fsync_max=\S+$`)
	var found []string
	for _, l := range log.All() {
		if m := line.FindStringSubmatch(l); m != nil {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no latency line at Stop; log: %q", log.All())
	}
	commands, _ := strconv.Atoi(found[1])
	batches, _ := strconv.Atoi(found[2])
	// The records the start journals before the first order (symbol scale,
	// STP) pass the publish stage too.
	if want := orders + int(firstStartRecords(cfg)); commands != want || batches < 1 || batches > want {
		t.Fatalf("latency line counts %d commands in %d journal batches, want %d in 1 to %d: %s", commands, batches, want, want, found[0])
	}

	// Started again on its journal, the node journals nothing at start.
	var idle logLines
	if n, err = node.Start(cfg, node.Options{Publisher: &sink{}, Log: idle.Logger()}); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if idle.Has("msg=latency ") {
		t.Fatalf("an idle node logged a latency line: %q", idle.All())
	}
}
