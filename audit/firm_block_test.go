package audit

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// firmVenue is a spot venue serving FIX with sessions BROKER01 and
// BROKER02 and firm FIRM_X, whose sessions are members.
func firmVenue(t *testing.T, members ...string) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.FIX.Sessions = []config.Session{{BeginString: "FIX.4.4", TargetCompID: "BROKER01"}, {BeginString: "FIX.4.4", TargetCompID: "BROKER02"}}
	cfg.Firms = []config.Firm{{Name: "FIRM_X", Sessions: members}}
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	return cfg
}

// A firm's kill switch shows in the trail as a block_firm row naming the
// firm in the broker column, then a block of each of its sessions; a
// checkpoint taken while the firm is blocked (its snapshot holds the
// engines' blocked firms) is equal to the replayed state.
func TestTrailNamesTheBlockedFirm(t *testing.T) {
	cfg := firmVenue(t, "BROKER01", "BROKER02")
	cfg.Snapshot = config.Snapshot{EveryCommands: 1 << 40} // checkpoints only where the test submits them
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Block("FIRM_X", false); err != nil {
		t.Fatal(err)
	}
	// A checkpoint with the firm blocked: its snapshot (engine snapshot
	// version 6) must equal the replayed state.
	if err := n.Submit(&matcher.Command{Kind: matcher.KindCheckpoint}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Block("FIRM_X", true); err != nil { // settled after the checkpoint
		t.Fatal(err)
	}
	rep := stopAndVerify(t, n, cfg)
	// The hash record may come after the stop (the checkpointer writes it
	// once the snapshot is stored): the snapshot's equality is the check.
	if !rep.OK() || rep.Checkpoints != 1 || rep.Snapshots != 1 || rep.SnapshotsOK != 1 {
		t.Fatalf("verify: ok %v, checkpoints %d (%d equal), snapshots %d (%d equal), problems %v",
			rep.OK(), rep.Checkpoints, rep.CheckpointsOK, rep.Snapshots, rep.SnapshotsOK, rep.Problems)
	}
	dir := filepath.Join(cfg.DataDir, "journal")
	f := filepath.Join(t.TempDir(), "cfg.json") // the journal's risk.mode and cashUnit (its risk venue record)
	writeConfig(t, f, cfg)
	trail := replayOK(t, "trail", "--journal", dir, "--config", f, "--format", "json")
	var got []string
	for line := range strings.Lines(trail) {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("trail row %q: %v", line, err)
		}
		if w, _ := row["what"].(string); strings.Contains(w, "block") {
			b, _ := row["broker"].(string)
			got = append(got, w+" "+b)
		}
	}
	if want := []string{"block_firm FIRM_X", "block BROKER01", "block BROKER02", "unblock_firm FIRM_X", "unblock BROKER01", "unblock BROKER02"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("trail's block rows %q, want %q:\n%s", got, want, trail)
	}
}
