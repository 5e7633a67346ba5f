package node_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// TestFeedSnapshotOmitsRiskRefusedOrder: with pre-trade risk on
// (risk.mode limits) and the binary feed on, an order the risk stage
// refuses never reaches a matcher: the broker gets ExecType 8, the live
// feed puts nothing on the wire for it. The recovery service replays the
// journal through the same risk step (node.FeedOrigin, risk.State.Step),
// so its snapshot holds only the accepted order, and the refused one takes
// no seq.
func TestFeedSnapshotOmitsRiskRefusedOrder(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery, cfg.Feed.HeartbeatMs = true, fixtest.FreeAddr(t), 20
	cfg.Risk = config.Risk{Mode: config.RiskModeLimits, Limits: config.RiskLimits{MaxOrderQty: 10}}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	b := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b.Close()
	b.Send("D", tag.ClOrdID, "BIG", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
		tag.OrdType, "2", tag.Price, "101.00", tag.TimeInForce, "1")
	expect(t, "100 lots over maxOrderQty 10", b.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "BIG", tag.ExecType: "8"})
	b.Send("D", tag.ClOrdID, "OK", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5",
		tag.OrdType, "2", tag.Price, "102.00", tag.TimeInForce, "1")
	expect(t, "5 lots", b.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "OK", tag.ExecType: "0"})

	c, err := feed.Dial(cfg.Feed.Recovery)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The service serves what the node has published; poll (bounded)
	// until the accepted order is in the snapshot.
	var adds []feed.Message
	for range 200 {
		adds = adds[:0]
		if _, err := c.Snapshot(func(m *feed.Message) error {
			if m.Type == feed.TypeAdd {
				adds = append(adds, *m)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(adds) > 0 && adds[len(adds)-1].Qty == 5 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(adds) != 1 || adds[0].Qty != 5 {
		var got []string
		for i := range adds {
			got = append(got, adds[i].String())
		}
		t.Fatalf("recovery snapshot holds %d orders %q; want only the 5 lots @ 102.00 the matcher rests (the 100 lots were refused by risk, ExecType 8)", len(adds), got)
	}
}

// TestFeedHeartbeatsAfterRestart: the publisher sends a heartbeat after
// HeartbeatMs of silence, a packet with count 0 whose first seq is the
// seq of the next message, so a receiver learns of messages it missed at
// the end of a burst. A receiver on the static feed.send list that lost
// the last packets before the node stopped learns of them from the
// restarted node's heartbeats, before any new command: the node gives its
// publisher the feed's next seq at start (feed.Publisher.Resume).
func TestFeedHeartbeatsAfterRestart(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery, cfg.Feed.HeartbeatMs = true, fixtest.FreeAddr(t), 20
	cfg.Feed.Send = []string{udp.LocalAddr().String()}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	b := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	b.Send("D", tag.ClOrdID, "S1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5",
		tag.OrdType, "2", tag.Price, "101.00", tag.TimeInForce, "1")
	expect(t, "S1", b.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "S1", tag.ExecType: "0"})
	b.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	want := replayMessages(t, cfg)
	next := want[len(want)-1].Seq + 1

	// The restarted node sends to a fresh socket on the same list, so
	// that nothing the first run sent counts.
	udp.Close()
	if udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	cfg.Feed.Send = []string{udp.LocalAddr().String()}
	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	// Wait up to 2 s (100 heartbeat intervals) for a heartbeat.
	buf := make([]byte, 1<<16)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		udp.SetReadDeadline(deadline)
		k, err := udp.Read(buf)
		if err != nil {
			break
		}
		h, err := feed.DecodePacket(buf[:k], func(*feed.Message) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if h.Count == 0 && h.FirstSeq == next {
			return
		}
	}
	t.Fatalf("the restarted node (feed at seq %d, heartbeatMs 20) sent no heartbeat in 2 s: a receiver that lost the last packets before the restart never learns of them", next)
}

// TestFeedNodeStartsOnAJournalThatBeginsAfterSeq1: a standby that was
// away too long installs its primary's snapshot
// (replica.InstallSnapshot): its journal then begins after seq 1, at the
// snapshot's seq + 1, and the node starts from that snapshot, as it does
// without the feed (checked here first). Standbys run the primary's
// config, feed.enabled included. With the feed on, the node starts too:
// its feed is a new session numbered from the snapshot (session snapshot
// seq + 1, from seq 1), whose recovery snapshot holds the books of the
// snapshot, and a receiver follows it from there.
func TestFeedNodeStartsOnAJournalThatBeginsAfterSeq1(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Snapshot = config.Snapshot{EveryCommands: 10}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	trade(t, n, "A", 40)
	jdir := filepath.Join(cfg.DataDir, "journal")
	var snapSeq int64
	for i := 0; snapSeq == 0; i++ {
		if i == 1000 {
			t.Fatal("no snapshot within 10 s of 40 commands with snapshot.everyCommands 10")
		}
		seq, _, _, ok, err := journal.LatestSnapshot(jdir)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			snapSeq = seq
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	// The data dir an installed snapshot leaves: a journal that begins
	// right after the snapshot, and the snapshot.
	installed := t.TempDir()
	idir := filepath.Join(installed, "journal")
	j, err := journal.Open(journal.Options{Dir: idir, FirstSeq: snapSeq + 1, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("snap-%020d.snap", snapSeq) // package journal's snapshot name
	b, err := os.ReadFile(filepath.Join(jdir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}

	// The books the snapshot holds: a replay of the original journal to it.
	o, err := node.FeedOrigin(cfg, jdir, logtest.Discard())
	if err != nil {
		t.Fatal(err)
	}
	rp, err := feed.NewReplayer(jdir, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.AdvanceTo(snapSeq, nil); err != nil {
		t.Fatal(err)
	}
	wantBook := feed.NewBook()
	for _, m := range rp.Snapshot(nil) {
		if err := wantBook.Apply(&m); err != nil {
			t.Fatal(err)
		}
	}

	start := func(feedOn bool) (*node.Node, config.Config, error) {
		c := config.Default()
		c.DataDir, c.FIX.Listen = installed, fixtest.FreeAddr(t)
		c.Feed.Enabled, c.Feed.Recovery, c.Feed.HeartbeatMs = feedOn, fixtest.FreeAddr(t), 20
		n, err := node.Start(c, node.Options{Log: logtest.New(t)})
		return n, c, err
	}
	n, _, err = start(false)
	if err == nil {
		err = n.Stop()
	}
	if err != nil {
		t.Fatalf("without the feed, the node does not start from the installed snapshot either: %v", err)
	}
	n, c, err := start(true)
	if err != nil {
		t.Fatalf("with feed.enabled the node does not start from a journal that begins after seq 1 (snapshot at %d): %v", snapSeq, err)
	}
	defer n.Stop()
	r, udp, rc := joinNodeFeed(t, c.Feed.Recovery, nil)
	var session uint32
	if _, err := rc.Snapshot(func(m *feed.Message) error { session = m.Session; return nil }); err != nil {
		t.Fatal(err)
	}
	if session != uint32(snapSeq+1) || r.Next() != 1 {
		t.Fatalf("the feed from the snapshot at seq %d is session %d resuming at seq %d; want a new session %d from seq 1", snapSeq, session, r.Next(), snapSeq+1)
	}
	for _, sym := range []uint32{1, 2, 3} {
		if got, exp := r.Book.Orders(sym, nil), wantBook.Orders(sym, nil); !slices.Equal(got, exp) {
			t.Fatalf("symbol %d: the feed's snapshot holds %v, the node's snapshot at seq %d %v", sym, got, snapSeq, exp)
		}
	}
	from := r.Next()
	trade(t, n, "Z", 6) // trades and rests against the snapshot's orders
	waitPassed(t, n)    // else follow's snapshot may stand before them
	follow(t, r, udp, rc)
	fresh := &feed.Receiver{Book: feed.NewBook(), Rec: rc}
	if err := fresh.Start(); err != nil {
		t.Fatal(err)
	}
	if r.Next() == from || fresh.Next() != r.Next() {
		t.Fatalf("after 6 new orders the receiver stands at seq %d (from %d), a fresh snapshot at %d; want both past %d, at the same seq", r.Next(), from, fresh.Next(), from)
	}
	for _, sym := range []uint32{1, 2, 3} {
		if got, exp := r.Book.Orders(sym, nil), fresh.Book.Orders(sym, nil); !slices.Equal(got, exp) {
			t.Fatalf("symbol %d after new orders: the receiver holds %v, a fresh snapshot %v", sym, got, exp)
		}
	}
}

// TestFeedSeqsNotReusedAfterAsyncFailover: with async replication the
// primary acknowledges (and puts on its feed) records its standby may not
// have; a failover loses them. A (session, seq) names one message, so the
// new primary begins a new session where its term begins (a session-break
// marker in the journal, node/missing.go): a receiver that followed the
// old primary's feed past the standby's last record, then gets the new
// primary's feed (both send to the same feed.send address) and recovers
// from the new primary's service, sees the later session at seqs it had,
// takes a snapshot, and ends with the new primary's book.
func TestFeedSeqsNotReusedAfterAsyncFailover(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	dirA, dirB := t.TempDir(), t.TempDir()
	recA, recB := fixtest.FreeAddr(t), fixtest.FreeAddr(t)
	cfgOf := func(dir, role, primary, recovery string) config.Config {
		c := replCfg(dir, role, primary)
		c.Replication.Mode = config.ModeAsync
		c.Feed.Enabled, c.Feed.Recovery, c.Feed.HeartbeatMs = true, recovery, 20
		c.Feed.Send = []string{udp.LocalAddr().String()}
		return c
	}
	var logA, logB logLines
	a, _ := startRepl(t, cfgOf(dirA, "primary", "", recA), &logA)
	defer a.Stop()
	b, _ := startRepl(t, cfgOf(dirB, "standby", a.ReplicationAddr().String(), recB), &logB)
	trade(t, a, "S", 10)
	waitUntil(t, "the standby has the first orders", func() bool { return lastSeq(a) >= 10 && lastSeq(b) == lastSeq(a) })
	b.Stop()

	c, err := feed.Dial(recA)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := &feed.Receiver{Book: feed.NewBook(), Rec: c}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	rest := func(n *node.Node, prefix string, px int64) { // six sells that rest, in symbol 3 (order: 1 + len(id)%3)
		for i := range 6 {
			if err := n.Submit(order(1, fmt.Sprintf("%s%d", prefix, i), matcher.Sell, px+int64(i), 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rest(a, "L", 200) // acknowledged by the primary alone: a failover loses them
	snapshotWith(t, recA, 200)
	follow(t, r, udp, c)
	lostNext := r.Next()
	a.Stop()

	b, _ = startRepl(t, cfgOf(dirB, "primary", "", recB), &logB) // the operator's failover
	defer b.Stop()
	rest(b, "N", 300)
	want := snapshotWith(t, recB, 300)
	cb, err := feed.Dial(recB) // where the receiver's operator points it now
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	r.Rec = cb
	deadline := time.Now().Add(10 * time.Second)
	if err := r.ReadFrom(udp, func() bool { return r.Snapshots > 1 && r.Next() >= want.Next() || time.Now().After(deadline) }); err != nil {
		t.Fatal(err)
	}
	for _, sym := range []uint32{1, 2, 3} {
		got, exp := r.Book.Orders(sym, nil), want.Book.Orders(sym, nil)
		if !slices.Equal(got, exp) || r.Snapshots < 2 {
			t.Fatalf("after the failover the receiver (at seq %d, %d snapshots, had seq %d from the old primary) holds for symbol %d %v;\n"+
				"the new primary's snapshot (resume at seq %d) holds %v: the new primary's messages reused seqs it had",
				r.Next(), r.Snapshots, lostNext-1, sym, got, want.Next(), exp)
		}
	}
}

// snapshotWith polls (bounded) the recovery service at addr for a snapshot
// whose symbol 3 has six asks from px up, and returns its receiver.
func snapshotWith(t *testing.T, addr string, px int64) *feed.Receiver {
	t.Helper()
	c, err := feed.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for range 500 {
		r := &feed.Receiver{Book: feed.NewBook(), Rec: c}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range r.Book.Orders(3, nil) {
			if o.Price >= px && o.Price < px+6 {
				n++
			}
		}
		if n == 6 {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the recovery service at %s never showed the six asks from %d", addr, px)
	return nil
}
