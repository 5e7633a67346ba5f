package node_test

import (
	"fmt"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

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
	n, err := node.Start(cfg, node.Options{Logf: t.Logf})
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
	n, err = node.Start(cfg, node.Options{Logf: t.Logf})
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
