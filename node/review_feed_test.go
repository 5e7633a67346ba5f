package node_test

import (
	"net"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestReviewFeedSnapshotOmitsRiskRefusedOrder: with pre-trade risk on
// (risk.mode limits) and the binary feed on, an order the risk stage
// refuses never reaches a matcher: the broker gets ExecType 8, the live
// feed puts nothing on the wire for it. package feed's doc promises that
// the recovery service's snapshot "is the matcher's own books" and that
// the feed "is a pure function of the journal"; a feed handler that takes
// a snapshot must therefore see only the accepted order. Today the
// recovery service's Replayer applies every journaled command to fresh
// matcher partitions without the risk stage's Check, so the refused
// order rests in the snapshot (and its Add takes a seq the live feed
// never sent).
func TestReviewFeedSnapshotOmitsRiskRefusedOrder(t *testing.T) {
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

// TestReviewFeedHeartbeatsAfterRestart: package feed's doc says the
// publisher "sends a heartbeat after HeartbeatMs of silence", a packet
// with count 0 whose first seq "is the seq of the next message, so a
// receiver learns of messages it missed at the end of a burst". A
// receiver on the static feed.send list that lost the last packets before
// the node stopped must learn of them from the restarted node's
// heartbeats. Today the restarted node sends nothing at all until a new
// command is published: the Publisher's next seq starts at 0 (its
// heartbeat is skipped while next is 0), although startFeed knows the
// next seq from the journal.
func TestReviewFeedHeartbeatsAfterRestart(t *testing.T) {
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
