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

// Claim (issue 17 item 3): promotion goes only to a member that holds
// every acknowledged record, also when the standing sync set names it.
//
// A sync+wait shard: a leads, b follows. b is stopped, its data folder
// copied (a backup), and b started again; more orders are acknowledged
// with b holding them. a stops cleanly (the set names a and b), b takes
// the shard and stops cleanly. b is then started again under its name on
// the backup, which lacks the later acknowledged orders, while a is down.
func TestEtcdSyncSetMemberOnOldBackupDoesNotTakeShard(t *testing.T) {
	etcd := etcdtest.Start(t)
	dirB := t.TempDir()
	a, b := syncPairIn(t, etcd, t.TempDir(), dirB)
	trade(t, a.cur, "A", 5)
	waitUntil(t, "b holds A", func() bool { return a.acked()["A4"] && lastSeq(b.cur) == lastSeq(a.cur) })
	b.stop(t)
	backup := filepath.Join(t.TempDir(), "b")
	if err := os.CopyFS(backup, os.DirFS(dirB)); err != nil {
		t.Fatal(err)
	}
	b = runShardNodeIn(t, etcd, "b", dirB, nil)
	b.next(t)
	trade(t, a.cur, "B", 5)
	waitUntil(t, "a acknowledged B, b holds everything", func() bool {
		return a.acked()["B4"] && b.role() == config.RoleStandby && lastSeq(b.cur) == lastSeq(a.cur)
	})
	set := stopBothCleanly(t, etcd, a, b)

	b2 := runShardNodeIn(t, etcd, "b", backup, nil) // same name, the backup
	if leadsWithin(b2, 10*time.Second) {            // 10 lease TTLs
		onB := journaledIDs(t, backup)
		var lacks []string
		for id := range a.acked() {
			if id != "" && !onB[id] {
				lacks = append(lacks, id)
			}
		}
		slices.Sort(lacks)
		t.Fatalf("b, started again on a backup (seq %d), took the shard: the sync set %v names it, and it lacks acknowledged orders %v held by a, down",
			lastSeq(b2.cur), set, lacks)
	}
}
