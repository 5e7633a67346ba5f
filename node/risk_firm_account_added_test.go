package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestFirmAccountAddedAfterACheckpoint: a venue adds a trading account to
// a firm (firms[].accounts) and restarts after a checkpoint. The new
// account takes the next id and the others keep theirs and their
// balances: the risk state's table grows by one empty account, and its
// snapshot and hash (risk snapshot version 3) write the accounts up to the
// highest one that holds anything, not the table's size, so the restored
// state hashes as the snapshot file and the checkpoint hash records say.
// The venue starts, with ACC-A's cash as it was and ACC-Z empty.
func TestFirmAccountAddedAfterACheckpoint(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := firmVenue(dir, addr, "ACC-A")
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "ACC-A", "cash", "1000")
	after, err := n.Funds(false, "ACC-A", "cash", "1")
	if err != nil {
		t.Fatal(err)
	}
	awaitSnapshotAt(t, dir, after)
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
