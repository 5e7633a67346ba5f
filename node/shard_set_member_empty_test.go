package node_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
)

// Claim (issue 17 item 3; project rule "nothing acknowledged is lost"):
// promotion goes only to a member that holds every acknowledged record,
// also when the member is named by the standing sync set.
//
// A sync+wait shard: a leads, b follows and acknowledges everything; a
// stops cleanly (the set names a and b), b takes the shard and stops
// cleanly too. b is then started again under its own name on an empty
// disk (a replaced disk) while a is down. The set names b, but b lacks
// every acknowledged record: it must not take the shard.
func TestEtcdSyncSetMemberOnEmptyDiskDoesNotTakeShard(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := syncPairIn(t, etcd, t.TempDir(), t.TempDir())
	trade(t, a.cur, "A", 10)
	waitUntil(t, "a acknowledged, b holds everything", func() bool {
		return a.acked()["A9"] && lastSeq(b.cur) >= 10 && lastSeq(b.cur) == lastSeq(a.cur)
	})
	held := lastSeq(a.cur)
	set := stopBothCleanly(t, etcd, a, b)

	b2 := runShardNodeIn(t, etcd, "b", t.TempDir(), nil) // same name, empty journal
	if leadsWithin(b2, 10*time.Second) {                 // 10 lease TTLs
		t.Fatalf("b, started again on an empty disk (seq %d), took the shard: the sync set %v names it, and a, down, holds %d acknowledged records",
			lastSeq(b2.cur), set, held)
	}
}

// syncPairIn starts sync shard nodes a on dirA, returning once it leads,
// and b on dirB, returning once it has started (as a's standby).
func syncPairIn(t *testing.T, etcd *etcdtest.Server, dirA, dirB string) (a, b *shardRunner) {
	t.Helper()
	a = runShardNodeIn(t, etcd, "a", dirA, nil)
	a.next(t)
	waitUntil(t, "a leads", func() bool { return a.role() == config.RolePrimary })
	b = runShardNodeIn(t, etcd, "b", dirB, nil)
	b.next(t)
	return a, b
}

// stopBothCleanly stops a, waits for b to take the shard, stops b, and
// returns etcd's sync set then, which must name b.
func stopBothCleanly(t *testing.T, etcd *etcdtest.Server, a, b *shardRunner) []string {
	t.Helper()
	a.stop(t)
	waitUntil(t, "b takes the shard", func() bool { return b.role() == config.RolePrimary })
	b.stop(t)
	set := etcdSyncSet(t, etcd)
	if !slices.Contains(set, "b") {
		t.Fatalf("after a and b stopped cleanly, etcd's sync set is %v: want b in it", set)
	}
	return set
}

// syncPairWithBackup starts the sync pair a (leading) and b, has a
// acknowledge orders A0..A4, held by b, then stops b and copies its data
// folder to backup, onBackup being a's seq then. b starts again on its own
// disk and a acknowledges orders B0..B4, held by b too: b is the returned
// standby, and the backup lacks the B orders.
func syncPairWithBackup(t *testing.T, etcd *etcdtest.Server) (a, b *shardRunner, backup string, onBackup int64) {
	t.Helper()
	dirB := t.TempDir()
	a, b = syncPairIn(t, etcd, t.TempDir(), dirB)
	trade(t, a.cur, "A", 5)
	waitUntil(t, "b holds A", func() bool { return a.acked()["A4"] && lastSeq(b.cur) == lastSeq(a.cur) })
	b.stop(t)
	backup = filepath.Join(t.TempDir(), "b")
	if err := os.CopyFS(backup, os.DirFS(dirB)); err != nil {
		t.Fatal(err)
	}
	onBackup = lastSeq(a.cur)
	b = runShardNodeIn(t, etcd, "b", dirB, nil)
	b.next(t)
	trade(t, a.cur, "B", 5)
	waitUntil(t, "a acknowledged B, b holds everything", func() bool {
		return a.acked()["B4"] && b.role() == config.RoleStandby && lastSeq(b.cur) == lastSeq(a.cur)
	})
	return a, b, backup, onBackup
}

// lacking is the ClOrdIDs, sorted, of the orders a acknowledged that the
// journal in dir does not hold.
func lacking(t *testing.T, a *shardRunner, dir string) []string {
	t.Helper()
	held := journaledIDs(t, dir)
	var lacks []string
	for id := range a.acked() {
		if id != "" && !held[id] {
			lacks = append(lacks, id)
		}
	}
	slices.Sort(lacks)
	return lacks
}
