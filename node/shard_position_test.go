package node_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
)

// When the leader stops, the standby that holds its term's records takes
// the shard, although another candidate posts a higher seq: that one's
// history ends in an older term (a deposed leader that journaled records
// after its lease ran out, never acknowledged). Candidates compare the
// newest epoch of their histories first, which the node publishes from
// its own (<dataDir>/epoch).
func TestStandbyOfTheNewestTermWinsOverAHigherSeqOfAnOlderOne(t *testing.T) {
	etcd := etcdtest.Start(t)
	prim, stby := runShardPair(t, etcd)
	trade(t, prim.cur, "A", 20)
	waitUntil(t, "the standby has everything", func() bool { return lastSeq(prim.cur) >= 20 && lastSeq(stby.cur) == lastSeq(prim.cur) })
	st, _ := prim.cur.ReplicationStats()

	// The deposed leader of the term before, with 1,000 records more.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var seq atomic.Int64
	seq.Store(st.LastSeq + 1000)
	old, err := cluster.Join(ctx, cluster.Config{Endpoints: []string{etcd.Endpoint()}, Shard: "s1", Name: "old",
		ReplAddr: fixtest.FreeAddr(t), TTL: time.Second, Settle: 2 * time.Second, DurableSeq: seq.Load,
		Epoch: func() cluster.Token { return cluster.Token(st.Epoch) - 1 }})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(context.Background())
	won := make(chan *cluster.Leadership, 1)
	go func() {
		l, _ := old.Lead(ctx)
		won <- l
	}()

	prim.cancel() // stops and resigns: no leader holds the shard
	if err := <-prim.ran; err != nil {
		t.Fatalf("Run of %s after cancel: %v", prim.name, err)
	}
	prim.ran <- nil // for the cleanup
	deadline := time.Now().Add(60 * time.Second)
	for stby.role() != config.RolePrimary {
		select {
		case l := <-won:
			if l != nil {
				t.Fatalf("the candidate at epoch %d seq %d took the shard (token %d) from %s at epoch %d seq %d: the newer term's records would be cut away",
					st.Epoch-1, seq.Load(), l.Token(), stby.name, st.Epoch, st.LastSeq)
			}
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not take the shard within 60 s", stby.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
