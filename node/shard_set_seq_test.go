package node_test

import (
	"testing"
	"time"

	"github.com/ringex/ringex/internal/etcdtest"
)

// Claim (issue 17 item 3): promotion goes only to a member that holds
// every acknowledged record, also when the standing sync set names it and
// its leader was lost without a clean stop.
//
// A sync+wait shard: a leads, b follows. b is stopped, its data folder
// copied (a backup), and b started again on its own disk; more orders are
// acknowledged with b holding them, which changes no member of the set.
// While a runs, the set's seq in etcd follows what a and b hold. Then b
// stops, and a stops while etcd is down, so that no put at a clean stop
// moves the set's seq (as after a crash). etcd comes back, a's lease runs
// out, and b is started again under its name on the backup, which lacks
// the later acknowledged orders, while a is down: the set's advanced seq
// refuses it.
func TestEtcdSyncSetSeqAdvancesSoOlderBackupIsRefused(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b, backup, onBackup := syncPairWithBackup(t, etcd)
	held := lastSeq(a.cur)
	var seq int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) { // 30 ticks of TTL/3
		if st := shardStatus(t, etcd); st.Sync != nil {
			if seq = st.Sync.Seq; seq >= held {
				break
			}
		}
	}
	if seq < held {
		t.Fatalf("a and b hold seq %d, the backup %d; etcd's sync set still says seq %d after 10 s: a member restored from the backup would pass the election's check", held, onBackup, seq)
	}
	b.stop(t)
	etcd.Stop()
	a.cancel() // its clean stop cannot reach etcd: the set's seq stays as the running leader put it
	<-a.ran
	a.ran <- nil
	etcd.Start()

	b2 := runShardNodeIn(t, etcd, "b", backup, nil) // same name, the backup
	if leadsWithin(b2, 10*time.Second) {            // 10 lease TTLs
		t.Fatalf("b, started again on a backup (seq %d), took the shard: the sync set names it at seq %d, and it lacks acknowledged orders %v held by a, down",
			lastSeq(b2.cur), seq, lacking(t, a, backup))
	}
	waitUntil(t, "b says its journal ends before the set's seq", func() bool { return b2.logs.has("an old backup?") })
}
