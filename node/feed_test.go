package node_test

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestFeedFromTheNode: with feed.enabled, brokers trade over real FIX
// sessions and a receiver that joined the node's feed (UDP, loopback)
// follows every change; its book equals the node's own snapshot, and the
// messages it saw are exactly those a replay of the journal gives. After a
// restart the feed goes on from the same seq, and a fresh receiver's book
// is the same.
func TestFeedFromTheNode(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery, cfg.Feed.HeartbeatMs = true, fixtest.FreeAddr(t), 20
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	first := n
	t.Cleanup(func() { first.Stop() }) // Stop is idempotent
	var seen []feed.Message
	r, udp, c := joinNodeFeed(t, cfg.Feed.Recovery, func(m *feed.Message) { seen = append(seen, *m) })
	a := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	var closeOnce sync.Once
	closeClients := func() { closeOnce.Do(func() { a.Close(); b.Close() }) } // quickfix keeps session ids process-wide
	t.Cleanup(closeClients)
	order := func(cl *fixtest.Client, id, side, qty, px string) {
		cl.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, side, tag.OrderQty, qty, tag.OrdType, "2", tag.Price, px, tag.TimeInForce, "1")
		cl.Next(wait)
	}
	for i := range 5 {
		order(a, fmt.Sprintf("S%d", i), "2", "10", fmt.Sprintf("10%d.00", i))
		order(b, fmt.Sprintf("B%d", i), "1", "10", fmt.Sprintf("9%d.00", i))
	}
	order(b, "X1", "1", "15", "101.00") // takes S0 and half of S1: two trades
	fixtest.Expect(t, "S0 filled", a.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "S0", tag.ExecType: "F"})
	fixtest.Expect(t, "S1 partly filled", a.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "S1", tag.ExecType: "F"})
	a.Send("G", tag.OrigClOrdID, "S3", tag.ClOrdID, "S3b", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "4", tag.OrdType, "2", tag.Price, "103.00")
	fixtest.Expect(t, "S3 replaced", a.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "S3b", tag.ExecType: "5"})
	a.Send("F", tag.OrigClOrdID, "S4", tag.ClOrdID, "S4c", tag.Symbol, "AAPL", tag.Side, "2")
	fixtest.Expect(t, "S4 cancelled", a.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "S4c", tag.ExecType: "4"})
	waitPassed(t, n) // the recovery service has a command after its reports went
	follow(t, r, udp, c)
	checkAgainstSnapshot(t, r, c)
	closeClients()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	all := replayMessages(t, cfg)
	if len(seen) == 0 || !slices.Equal(seen, all[seen[0].Seq-1:]) {
		t.Fatalf("the receiver saw %d messages; a replay of the journal gives others:\n%v\n%v", len(seen), seen, all)
	}

	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	fresh, _, c2 := joinNodeFeed(t, cfg.Feed.Recovery, nil)
	if fresh.Next() != r.Next() {
		t.Fatalf("after a restart the feed resumes at seq %d, before it at %d", fresh.Next(), r.Next())
	}
	checkAgainstSnapshot(t, r, c2)
	t.Logf("%d messages, %d of them recovered over TCP", len(seen), r.Recovered)
}

// joinNodeFeed joins the feed of the node whose recovery service is at
// addr, from a snapshot.
func joinNodeFeed(t *testing.T, addr string, onMsg func(*feed.Message)) (*feed.Receiver, *net.UDPConn, *feed.Client) {
	c, err := feed.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	if err := c.Join(udp.LocalAddr().(*net.UDPAddr).Port); err != nil {
		t.Fatal(err)
	}
	r := &feed.Receiver{Book: feed.NewBook(), Rec: c, OnMessage: onMsg}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return r, udp, c
}

// follow reads the feed until the receiver stands where a fresh snapshot
// says the feed is (heartbeats tell it of anything it missed at the end).
// That snapshot holds what the publish stage has passed: the caller first
// waits for what it means to follow (waitPassed, snapshotWith).
func follow(t *testing.T, r *feed.Receiver, udp *net.UDPConn, c *feed.Client) {
	t.Helper()
	snap := &feed.Receiver{Book: feed.NewBook(), Rec: c}
	if err := snap.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	if err := r.ReadFrom(udp, func() bool { return r.Next() >= snap.Next() || time.Now().After(deadline) }); err != nil {
		t.Fatal(err)
	}
	if r.Next() != snap.Next() {
		t.Fatalf("the receiver stands at seq %d, the node's feed at %d", r.Next(), snap.Next())
	}
}

// checkAgainstSnapshot compares r's book with a fresh snapshot at r's seq.
func checkAgainstSnapshot(t *testing.T, r *feed.Receiver, c *feed.Client) {
	t.Helper()
	snap := &feed.Receiver{Book: feed.NewBook(), Rec: c}
	if err := snap.Start(); err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(snap.Next()); err != nil { // the service serves what the publish stage passed, which may trail the acks
		t.Fatal(err)
	}
	if snap.Next() != r.Next() {
		t.Fatalf("snapshot at seq %d, receiver at %d", snap.Next(), r.Next())
	}
	got, want := r.Book.Orders(1, nil), snap.Book.Orders(1, nil)
	if !slices.Equal(got, want) || len(got) != 8 {
		t.Fatalf("AAPL from the feed: %v\nfrom the snapshot: %v (want 8 orders)", got, want)
	}
}

// replayMessages is the feed a replay of the node's journal gives.
func replayMessages(t *testing.T, cfg config.Config) []feed.Message {
	dir := filepath.Join(cfg.DataDir, "journal")
	o, err := node.FeedOrigin(cfg, dir, logtest.Discard())
	if err != nil {
		t.Fatal(err)
	}
	rp, err := feed.NewReplayer(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	var out []feed.Message
	if err := rp.Advance(func(msgs []feed.Message, _ matcher.Partitions) bool { out = append(out, msgs...); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFeedSeqsNotReusedAfterLostRecords: the feed's messages of
// acknowledged records went out over UDP; those records are then lost
// (zeroed at the journal's end) and the operator starts the node with
// startFromLastGood. The node journals markers so that no OrderID is
// given again (node/missing.go); the feed must likewise never give a seq
// a receiver has already had to another message: a receiver that holds
// it takes the new one for a duplicate and ignores it, and its book is
// silently wrong. The feed cannot know how many messages the lost records
// made (they are gone), so it begins a new session at the lost records
// (feed.CodeRecordsLost): a (session, seq) never names two messages, and a
// receiver of the old session takes a new snapshot.
func TestFeedSeqsNotReusedAfterLostRecords(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery, cfg.Feed.HeartbeatMs = true, fixtest.FreeAddr(t), 20
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	broker := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	for i := range 10 {
		broker.Send("D", tag.ClOrdID, fmt.Sprintf("O%d", i), tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "1")
		expect(t, "new", broker.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: fmt.Sprintf("O%d", i), tag.ExecType: "0"})
	}
	seen := replayMessages(t, cfg) // what the live feed sent: the same, by package feed's rule
	n.Stop()
	broker.Close()
	lastSeen := seen[len(seen)-1]

	zeroLastRecords(t, dir+"/journal", 3)
	cfg.Journal.StartFromLastGood = true
	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start with startFromLastGood: %v", err)
	}
	defer n.Stop()
	c, err := feed.Dial(cfg.Feed.Recovery)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var session uint32
	next, err := c.Snapshot(func(m *feed.Message) error { session = m.Session; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if session <= lastSeen.Session && next <= lastSeen.Seq {
		t.Fatalf("after the loss the feed goes on at seq %d in session %d; receivers already had seqs up to %d (session %d, %v): "+
			"the next messages reuse seqs they will ignore as duplicates", next, session, lastSeen.Seq, lastSeen.Session, lastSeen.String())
	}
}

// TestFeedRecoveryConnectionsEndAtStop: a recovery connection open when
// the node stops is closed with it, not left served by a node that is gone.
func TestFeedRecoveryConnectionsEndAtStop(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery = true, fixtest.FreeAddr(t)
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := feed.Dial(cfg.Feed.Recovery)
	if err != nil {
		n.Stop()
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Snapshot(func(*feed.Message) error { return nil }); err != nil {
		n.Stop()
		t.Fatal(err)
	}
	n.Stop()
	done := make(chan error, 1)
	go func() {
		_, err := c.Snapshot(func(*feed.Message) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a snapshot answered by a stopped node's recovery service")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a recovery connection still open 10 s after the node stopped")
	}
}

// TestEtcdFeedRecoveryServesWhatWasAcknowledged: the bound of a node's
// recovery service moves with its acknowledgements. A sync primary with no
// standby holds a crossing pair and its service serves none of it (as in
// TestEtcdFeedRecoveryServesNoUnacknowledgedTrade); once a standby holds
// the pair the primary acknowledges it, and its service serves the resting
// order and the trade. The standby's service refuses, naming the standby:
// receivers recover from the primary.
func TestEtcdFeedRecoveryServesWhatWasAcknowledged(t *testing.T) {
	etcd := etcdtest.Start(t)
	withFeed := func(addr string) func(*config.Config) {
		return func(c *config.Config) { c.Feed.Enabled, c.Feed.Recovery, c.Feed.HeartbeatMs = true, addr, 20 }
	}
	recA, recB := fixtest.FreeAddr(t), fixtest.FreeAddr(t)
	a := runShardNodeIn(t, etcd, "a", t.TempDir(), withFeed(recA))
	n := a.next(t)
	waitUntil(t, "a leads", func() bool { return a.role() == config.RolePrimary })
	for _, o := range []*matcher.Command{order(1, "S0", matcher.Sell, 100, 5), order(2, "B0", matcher.Buy, 100, 5)} {
		if err := n.Submit(o); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "both orders journaled", func() bool { return lastSeq(n) >= 2 })
	facts := func(addr string) ([]feed.Type, uint64, error) {
		c, err := feed.Dial(addr)
		if err != nil {
			return nil, 0, err
		}
		defer c.Close()
		var types []feed.Type
		end, err := c.Retransmit(1, 100, func(m *feed.Message) error { types = append(types, m.Type); return nil })
		return types, end, err
	}
	if types, end, err := facts(recA); err != nil || len(types) != 0 || end != 1 {
		t.Fatalf("primary, nothing acknowledged: served %c ending at seq %d, %v; want nothing, ending at seq 1 (not yet)", types, end, err)
	}

	b := runShardNodeIn(t, etcd, "b", t.TempDir(), withFeed(recB))
	b.next(t)
	waitUntil(t, "the primary acknowledges both orders", func() bool { return len(a.acked()) == 2 })
	types, _, err := facts(recA)
	if err != nil || !slices.Contains(types, feed.TypeAdd) || !slices.Contains(types, feed.TypeTrade) {
		t.Fatalf("primary, both orders acknowledged: served %c, %v; want the resting order's Add and the Trade", types, err)
	}
	if b.role() != config.RoleStandby {
		t.Fatalf("b is %v, want the standby", b.role())
	}
	if types, _, err := facts(recB); err == nil || !strings.Contains(err.Error(), "standby") {
		t.Fatalf("standby: served %c, %v; want a refusal naming the standby", types, err)
	}
}
