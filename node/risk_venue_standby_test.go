package node_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
)

// riskVenue is a risk mode and cash unit.
type riskVenue struct {
	mode config.RiskMode
	unit string
}

// riskPairCfg is replCfg, async, with the risk config of spotVenue in
// v's mode and unit (mode none: no risk config) and a checkpoint every 2
// commands.
func riskPairCfg(dir, role, primary string, v riskVenue) config.Config {
	cfg := replCfg(dir, role, primary)
	cfg.Replication.Mode = config.ModeAsync
	cfg.Replication.RefusedRetryMaxMs = 200
	cfg.Snapshot = config.Snapshot{EveryCommands: 2}
	if v.mode != config.RiskModeNone {
		cfg.Risk = spotVenue(dir, "").Risk
		cfg.Risk.Mode, cfg.Risk.CashUnit = v.mode, v.unit
	}
	return cfg
}

// installSnapshotOf makes the journal under dir begin right after the
// newest snapshot of the journal under from, with that snapshot beside
// it, as replica.InstallSnapshot leaves a standby caught up from it.
func installSnapshotOf(t *testing.T, from, dir string) {
	t.Helper()
	seq, hash, _, ok, err := journal.LatestSnapshot(filepath.Join(from, "journal"))
	if err != nil || !ok {
		t.Fatalf("no snapshot in %s (%v)", from, err)
	}
	src, err := os.Open(filepath.Join(from, "journal", fmt.Sprintf("snap-%020d.snap", seq))) // package journal's snapshot name
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, "snapshot.copy")
	dst, err := os.Create(path)
	if err == nil {
		_, err = io.Copy(dst, src)
		err = errors.Join(err, dst.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replica.InstallSnapshot(filepath.Join(dir, "journal"), &replica.BehindError{Seq: seq, Hash: hash, Path: path}, logtest.Discard()); err != nil {
		t.Fatal(err)
	}
}

// A standby whose risk.mode or risk.cashUnit differs from its primary's,
// caught up from the primary's snapshot, is refused at its start from
// that snapshot, naming the key and both values, before it applies
// anything: no risk venue record follows the snapshot for it to meet,
// and no checkpoint hash has to differ first. The primary's journal
// begins after seq 1 (it was itself caught up from a snapshot, so that
// the standby cannot be streamed the journal from its start) and its
// newest snapshot follows the risk venue record its start journaled.
// Where one of the two has mode none, the snapshot holds no risk state,
// or one the standby has no risk stage for (the snapshot names the
// mode); where both have a risk stage, the risk state's own mode and
// cash unit (the risk snapshot names the key).
func TestStandbyOfAnotherRiskModeRefusedAtThePrimarysSnapshot(t *testing.T) {
	none, spot, limits := riskVenue{}, riskVenue{config.RiskModeSpot, "0.01"}, riskVenue{config.RiskModeLimits, "0.01"}
	for _, c := range []struct {
		primary, standby riskVenue
		want             []string
	}{
		{spot, none, []string{"risk.mode", `"spot"`, `"none"`, "the snapshot of record"}},
		{none, spot, []string{"risk.mode", `"none"`, `"spot"`, "the snapshot of record"}},
		{spot, limits, []string{"risk.mode", `"spot"`, `"limits"`, "the snapshot of record"}},
		{spot, riskVenue{config.RiskModeSpot, "0.001"}, []string{"risk.cashUnit", `"0.01"`, `"0.001"`}},
	} {
		t.Run(fmt.Sprintf("%s_%s_follows_%s_%s", c.standby.mode, c.standby.unit, c.primary.mode, c.primary.unit), func(t *testing.T) {
			seed, dirP, dirS := t.TempDir(), t.TempDir(), t.TempDir()
			seedCfg := riskPairCfg(seed, "primary", "", c.primary)
			seedCfg.FIX.Listen = fixtest.FreeAddr(t) // it serves FIX: not on the default port other tests may hold
			n := startCfg(t, seedCfg)
			trade(t, n, "A", 6)
			awaitSnapshotAt(t, seed, 6)
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			installSnapshotOf(t, seed, dirP)

			var logP logLines
			p, _ := startRepl(t, riskPairCfg(dirP, "primary", "", c.primary), &logP)
			defer p.Stop()
			trade(t, p, "B", 6)
			awaitSnapshotAt(t, dirP, lastSeq(p))
			addr := p.ReplicationAddr().String()

			var logS logLines
			s, _ := startRepl(t, riskPairCfg(dirS, "standby", addr, c.standby), &logS)
			select {
			case <-s.Done():
			case <-time.After(wait):
				s.Stop()
				t.Fatalf("the standby with an empty journal was not sent the primary's snapshot within %v", wait)
			}
			var behind *replica.BehindError
			if !errors.As(s.FailErr(), &behind) {
				t.Fatalf("standby stopped with %v; want a BehindError", s.FailErr())
			}
			s.Stop()
			if _, err := replica.InstallSnapshot(filepath.Join(dirS, "journal"), behind, logtest.New(t)); err != nil {
				t.Fatal(err)
			}

			s, err := node.Start(riskPairCfg(dirS, "standby", addr, c.standby), node.Options{Publisher: &sink{}, Log: logtest.New(t)})
			if err == nil {
				s.Stop()
				t.Fatalf("a standby with risk %+v started from the snapshot of a primary with %+v", c.standby, c.primary)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), fmt.Sprint(behind.Seq)) {
					t.Errorf("the standby's start refused without naming %s and the snapshot's seq %d: %v", w, behind.Seq, err)
				}
			}
			if last, err := journal.LastSeq(filepath.Join(dirS, "journal")); err != nil || last != behind.Seq {
				t.Errorf("the refused standby's journal ends at %d (%v), want the snapshot's %d: nothing applied", last, err, behind.Seq)
			}
		})
	}
}

// A standby whose risk.mode or risk.cashUnit differs from its primary's,
// following the primary's journal from seq 1, stops on its own at the
// first record that shows it, naming the key and both values, as a
// replay of that journal would: the risk venue record where the primary
// has a risk stage, and the first order where the primary has mode none
// (it journals no venue record, and the standby's risk stage would refuse
// orders the primary accepted). It does not wait for a checkpoint hash to
// differ (snapshot.everyCommands 2: one would come within the orders).
func TestStandbyOfAnotherRiskModeStopsAtTheFirstRecordThatShowsIt(t *testing.T) {
	none, spot := riskVenue{}, riskVenue{config.RiskModeSpot, "0.01"}
	for _, c := range []struct {
		primary, standby riskVenue
		want             []string
	}{
		{none, spot, []string{"risk.mode", `"none"`, `"spot"`, "is an order"}},
		{spot, none, []string{"risk.mode", `"spot"`, `"none"`}},
		{spot, riskVenue{config.RiskModeSpot, "0.001"}, []string{"risk.cashUnit", `"0.01"`, `"0.001"`}},
	} {
		t.Run(fmt.Sprintf("%s_%s_follows_%s_%s", c.standby.mode, c.standby.unit, c.primary.mode, c.primary.unit), func(t *testing.T) {
			var logP, logS logLines
			p, _ := startRepl(t, riskPairCfg(t.TempDir(), "primary", "", c.primary), &logP)
			defer p.Stop()
			s, _ := startRepl(t, riskPairCfg(t.TempDir(), "standby", p.ReplicationAddr().String(), c.standby), &logS)
			defer s.Stop()
			trade(t, p, "A", 10)
			select {
			case <-s.Done():
			case <-time.After(wait):
				t.Fatalf("the standby with risk %+v did not stop on its own within %v of following a primary with %+v", c.standby, wait, c.primary)
			}
			err := s.FailErr()
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("the standby stopped without naming %s: %v", w, err)
				}
			}
			if logS.has("STATE DIVERGED") {
				t.Error("the standby went on to a checkpoint hash that differed")
			}
		})
	}
}
