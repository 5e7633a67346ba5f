package node_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

func replCfg(dir, role, primary string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Snapshot = config.Snapshot{EveryCommands: 40}
	cfg.Replication = config.Replication{Role: fromText[config.Role](role), Listen: "127.0.0.1:0", Primary: primary, Mode: config.ModeSync,
		OnStandbyLost: config.LostWait, SyncTimeoutMs: 2000, HeartbeatMs: 20}
	return cfg
}

// fromText is the value of a config mode type (config.Role,
// config.ReplicationMode) that its text s names, as a file would give it.
func fromText[T any, P interface {
	*T
	UnmarshalText([]byte) error
}](s string) T {
	var v T
	if err := P(&v).UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return v
}

func startRepl(t *testing.T, cfg config.Config, logs *logLines) (*node.Node, *sink) {
	t.Helper()
	out := &sink{}
	n, err := node.Start(cfg, node.Options{Publisher: out, Log: logs.Tee(t, "").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	return n, out
}

// trade submits n orders on three symbols, half of which cross.
func trade(t *testing.T, n *node.Node, prefix string, count int) {
	t.Helper()
	for i := range count {
		side := matcher.Buy
		if i%2 == 1 {
			side = matcher.Sell
		}
		if err := n.Submit(order(uint32(1+i%3), fmt.Sprintf("%s%d", prefix, i), side, int64(100+i%5), int64(1+i%7))); err != nil {
			t.Fatal(err)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 60 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPassed waits (bounded) until every stage of n's pipeline has passed
// every command submitted to it: Submit returns once the command is in the
// ring, and the publish stage marks a command published for the binary
// feed's recovery service after it has handed the command's reports to the
// gateway, so neither a returned Submit nor an acknowledgement says that a
// recovery snapshot holds the command.
func waitPassed(t *testing.T, n *node.Node) {
	t.Helper()
	waitUntil(t, "every stage passed every command submitted", func() bool {
		for _, st := range n.Stats() {
			if st.Lag != 0 {
				return false
			}
		}
		return true
	})
}

func lastSeq(n *node.Node) int64 {
	st, _ := n.ReplicationStats()
	return st.LastSeq
}

// sameJournal checks that two journals hold the same records, byte for byte.
func sameJournal(t *testing.T, dirA, dirB string) int64 {
	t.Helper()
	var a [][]byte
	if err := journal.Read(filepath.Join(dirA, "journal"), 1, func(_ int64, r []byte) error {
		a = append(a, bytes.Clone(r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	count := int64(0)
	if err := journal.Read(filepath.Join(dirB, "journal"), 1, func(seq int64, r []byte) error {
		if seq > int64(len(a)) || !bytes.Equal(a[seq-1], r) {
			return fmt.Errorf("record %d differs", seq)
		}
		count++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if count != int64(len(a)) {
		t.Fatalf("journals hold %d and %d records", len(a), count)
	}
	return count
}

func hashOf(t *testing.T, n *node.Node) uint64 {
	t.Helper()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	h, err := n.StateHash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestStandbyFollowsAndCatchesUp: a sync primary and a standby on loopback;
// the standby's journal is the primary's byte for byte and its engines reach
// the same state (checked at every checkpoint and at the end); a standby
// stopped while orders keep coming catches up when it returns.
func TestStandbyFollowsAndCatchesUp(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	p, outP := startRepl(t, replCfg(dirP, "primary", ""), &logP)
	addr := p.ReplicationAddr().String()
	s, outS := startRepl(t, replCfg(dirS, "standby", addr), &logS)

	trade(t, p, "A", 300)
	waitUntil(t, "standby has all of the first 300", func() bool {
		return lastSeq(p) >= 300 && lastSeq(s) == lastSeq(p) && len(outP.fills()) > 0
	})
	if len(outS.fills()) != 0 {
		t.Fatal("a standby published events")
	}
	had := lastSeq(s)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// Everything the standby had is published (the publish stage may lag
	// the journal on a loaded machine); then the standby is gone: a sync
	// primary journals but acknowledges nothing.
	waitUntil(t, "the primary published what the standby had", func() bool { return published(p) >= had })
	fillsBefore := len(outP.fills())
	trade(t, p, "B", 200)
	time.Sleep(300 * time.Millisecond)
	if got := len(outP.fills()); got != fillsBefore {
		t.Fatalf("sync primary published %d fills with no standby", got-fillsBefore)
	}
	s, _ = startRepl(t, replCfg(dirS, "standby", addr), &logS)
	waitUntil(t, "restarted standby catches up and the primary publishes", func() bool {
		return lastSeq(p) >= 500 && lastSeq(s) == lastSeq(p) && len(outP.fills()) > fillsBefore
	})
	trade(t, p, "C", 100)
	waitUntil(t, "standby follows live again", func() bool { return lastSeq(p) >= 600 && lastSeq(s) == lastSeq(p) })
	time.Sleep(100 * time.Millisecond) // let the standby's pipeline apply the last frame
	// The primary stops first: a checkpoint it journals meanwhile still
	// gets its acknowledgement from the standby.
	hp := hashOf(t, p)
	hs := hashOf(t, s)
	if hs != hp {
		t.Fatalf("standby state hash %016x, primary %016x", hs, hp)
	}
	if !logS.has("standby verified the state hash") {
		t.Error("the standby verified no checkpoint hash")
	}
	t.Logf("journals agree on %d records; state hash %016x", sameJournal(t, dirP, dirS), hp)
}

// TestPromoteThenOldPrimaryRejoins: the primary stops; the standby is
// promoted, keeps every order and takes new ones alone; the old primary
// comes back as standby of the new one and catches up.
func TestPromoteThenOldPrimaryRejoins(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	p, _ := startRepl(t, replCfg(dirP, "primary", ""), &logP)
	s, outS := startRepl(t, replCfg(dirS, "standby", p.ReplicationAddr().String()), &logS)
	trade(t, p, "A", 100)
	waitUntil(t, "standby has everything", func() bool { return lastSeq(p) >= 100 && lastSeq(s) == lastSeq(p) })
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	epoch, err := s.Promote()
	if err != nil || epoch != 2 {
		t.Fatalf("promote: epoch %d, %v", epoch, err)
	}
	st, _ := s.ReplicationStats()
	if st.Role != config.RolePrimary || !st.Degraded {
		t.Fatalf("promoted node stats %+v: want a primary acknowledging alone", st)
	}
	// The resting orders are there: a sweep on every symbol fills against them.
	for sym := uint32(1); sym <= 3; sym++ {
		for _, side := range []matcher.Side{matcher.Buy, matcher.Sell} {
			cl, _ := matcher.MakeClOrdID(fmt.Sprintf("SW%d%d", sym, side))
			px := int64(1000)
			if side == matcher.Sell {
				px = 1
			}
			if err := s.Submit(&matcher.Command{Kind: matcher.KindNew, Symbol: sym, Account: 9, Side: side,
				Type: matcher.Limit, TIF: matcher.IOC, Price: px, Qty: 100000, ClOrdID: cl}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitUntil(t, "the promoted node fills the sweeps", func() bool { return len(outS.fills()) > 0 })

	// The old primary rejoins as standby of the new one.
	old, _ := startRepl(t, replCfg(dirP, "standby", s.ReplicationAddr().String()), &logP)
	waitUntil(t, "old primary catches up", func() bool { return lastSeq(old) == lastSeq(s) })
	waitUntil(t, "new primary back in sync", func() bool { st, _ := s.ReplicationStats(); return !st.Degraded })
	time.Sleep(100 * time.Millisecond)
	hs := hashOf(t, s) // the primary first, as above
	if ho := hashOf(t, old); ho != hs {
		t.Fatalf("rejoined old primary state %016x, new primary %016x", ho, hs)
	}
	sameJournal(t, dirS, dirP)
}
