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
	dirB := t.TempDir()
	a, b := syncPairIn(t, etcd, t.TempDir(), dirB)
	trade(t, a.cur, "A", 5)
	waitUntil(t, "b holds A", func() bool { return a.acked()["A4"] && lastSeq(b.cur) == lastSeq(a.cur) })
	b.stop(t)
	backup := filepath.Join(t.TempDir(), "b")
	if err := os.CopyFS(backup, os.DirFS(dirB)); err != nil {
		t.Fatal(err)
	}
	onBackup := lastSeq(a.cur)
	b = runShardNodeIn(t, etcd, "b", dirB, nil)
	b.next(t)
	trade(t, a.cur, "B", 5)
	waitUntil(t, "a acknowledged B, b holds everything", func() bool {
		return a.acked()["B4"] && b.role() == config.RoleStandby && lastSeq(b.cur) == lastSeq(a.cur)
	})
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
		onB := journaledIDs(t, backup)
		var lacks []string
		for id := range a.acked() {
			if id != "" && !onB[id] {
				lacks = append(lacks, id)
			}
		}
		slices.Sort(lacks)
		t.Fatalf("b, started again on a backup (seq %d), took the shard: the sync set names it at seq %d, and it lacks acknowledged orders %v held by a, down",
			lastSeq(b2.cur), seq, lacks)
	}
	waitUntil(t, "b says its journal ends before the set's seq", func() bool { return b2.logs.has("an old backup?") })
}
