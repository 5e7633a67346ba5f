package node_test

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

// Claim (issue 17 item 2, node/feed.go: "never before an acknowledgement
// could go"): a primary of a shard publishes, on any path, no market-data
// fact of a record it has not acknowledged: such a record may be set
// aside when the term is lost (no standby holds it), and a trade put on
// the public feed would then never have happened.
//
// A sync primary (onStandbyLost wait) with no standby journals a crossing
// pair and holds both: no broker hears of them (the replicate handler
// waits for a standby). The live UDP feed, in the publish stage, sends
// nothing of them, and neither does the feed's recovery service beside
// the node: it serves to what the node published, not to the journal's
// DURABLE mark, so a retransmit request gets no fact of the trade. The
// same must hold while a primary's guard has run out (etcd unreachable:
// the publish stage holds, the journal does not) and on a standby, which
// journals what a stale primary ships.
func TestEtcdFeedRecoveryServesNoUnacknowledgedTrade(t *testing.T) {
	etcd := etcdtest.Start(t)
	recovery := fixtest.FreeAddr(t)
	a := runShardNodeIn(t, etcd, "a", t.TempDir(), func(c *config.Config) {
		c.Feed.Enabled, c.Feed.Recovery, c.Feed.HeartbeatMs = true, recovery, 20
	})
	n := a.next(t)
	waitUntil(t, "a leads", func() bool { return a.role() == config.RolePrimary })
	if err := n.Submit(order(1, "S0", matcher.Sell, 100, 5)); err != nil {
		t.Fatal(err)
	}
	if err := n.Submit(order(2, "B0", matcher.Buy, 100, 5)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "both orders journaled", func() bool { return lastSeq(n) >= 2 })
	waitUntil(t, "the primary waits for a standby", func() bool { return a.logs.has("REPLICATION WAITING") })
	if acked := a.acked(); len(acked) > 0 {
		t.Fatalf("with no standby, a sync primary acknowledged %v", acked)
	}

	c, err := feed.Dial(recovery)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var facts []string
	if _, err := c.Retransmit(1, 100, func(m *feed.Message) error {
		if m.Type == feed.TypeTrade || m.Type == feed.TypeExecuted || m.Type == feed.TypeAdd {
			facts = append(facts, fmt.Sprintf("%c journal seq %d qty %d px %d", m.Type, m.JournalSeq, m.Qty, m.Price))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(facts) > 0 {
		t.Fatalf("the feed's recovery service served %v: facts of records no broker was told of (acknowledged: none), which a lost term sets aside", facts)
	}
}
