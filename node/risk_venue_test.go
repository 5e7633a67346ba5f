package node_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// recordsOf are the records of the journal under dir that of reads (a
// matcher XxxOf function), in sequence order.
func recordsOf[T any](t *testing.T, dir string, of func(*matcher.Command) (T, bool)) []T {
	t.Helper()
	var out []T
	var cmd matcher.Command
	err := journal.Read(filepath.Join(dir, "journal"), 1, func(seq int64, rec []byte) error {
		if err := cmd.DecodeAt(rec, seq); err != nil {
			return err
		}
		if v, ok := of(&cmd); ok {
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// venueRecords are the risk venue records of the journal under dir.
func venueRecords(t *testing.T, dir string) []matcher.RiskVenue {
	return recordsOf(t, dir, matcher.RiskVenueOf)
}

// A venue journals its risk mode and cash unit once: a restart with the
// same config from a snapshot taken after the record (so the replay does
// not meet it) finds it in the journal and journals none; a restart with
// another mode after that checkpoint is refused, naming risk.mode, and
// journals nothing.
func TestRiskVenueJournaledOnceAndCheckedAfterACheckpoint(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	cfg := spotVenue(dir, addr)
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	n := startCfg(t, cfg)
	mustFunds(t, n, false, "BROKER01", "cash", "10.00")
	after, err := n.Funds(false, "BROKER01", "cash", "1.00")
	if err != nil {
		t.Fatal(err)
	}
	awaitSnapshotAt(t, dir, after)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	want := []matcher.RiskVenue{{Mode: uint8(config.RiskModeSpot), CashUnit: "0.01"}}
	if got := venueRecords(t, dir); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("risk venue records after the first run: %+v, want %+v", got, want)
	}

	n = startCfg(t, cfg)
	wantShow(t, n, "BROKER01", "cash 11.00 held 0.00")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := venueRecords(t, dir); len(got) != 1 {
		t.Fatalf("risk venue records after a restart with the same config: %+v, want the first run's alone", got)
	}
	last, err := journal.LastSeq(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}

	cfg.Risk.Mode = config.RiskModeLimits
	if n, err := node.Start(cfg, node.Options{Log: logtest.New(t)}); err == nil {
		n.Stop()
		t.Fatal("a restart with risk.mode limits on a spot journal started")
	} else if !strings.Contains(err.Error(), "risk.mode") || !strings.Contains(err.Error(), `"spot"`) {
		t.Fatalf("restart with risk.mode limits: %v; want a refusal naming risk.mode and the journal's \"spot\"", err)
	}
	if now, err := journal.LastSeq(filepath.Join(dir, "journal")); err != nil || now != last {
		t.Fatalf("journal ends at %d after the refused start, %d before (%v)", now, last, err)
	}
}
