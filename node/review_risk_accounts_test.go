package node_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/node"
)

// TestReviewFirmAccountAddedAfterACheckpoint: a venue adds a trading
// account to a firm (firms[].accounts) and restarts. docs/design.md says a
// new account takes the next id and the others keep theirs and their
// balances; risk.State.Restore says a snapshot with fewer accounts is
// restored ("sessions appended since are empty"). A venue should start,
// with ACC-A's cash as it was and ACC-Z empty.
//
// ringex refuses to start once a checkpoint was taken: risk's account
// table is sized by the config (riskAccounts, node/accounts.go: 1023 +
// the number of named accounts), and its Snapshot, which is the risk
// state's hash, writes that size and every cell; restoreData
// (node/checkpoint.go) compares the state hash of the restored, larger
// state with the one the file recorded, and they differ. (A replay from
// the journal without a snapshot would hit the same difference at the
// first checkpoint hash record.) An operator cannot add an account to a
// firm on a spot venue that has ever taken a checkpoint.
func TestReviewFirmAccountAddedAfterACheckpoint(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	after, err := n.Funds(false, "ACC-A", "cash", "1")
	if err != nil {
		t.Fatal(err)
	}
	jdir := filepath.Join(dir, "journal")
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		if seq, _, _, ok, err := journal.LatestSnapshot(jdir); err == nil && ok && seq >= after {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot at or after sequence %d within %v", after, wait)
		}
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	cfg = firmVenue(dir, addr, "ACC-A", "ACC-Z")
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("restart with firm F1's new account ACC-Z after a checkpoint: %v; want a start with ACC-A's balance kept", err)
	}
	defer n.Stop()
	if show, err := n.AccountShow("ACC-A"); err != nil || !strings.Contains(show, "cash 1001.00 held 0.00") {
		t.Errorf("account show ACC-A after the restart = %q, %v; want cash 1001.00", show, err)
	}
	if show, err := n.AccountShow("ACC-Z"); err != nil || !strings.HasPrefix(show, "account 1025 ACC-Z") {
		t.Errorf("account show ACC-Z = %q, %v; want id 1025", show, err)
	}
}
