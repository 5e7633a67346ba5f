package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
)

// TestOneMachinePairsGetTheirOwnHTTPEndpoint: docs/operations.md's "On
// one machine, for a try" pair and scripts/shard.sh (`make shard`) start
// two `ringex serve` on one machine, each with its own FIX, replication
// and admin ports, and each with its own --http: on the default
// http.listen, 127.0.0.1:9881, for both, the second node could not open
// it and would serve without metrics, health and status page
// (cmd/ringex/web.go, openWeb).
func TestOneMachinePairsGetTheirOwnHTTPEndpoint(t *testing.T) {
	def := config.Default().HTTP.Listen
	httpOf := func(line string) string {
		if m := regexp.MustCompile(`--http[ =](\S+)`).FindStringSubmatch(line); m != nil {
			return m[1]
		}
		return def
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "On one machine, for a try")
	block, _, _ = strings.Cut(block, "```\n\n")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if strings.HasPrefix(l, "ringex serve ") {
			lines = append(lines, l)
		}
	}
	if !ok || len(lines) != 2 {
		t.Fatalf("docs/operations.md: the one-machine pair's two serve lines not found (%d)", len(lines))
	}
	if a, b := httpOf(lines[0]), httpOf(lines[1]); a == b {
		t.Errorf("docs/operations.md's one-machine pair: both nodes take http.listen %s (primary: %q; standby: %q)", a, lines[0], lines[1])
	}
	sh, err := os.ReadFile("../../scripts/shard.sh")
	if err != nil {
		t.Fatal(err)
	}
	serve := regexp.MustCompile(`(?s)"\$BIN" serve .*?&\n`).FindString(string(sh))
	if serve == "" {
		t.Fatal("scripts/shard.sh: its serve line not found")
	}
	if !strings.Contains(serve, "--http") {
		t.Errorf("scripts/shard.sh starts node0 and node1 on one machine with the same http.listen %s: %q", def, serve)
	}
}
