package node_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
)

// Claim (issue 17 item 3; project rule "nothing acknowledged is lost"):
// promotion goes only to a member that holds every acknowledged record.
//
// A sync+wait shard: a leads, b follows and acknowledges everything; both
// then stop cleanly. A member whose journal is empty (a new node, or b
// started again on a replaced disk) joins while neither is up. The
// candidates compare only the members present, so only the sync set, which
// outlives its leader in etcd, keeps it from taking the shard with
// nothing; had it won, a starting again would follow it and the divergence
// handling would set aside every order a acknowledged.
func TestEtcdEmptyMemberDoesNotTakeShardWithAcknowledgedRecords(t *testing.T) {
	etcd := etcdtest.Start(t)
	dirA := t.TempDir()
	a := runShardNodeIn(t, etcd, "a", dirA, steadyCfg) // a keeps the shard while it trades
	a.next(t)
	waitUntil(t, "a leads", func() bool { return a.role() == config.RolePrimary })
	b := runShardNodeIn(t, etcd, "b", t.TempDir(), steadyCfg)
	b.next(t)
	trade(t, a.cur, "A", 10)
	waitUntil(t, "a acknowledged, b holds everything", func() bool {
		return a.acked()["A9"] && lastSeq(b.cur) >= 10 && lastSeq(b.cur) == lastSeq(a.cur)
	})
	acked := a.acked()
	b.stop(t)
	a.stop(t)

	c := runShardNodeIn(t, etcd, "c", t.TempDir(), nil) // empty journal
	// A member that neither leads nor has a leader to follow starts no node.
	if !leadsWithin(c, 10*time.Second) { // 10 of its 1 s lease TTLs
		// Refused, and for the claim's reason, not a slow start.
		waitUntil(t, "c says the sync set keeps it out", func() bool { return c.logs.has("this member is not in it") })
		return
	}
	a2 := runShardNodeIn(t, etcd, "a", dirA, nil)
	a2.next(t)
	waitUntil(t, "a follows c (started again after any divergence)", func() bool {
		select {
		case n := <-a2.started:
			a2.cur = n
		default:
		}
		return a2.role() == config.RoleStandby && a2.cur.FailErr() == nil && lastSeq(a2.cur) == lastSeq(c.cur) &&
			(a2.logs.has("in sync with the primary") || lastSeq(c.cur) > 0)
	})
	onA := journaledIDs(t, dirA)
	var lost []string
	for id := range acked {
		if id != "" && !onA[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Fatalf("c, whose journal was empty, took the shard while a and b (holding %d acknowledged orders) were down; a then followed it and set aside acknowledged orders %v",
			len(acked), lost)
	}
	t.Fatalf("c, whose journal was empty, took the shard while a and b held %d acknowledged orders", len(acked))
}

// leadsWithin waits up to d for r to start a node and lead the shard, and
// says whether it does.
func leadsWithin(r *shardRunner, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for (r.cur == nil || r.role() != config.RolePrimary) && time.Now().Before(deadline) {
		select {
		case r.cur = <-r.started:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return r.cur != nil && r.role() == config.RolePrimary
}
