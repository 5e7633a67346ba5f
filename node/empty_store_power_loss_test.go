package node_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestEmptyStoreFilesAfterAPowerLossStillRebuildReports: a node
// starts on an empty data directory; BROKER01's GTC buy and account 3's
// sell that fills it are journaled (fsynced). The machine then loses
// power before BROKER01's session store was ever fsynced (BROKER01 never
// logged on or out, and the node never stopped): its files, created at
// the start, come back empty (the state after a power loss of files
// whose data never reached the disk; simulated by truncating them).
// The broker expects, after its next Logon, its New and its fill rebuilt
// from the journal with PossResend=Y, as after any crash: the journal
// holds both commands. Before the fix, the empty .mark read as "a store
// that predates marks", which the start took as holding everything
// before it, so nothing was rebuilt and BROKER01 never heard of its fill.
// Now an empty .mark holds nothing (fix/storemark.go).
func TestEmptyStoreFilesAfterAPowerLossStillRebuildReports(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	var logs logLines
	n, err := node.Start(cfg, node.Options{Log: logs.Tee(t, "1").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*matcher.Command{order(1, "B1", matcher.Buy, 100, 10), order(3, "S3", matcher.Sell, 100, 10)} {
		if err := n.Submit(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// The power loss: BROKER01's store files exist (created at the start)
	// but hold nothing.
	emptyStore(t, dir, "BROKER01")
	n, err = node.Start(cfg, node.Options{Log: logs.Tee(t, "2").Logger()})
	if err != nil {
		t.Fatalf("restart after the power loss: %v", err)
	}
	defer n.Stop()
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	checkFillAfterCrash(t, "BROKER01 after the power loss", b1, "B1", "")
}

// emptyStore truncates the session store files of compID under the
// data directory dir: a power loss before they were ever fsynced.
func emptyStore(t *testing.T, dir, compID string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "fix", "*"+compID+"*"))
	if len(files) == 0 {
		t.Fatalf("no session store files of %s", compID)
	}
	for _, f := range files {
		if err := os.Truncate(f, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitReport reads c's messages until one has every field of want, and
// returns its fields; after wait it fails the test saying what the broker
// expected and what it got instead.
func awaitReport(t *testing.T, who string, c *fixtest.Client, want map[quickfix.Tag]string) map[quickfix.Tag]string {
	t.Helper()
	var got []map[quickfix.Tag]string
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		for _, m := range c.Drain() {
			f := fixtest.Fields(m)
			got = append(got, f)
			match := true
			for k, v := range want {
				match = match && f[k] == v
			}
			if match {
				return f
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no report with %v within %v; the broker got instead: %v", who, want, wait, got)
	return nil
}
