package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
)

// shardOf3 are three ringex processes of one shard led through etcd:
// one primary and two standbys, sync replication.
type shardOf3 struct {
	bin   string
	etcd  string
	peers [3]*peer
	cfgs  [3]string
	procs [3]*proc
}

func newShardOf3(t *testing.T, etcd *etcdtest.Server) *shardOf3 {
	dir := t.TempDir()
	s := &shardOf3{bin: ringexBin(t), etcd: etcd.Endpoint()}
	for i := range s.peers {
		s.peers[i] = &peer{data: filepath.Join(dir, fmt.Sprintf("node%d", i)), fix: fixtest.FreeAddr(t),
			repl: fixtest.FreeAddr(t), admin: fixtest.FreeAddr(t)}
		s.cfgs[i] = writeShardConfig(t, dir, i, s.etcd)
	}
	return s
}

func (s *shardOf3) start(t *testing.T, i int) *proc {
	s.procs[i] = serveShardPeer(t, s.bin, s.peers[i], s.cfgs[i])
	return s.procs[i]
}

// startAll starts the three nodes and waits until one leads with both
// others in its sync set; it returns the primary's index.
func (s *shardOf3) startAll(t *testing.T) int {
	t.Helper()
	for i := range s.procs {
		s.start(t, i)
	}
	prim := s.winner(t, nil, 60*time.Second)
	s.waitSyncSet(t, 3, 60*time.Second)
	return prim
}

// winner waits until one of the running processes not in skip logs that
// it won the shard, and returns its index.
func (s *shardOf3) winner(t *testing.T, skip map[int]bool, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for i, p := range s.procs {
			if p != nil && !skip[i] && p.has("WON the shard") {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no node won the shard within %v", within)
	return -1
}

// syncSet reads the shard's sync set from etcd, as 'ringex status --etcd'
// prints it: the members' names, nil when none stands.
func (s *shardOf3) syncSet(t *testing.T) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if rc := adminMain("status", []string{"--etcd", s.etcd, "--shard", "s1"}, &out, &errb); rc != 0 {
		t.Fatalf("ringex status --etcd: exit %d: %s%s", rc, out.String(), errb.String())
	}
	f := strings.Fields(strings.SplitN(out.String(), "\n", 2)[0])
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "syncSet" && f[i+1] != "-" {
			return strings.Split(f[i+1], ",")
		}
	}
	return nil
}

// waitSyncSet waits until etcd's sync set has n members.
func (s *shardOf3) waitSyncSet(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		set := s.syncSet(t)
		if len(set) == n {
			return set
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync set is %v after %v, want %d members", set, within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sameUpTo fails the test unless the journals of a and b hold the same
// records up to seq.
func sameUpTo(t *testing.T, a, b string, seq int64) {
	t.Helper()
	ra, rb := records(t, a, seq), records(t, b, seq)
	if int64(len(ra)) != seq || int64(len(rb)) != seq {
		t.Fatalf("up to seq %d: %s holds %d records, %s %d", seq, a, len(ra), b, len(rb))
	}
	for i := range ra {
		if !bytes.Equal(ra[i], rb[i]) {
			t.Fatalf("record %d differs between %s and %s", i+1, a, b)
		}
	}
}

// TestEtcdShardThreeNodesKillPrimary: a shard of three ringex processes
// (one primary, two standbys, sync replication) led through a real etcd.
// Both standbys join the sync set. Under a FIX load the primary is killed
// with SIGKILL: one of the two standbys takes the shard under a higher
// token, every order the old primary acknowledged is on it at the same
// seq, the old primary acknowledged under lower tokens only (so at most
// one node acknowledged under each token), and the other standby follows
// the new primary and holds the same records.
func TestEtcdShardThreeNodesKillPrimary(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShardOf3(t, etcd)
	prim := s.startAll(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "K")
	time.Sleep(700 * time.Millisecond)
	killAt := time.Now()
	s.procs[prim].kill()
	next := s.winner(t, map[int]bool{prim: true}, 60*time.Second)
	other := 3 - prim - next
	c2, err := dialFIX(s.peers[next].fix, "BROKER02", killAt.Add(60*time.Second))
	if err != nil {
		t.Fatalf("no logon on the new primary node%d after the kill: %v", next, err)
	}
	t.Cleanup(c2.close)
	ackAt := awaitFirstAck(t, c2, "FO")
	ld.stopSending()
	<-ld.readEnd
	acked := ld.ackedNow()
	if len(acked) == 0 {
		t.Fatal("the primary acknowledged nothing before the kill")
	}
	last := checkAcked(t, s.peers[prim].data, s.peers[next].data, acked)
	newToken := epochOf(t, s.peers[next].data, lastSeqOf(s.peers[next].admin)).Epoch
	oldTokens := tokensOf(t, s.peers[prim].data, acked)
	for tok := range oldTokens {
		if tok >= newToken {
			t.Errorf("the old primary acknowledged under token %d, the new one node%d under %d: want a higher token", tok, next, newToken)
		}
	}
	if s.procs[other].has("WON the shard") {
		t.Fatalf("node%d also won the shard", other)
	}
	// The other standby follows the new primary and holds what it holds.
	for i := range 20 {
		awaitFirstAck(t, c2, fmt.Sprintf("N%d", i))
	}
	deadline := time.Now().Add(60 * time.Second)
	for lastSeqOf(s.peers[other].admin) != lastSeqOf(s.peers[next].admin) {
		if time.Now().After(deadline) {
			t.Fatalf("node%d at seq %d did not follow node%d at %d within 60 s", other, lastSeqOf(s.peers[other].admin), next, lastSeqOf(s.peers[next].admin))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := statusOf(s.peers[other].admin); st["role"] != "standby" || st["epoch"] != fmt.Sprint(newToken) {
		t.Fatalf("node%d's status %v: want a standby in epoch %d", other, st, newToken)
	}
	sameUpTo(t, s.peers[next].data, s.peers[other].data, lastSeqOf(s.peers[next].admin))
	set := s.waitSyncSet(t, 2, 60*time.Second)
	t.Logf("FIGURE etcd failover, 3 nodes: SIGKILL → first ack by node%d %v (leaseTtlMs %d); %d acknowledged (last seq %d) under tokens %v, all on node%d (token %d); node%d follows; sync set now %v",
		next, ackAt.Sub(killAt).Round(time.Millisecond), shardLeaseMs, len(acked), last, oldTokens, next, newToken, other, set)
	c2.close()
	for _, i := range []int{next, other} {
		s.procs[i].term(t)
	}
}

// TestEtcdShardStandbyOutsideTheSyncSetDoesNotWin: the review's case. A
// third member (node "out") is in the sync set, then frozen (SIGSTOP)
// under load for longer than syncTimeoutMs: the primary takes it out of
// the set in etcd and goes on with the other standby. The primary and
// that standby are then killed together, and "out" resumes: alive, and
// the only member left, it does not take the shard by election, since it
// may lack what was acknowledged (three lease TTLs pass without it), and
// etcd's set still names the two dead members. The standby of the set,
// restarted, takes the shard, holds every acknowledged order, and "out"
// follows it.
func TestEtcdShardStandbyOutsideTheSyncSetDoesNotWin(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShardOf3(t, etcd)
	prim := s.startAll(t)
	in, out := (prim+1)%3, (prim+2)%3
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "Q")
	time.Sleep(300 * time.Millisecond)
	s.procs[out].cmd.Process.Signal(syscall.SIGSTOP)
	waitFor(t, s.procs[prim], "SYNC SET: members left it", 60*time.Second, fmt.Sprintf(" left=node%d ", out))
	time.Sleep(300 * time.Millisecond) // acknowledged without "out"
	s.procs[prim].kill()
	s.procs[in].kill()
	ld.stopSending()
	<-ld.readEnd
	acked := ld.ackedNow()
	s.procs[out].cmd.Process.Signal(syscall.SIGCONT)
	set := s.syncSet(t)
	if len(set) != 2 || strings.Contains(strings.Join(set, ","), fmt.Sprintf("node%d", out)) {
		t.Fatalf("etcd's sync set is %v: want the primary and node%d, not node%d", set, in, out)
	}
	time.Sleep(3 * shardLeaseMs * time.Millisecond)
	if s.procs[out].has("WON the shard") || s.procs[out].has("PROMOTED") {
		t.Fatalf("node%d, outside the sync set %v, took the shard", out, set)
	}
	s.start(t, in)
	if w := s.winner(t, map[int]bool{prim: true}, 60*time.Second); w != in {
		t.Fatalf("node%d took the shard, want node%d (in the sync set)", w, in)
	}
	last := checkAcked(t, s.peers[prim].data, s.peers[in].data, acked)
	c2 := mustDialFIX(t, s.peers[in].fix, "BROKER02")
	awaitFirstAck(t, c2, "AFTER")
	deadline := time.Now().Add(60 * time.Second)
	for lastSeqOf(s.peers[out].admin) != lastSeqOf(s.peers[in].admin) {
		if time.Now().After(deadline) {
			t.Fatalf("node%d did not follow node%d within 60 s", out, in)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d acknowledged (last seq %d), all on node%d; node%d stayed out until node%d led again", len(acked), last, in, out, in)
	c2.close()
	for _, i := range []int{in, out} {
		s.procs[i].term(t)
	}
}
