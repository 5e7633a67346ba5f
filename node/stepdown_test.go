package node_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/tcplink"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
)

// pair is two nodes that reach each other's replication port only through
// links the test cuts and heals: toA is how B reaches A, toB how A reaches B.
type pair struct {
	cfgA, cfgB config.Config
	toA, toB   *tcplink.Link
}

// newPair configures A as primary and B as its standby, each naming the
// other as its peer, with no automatic failover: the test promotes B.
func newPair(t *testing.T, mode string) *pair {
	replA, replB := fixtest.FreeAddr(t), fixtest.FreeAddr(t)
	p := &pair{toA: tcplink.Start(t, replA), toB: tcplink.Start(t, replB)}
	p.cfgA = replCfg(t.TempDir(), "primary", p.toB.Addr())
	p.cfgB = replCfg(t.TempDir(), "standby", p.toA.Addr())
	for _, c := range []*config.Config{&p.cfgA, &p.cfgB} {
		c.Replication.Mode = fromText[config.ReplicationMode](mode)
		c.Snapshot = config.Snapshot{} // no checkpoint records: the seqs below are exact
	}
	p.cfgA.Replication.Listen, p.cfgB.Replication.Listen = replA, replB
	return p
}

func eventsIn(s *sink) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.evs)
}

func stopped(n *node.Node) bool {
	select {
	case <-n.Done():
		return true
	default:
		return false
	}
}

// TestRestartedPrimaryStepsDownForPromotedStandby closes the window of
// issue 7. A sync pair; the primary A stops (as if killed). A comes back
// with its own configuration (role primary, the peer named) while its
// standby B has not promoted itself yet: its probe at start finds no
// primary, and it begins a term. An order reaches A, which cannot
// acknowledge it (no standby). Then B promotes itself and acknowledges
// orders alone. Once the two can reach each other, A, which acknowledged
// nothing in its epoch, steps down by itself; restarted in place as
// 'ringex serve' does, it discards the order nobody was told of and follows
// B. Only B ever acknowledged in the new epochs, and the order sent to A is
// in nobody's history.
func TestRestartedPrimaryStepsDownForPromotedStandby(t *testing.T) {
	p := newPair(t, "sync")
	var logA, logB logLines
	a, _ := startRepl(t, p.cfgA, &logA)
	b, outB := startRepl(t, p.cfgB, &logB)
	trade(t, a, "S", 30)
	shared := 30 + firstStartRecords(p.cfgA)
	waitUntil(t, "both journal the orders, the standby in sync", func() bool {
		st, _ := b.ReplicationStats()
		return st.InSync && lastSeq(a) == shared && lastSeq(b) == shared
	})
	a.Stop()

	// The window: B does not reach A's new term (else it would follow it),
	// and A's probe at start finds nothing serving at B.
	p.toA.Cut()
	p.toB.Cut()
	a, outA := startRepl(t, p.cfgA, &logA)
	if st, _ := a.ReplicationStats(); st.Role != config.RolePrimary {
		t.Fatalf("A started as %s, want primary (the window)", st.Role)
	}
	if err := a.Submit(order(1, "LOST1", matcher.Buy, 100, 1)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "A journals the order it cannot acknowledge", func() bool { return lastSeq(a) == shared+1 })
	if _, err := b.Promote(); err != nil {
		t.Fatal(err)
	}
	trade(t, b, "B", 10)
	waitUntil(t, "B acknowledges alone", func() bool { return eventsIn(outB) > 0 })

	healed := time.Now()
	p.toA.Heal()
	p.toB.Heal()
	select {
	case <-a.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("A, a primary that acknowledged nothing, did not step down for B within 60 s")
	}
	took := time.Since(healed)
	var down *replica.StepDownError
	if !errors.As(a.FailErr(), &down) || !down.PeerMustStay {
		t.Fatalf("A stopped with %v, want a StepDownError for B, which acknowledged", a.FailErr())
	}
	if got := eventsIn(outA); got != 0 {
		t.Fatalf("A published %d events in its epoch; it had no standby and must acknowledge nothing", got)
	}
	if !logA.has("STEPPING DOWN") {
		t.Error("A did not say loudly that it steps down")
	}
	if stopped(b) {
		t.Fatalf("B stopped too (%v): exactly one of the two steps down", b.FailErr())
	}
	a.Stop()
	t.Logf("FIGURE step-down: A stopped %v after the two could reach each other (heartbeat %d ms)", took.Round(time.Millisecond), p.cfgA.Replication.HeartbeatMs)

	// What 'ringex serve' does next (node.Run): start again with the same
	// configuration, find B serving, set aside what B lacks, follow.
	ctx, cancel := context.WithCancel(context.Background())
	started, ran := make(chan *node.Node, 4), make(chan error, 1)
	go func() {
		logger := logA.Tee(t, "").Logger()
		ran <- node.Run(ctx, p.cfgA, node.RunOptions{Options: node.Options{Publisher: &sink{}, Log: logger},
			Serving: func(n *node.Node) func() { started <- n; return func() {} }})
	}()
	diverged := nextStart(t, started, ran)
	a = nextStart(t, started, ran)
	var div *replica.DivergedError
	if !errors.As(diverged.FailErr(), &div) || div.Keep != shared || div.Last != shared+1 {
		t.Fatalf("A stopped with %v, want DivergedError keep %d last %d", diverged.FailErr(), shared, shared+1)
	}
	trade(t, b, "C", 10)
	waitUntil(t, "A follows B and catches up", func() bool { return lastSeq(b) == shared+20 && lastSeq(a) == lastSeq(b) })
	if st, _ := a.ReplicationStats(); st.Role != config.RoleStandby {
		t.Fatalf("A is %s, want B's standby", st.Role)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run of A after cancel: %v", err)
	}
	b.Stop()
	sameJournal(t, p.cfgB.DataDir, p.cfgA.DataDir)
	lost, _ := matcher.MakeClOrdID("LOST1")
	var cmd matcher.Command
	if err := journal.Read(filepath.Join(p.cfgB.DataDir, "journal"), 1, func(seq int64, rec []byte) error {
		if err := cmd.Decode(rec); err != nil {
			return err
		}
		if cmd.Kind == matcher.KindNew && cmd.ClOrdID == lost {
			t.Errorf("the order sent to A while it could acknowledge nothing is in B's journal at seq %d", seq)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestBothAcknowledgedPrimariesReportSplitBrain: an async pair is cut in
// two and the standby promoted by hand; both primaries acknowledge orders
// in their epochs. When they reach each other again, neither may step down
// (either would discard records brokers were told of): both report the
// split brain, loudly and in ReplicationStats, and go on serving.
func TestBothAcknowledgedPrimariesReportSplitBrain(t *testing.T) {
	p := newPair(t, "async")
	var logA, logB logLines
	a, outA := startRepl(t, p.cfgA, &logA)
	b, outB := startRepl(t, p.cfgB, &logB)
	trade(t, a, "S", 30)
	waitUntil(t, "standby has the shared prefix", func() bool { return lastSeq(b) == 30+firstStartRecords(p.cfgA) })
	p.toA.Cut()
	p.toB.Cut()
	if _, err := b.Promote(); err != nil {
		t.Fatal(err)
	}
	before := eventsIn(outA)
	trade(t, a, "A", 10)
	trade(t, b, "B", 10)
	waitUntil(t, "both acknowledge in their epochs", func() bool { return eventsIn(outA) > before && eventsIn(outB) > 0 })

	p.toA.Heal()
	p.toB.Heal()
	waitUntil(t, "both report the split brain", func() bool {
		sa, _ := a.ReplicationStats()
		sb, _ := b.ReplicationStats()
		return sa.SplitBrain && sb.SplitBrain && sa.PeerPrimary && sb.PeerPrimary
	})
	if !logA.has("SPLIT BRAIN") || !logB.has("SPLIT BRAIN") {
		t.Error("a split brain was not logged loudly on both nodes")
	}
	if stopped(a) || stopped(b) {
		t.Fatalf("a primary that acknowledged stepped down: A %v, B %v", a.FailErr(), b.FailErr())
	}
	a.Stop()
	b.Stop()
}
