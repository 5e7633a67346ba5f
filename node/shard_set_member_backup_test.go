package node_test

import (
	"testing"
	"time"

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
	a, b, backup, _ := syncPairWithBackup(t, etcd)
	set := stopBothCleanly(t, etcd, a, b)

	b2 := runShardNodeIn(t, etcd, "b", backup, nil) // same name, the backup
	if leadsWithin(b2, 10*time.Second) {            // 10 lease TTLs
		t.Fatalf("b, started again on a backup (seq %d), took the shard: the sync set %v names it, and it lacks acknowledged orders %v held by a, down",
			lastSeq(b2.cur), set, lacking(t, a, backup))
	}
}
