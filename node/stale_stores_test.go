package node_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestHealthyPrimaryIsInSync: `ringex status` prints ReplicationStats; on
// a primary whose standby has caught up and acknowledges every batch,
// inSync is true, as it is on that standby.
func TestHealthyPrimaryIsInSync(t *testing.T) {
	var logP, logS logLines
	p, _ := startRepl(t, replCfg(t.TempDir(), "primary", ""), &logP)
	defer p.Stop()
	s, _ := startRepl(t, replCfg(t.TempDir(), "standby", p.ReplicationAddr().String()), &logS)
	defer s.Stop()
	trade(t, p, "A", 20)
	waitUntil(t, "the standby is in sync", func() bool {
		st, _ := s.ReplicationStats()
		return st.InSync && lastSeq(s) == lastSeq(p)
	})
	waitUntil(t, "the primary says its standby is in sync", func() bool {
		st, _ := p.ReplicationStats()
		return st.InSync && !st.Degraded && st.Standby.Connected
	})
}

// TestPromotionKeepsTheNewestStaleStores: each promotion moves the FIX
// session stores of the node's earlier term aside as fix.epoch-N-stale;
// only the newest three such folders stay.
func TestPromotionKeepsTheNewestStaleStores(t *testing.T) {
	dirP := t.TempDir()
	// The primary's history already has epoch 10: it serves epoch 11, and
	// the standby promoted below moves its own stores aside as epoch 11's.
	if err := os.WriteFile(filepath.Join(dirP, "epoch"), []byte("10 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logP, logS logLines
	cfgP := replCfg(dirP, "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p, _ := startRepl(t, cfgP, &logP)
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)
	for _, name := range []string{"fix", "fix.epoch-5-stale", "fix.epoch-6-stale", "fix.epoch-7-stale", "fix.epoch-9-stale", "fix.epoch-8-stale"} {
		if err := os.MkdirAll(filepath.Join(cfgS.DataDir, name, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	trade(t, p, "A", 10)
	waitUntil(t, "the standby is in sync", func() bool { st, _ := s.ReplicationStats(); return st.InSync && lastSeq(s) == lastSeq(p) })
	failOver(t, p, s)
	var stale []string
	entries, err := os.ReadDir(cfgS.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "fix" && len(e.Name()) > 4 && e.Name()[:4] == "fix." {
			stale = append(stale, e.Name())
		}
	}
	slices.Sort(stale)
	if want := []string{"fix.epoch-11-stale", "fix.epoch-8-stale", "fix.epoch-9-stale"}; !slices.Equal(stale, want) {
		t.Errorf("stale store folders after the promotion: %v, want %v", stale, want)
	}
	if !logS.has("removed stale FIX session stores") {
		t.Error("no log line for the removed folders")
	}
}
