package node_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/replica"
)

// Claim (the sync set names only members that hold every acknowledged
// record): once the leader hears a standby of its set say it holds less
// than the set stands for, etcd's set stops naming it.
//
// A sync+wait shard: a leads, b follows and joins the set {a, b} holding
// 10 acknowledged orders. b stops, and a standby named b comes back on an
// empty disk: its hello says seq 0. It passes the handshake and then says
// nothing more (its Admit holds), so it never catches up. a knows from
// that hello that b holds nothing; etcd's set must not go on naming b,
// or a's death would leave the shard to a member that lacks everything
// (had it kept one record, the set would let it win: see
// TestEtcdSyncSetMemberOnOldBackupDoesNotTakeShard).
func TestEtcdSyncSetDropsMemberBackWithLess(t *testing.T) {
	etcd := etcdtest.Start(t)
	a, b := syncPairIn(t, etcd, t.TempDir(), t.TempDir())
	trade(t, a.cur, "A", 10)
	waitUntil(t, "b in the set, holding everything a acknowledged", func() bool {
		return a.acked()["A9"] && lastSeq(b.cur) == lastSeq(a.cur) && slices.Equal(etcdSyncSet(t, etcd), []string{"a", "b"})
	})
	b.stop(t)

	dir := t.TempDir()
	j, err := journal.Open(journal.Options{Dir: filepath.Join(dir, "journal"), Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := replica.LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	connected := a.logs.count("standby connected", " seq=0 ")
	r := replica.NewReceiver(replica.ReceiverOptions{Primary: a.repl, Name: "b", Journal: j, History: hist, TimeoutMs: 60000, Log: logtest.New(t),
		Admit: func(uint64) error { <-hold; return errors.New("test: not admitting") },
		Apply: func(int64, []byte) error { return nil }})
	ran := make(chan error, 1)
	go func() { ran <- r.Run() }()
	t.Cleanup(func() { close(hold); r.Stop(); <-ran; j.Close() })
	waitUntil(t, "b, on an empty disk, passed a's handshake", func() bool { return a.logs.count("standby connected", " seq=0 ") > connected })

	deadline := time.Now().Add(10 * time.Second) // 10 lease TTLs
	set := etcdSyncSet(t, etcd)
	for slices.Contains(set, "b") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		set = etcdSyncSet(t, etcd)
	}
	if slices.Contains(set, "b") {
		t.Fatalf("10 s after b came back to a saying it holds seq 0, etcd's sync set is still %v: a member lacking %d acknowledged records stays named as holding them",
			set, len(a.acked()))
	}
}
