package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/tcplink"
)

// shardPeers are two ringex nodes of one shard led through etcd, each with
// its own config file (the node's name differs).
type shardPeers struct {
	bin   string
	peers [2]*peer
	cfgs  [2]string
	procs [2]*proc
}

const shardLeaseMs = 2000

func newShard(t *testing.T, etcd *etcdtest.Server, change ...func(*config.Config)) *shardPeers {
	return newShardVia(t, [2]string{etcd.Endpoint(), etcd.Endpoint()}, change...)
}

// newShardVia is newShard with each node reaching etcd at its own
// endpoint (a tcplink the test can cut).
func newShardVia(t *testing.T, endpoints [2]string, change ...func(*config.Config)) *shardPeers {
	dir := t.TempDir()
	s := &shardPeers{bin: ringexBin(t), peers: newPeers(t, dir)}
	for i := range s.cfgs {
		s.cfgs[i] = writeShardConfig(t, dir, i, endpoints[i], change...)
	}
	return s
}

// writeShardConfig writes dir/node<i>.json, the config of shard s1's node
// named node<i> reaching etcd at endpoint (no fixed role, a snapshot every
// 500 commands, then each change), and returns its path.
func writeShardConfig(t *testing.T, dir string, i int, endpoint string, change ...func(*config.Config)) string {
	t.Helper()
	cfg := config.Default()
	cfg.Snapshot = config.Snapshot{EveryCommands: 500}
	cfg.Replication.Role = config.RoleNone
	cfg.Cluster = config.Cluster{Etcd: []string{endpoint}, Shard: "s1", Name: fmt.Sprintf("node%d", i), LeaseTTLMs: shardLeaseMs}
	for _, f := range change {
		f(&cfg)
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, fmt.Sprintf("node%d.json", i))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (s *shardPeers) start(t *testing.T, i int) *proc {
	s.procs[i] = serveShardPeer(t, s.bin, s.peers[i], s.cfgs[i])
	return s.procs[i]
}

// serveShardPeer starts bin serving p's data and addresses under the
// config file cfg.
func serveShardPeer(t *testing.T, bin string, p *peer, cfg string) *proc {
	return startProc(t, bin, "serve", "--config", cfg, "--data", p.data, "--listen", p.fix,
		"--repl-listen", p.repl, "--admin", p.admin)
}

// startBoth starts both nodes, waits until one wins the shard and the
// other follows it in sync, and returns the primary's and the standby's
// index.
func (s *shardPeers) startBoth(t *testing.T) (prim, stby int) {
	t.Helper()
	s.start(t, 0)
	s.start(t, 1)
	prim = s.leader(t, 60*time.Second)
	stby = 1 - prim
	waitSync(t, s.procs[stby])
	return prim, stby
}

// checkTokens fails the test unless every token the old primary prim
// acknowledged acked under is below the token the new primary stby now
// acknowledges under; it returns both.
func (s *shardPeers) checkTokens(t *testing.T, prim, stby int, acked map[string]int64) (oldTokens map[uint64]int, newToken uint64) {
	t.Helper()
	newToken = epochOf(t, s.peers[stby].data, lastSeqOf(s.peers[stby].admin)).Epoch
	oldTokens = tokensOf(t, s.peers[prim].data, acked)
	for tok := range oldTokens {
		if tok >= newToken {
			t.Errorf("the old primary acknowledged under token %d, the new one acknowledges under %d: want a higher token", tok, newToken)
		}
	}
	return oldTokens, newToken
}

// finish checks that both nodes' journals replay alike (finalDiff, with
// leader's as the reference) and, with SHOWLOG set, fails the test to
// show the nodes' logs.
func (s *shardPeers) finish(t *testing.T, leader int) {
	t.Helper()
	finalDiff(t, s.peers, s.procs, leader)
	if os.Getenv("SHOWLOG") != "" {
		t.Error("SHOWLOG")
	}
}

// leader waits until one of the two started processes logs that it won
// the shard after since lines, and returns its index.
func (s *shardPeers) leader(t *testing.T, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for i, p := range s.procs {
			if p != nil && p.has("WON the shard") {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no node won the shard within %v", within)
	return -1
}

// waitFor polls p's log for a line with sub and every one of more.
func waitFor(t *testing.T, p *proc, sub string, within time.Duration, more ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !p.has(append([]string{sub}, more...)...) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q %q within %v", sub, more, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tokensOf returns the epochs (fencing tokens) of the seqs a client saw
// acknowledged by one node, read from that node's epoch history.
func tokensOf(t *testing.T, dataDir string, acked map[string]int64) map[uint64]int {
	out := map[uint64]int{}
	for _, seq := range acked {
		out[epochOf(t, dataDir, seq).Epoch]++
	}
	return out
}

// TestEtcdShardKillPrimary: a shard of two ringex processes led through a
// real etcd (in-process), sync replication. Under a FIX load the primary
// is killed with SIGKILL; etcd's election promotes the standby once the
// old lease expires, a broker is acknowledged by it, every order the old
// primary acknowledged is on it at the same seq with the same state, and
// the two primaries acknowledged under different tokens (each ack's seq
// lies in an epoch of the node that sent it, and the new primary's token
// is higher). The old node restarts with its own command line, rejoins as
// a standby of the new leader, and at the end a replay of both journals
// agrees.
func TestEtcdShardKillPrimary(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShard(t, etcd)
	prim, stby := s.startBoth(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "K")
	time.Sleep(700 * time.Millisecond)
	killAt := time.Now()
	s.procs[prim].kill()
	c2, err := dialFIX(s.peers[stby].fix, "BROKER02", killAt.Add(60*time.Second))
	if err != nil {
		t.Fatalf("no logon on the standby's address after the kill: %v", err)
	}
	t.Cleanup(c2.close)
	ackAt := awaitFirstAck(t, c2, "FO")
	sent := ld.stopSending()
	<-ld.readEnd
	acked := ld.ackedNow()
	if len(acked) == 0 {
		t.Fatal("the primary acknowledged nothing before the kill")
	}
	last := checkAcked(t, s.peers[prim].data, s.peers[stby].data, acked)
	oldTokens, newToken := s.checkTokens(t, prim, stby, acked)
	t.Logf("FIGURE etcd failover: SIGKILL → first ack by the new primary %v (leaseTtlMs %d); %d sent, %d acknowledged (last seq %d) under tokens %v, all on the new primary (token %d)",
		ackAt.Sub(killAt).Round(time.Millisecond), shardLeaseMs, sent, len(acked), last, oldTokens, newToken)

	s.start(t, prim)
	waitSync(t, s.procs[prim])
	if s.procs[prim].has("WON the shard") {
		t.Fatal("the restarted old primary won the shard beside the serving one")
	}
	c2.close()
	s.finish(t, stby)
}

// TestEtcdShardFrozenPrimary: the primary is frozen with SIGSTOP for longer
// than its lease, under a FIX load; the standby takes the shard. The mode
// is sync with onStandbyLost "async", where a primary may go on alone: the
// two-node mode's split brain. Resumed
// with SIGCONT, the old primary acknowledges nothing more (every ack its
// broker got lies in its old term and is on the new primary), says it lost
// its leadership, and rejoins as a standby of the new leader.
func TestEtcdShardFrozenPrimary(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShard(t, etcd, func(c *config.Config) { c.Replication.OnStandbyLost = config.LostAsync })
	prim, stby := s.startBoth(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "Z")
	time.Sleep(500 * time.Millisecond)
	s.procs[prim].cmd.Process.Signal(syscall.SIGSTOP)
	frozenAt := time.Now()
	c2, err := dialFIX(s.peers[stby].fix, "BROKER02", frozenAt.Add(60*time.Second))
	if err != nil {
		t.Fatalf("no logon on the standby's address while the primary is frozen: %v", err)
	}
	t.Cleanup(c2.close)
	ackAt := awaitFirstAck(t, c2, "FZ")
	before := ld.ackedNow()
	s.procs[prim].cmd.Process.Signal(syscall.SIGCONT)
	waitFor(t, s.procs[prim], "LEADERSHIP LOST", 60*time.Second)
	sent := ld.stopSending()
	<-ld.readEnd
	acked := ld.ackedNow()
	if len(acked) != len(before) {
		t.Errorf("the old primary acknowledged %d orders after it was resumed (its lease had expired)", len(acked)-len(before))
	}
	oldTokens, newToken := s.checkTokens(t, prim, stby, acked)
	waitSync(t, s.procs[prim]) // rejoined as standby, in sync with the new leader
	last := checkAcked(t, s.peers[prim].data, s.peers[stby].data, acked)
	t.Logf("frozen %v until the new primary's first ack; %d sent, %d acknowledged by the old primary (last seq %d, tokens %v), none after resuming; new token %d",
		ackAt.Sub(frozenAt).Round(time.Millisecond), sent, len(acked), last, oldTokens, newToken)
	if !s.procs[prim].has("STANDBY following") {
		t.Error("the old primary did not start again as a standby")
	}
	c2.close()
	s.finish(t, stby)
}

// TestEtcdShardEtcdStopped: etcd is stopped under a FIX load. The primary
// acknowledges until its lease guard runs out, then holds its
// acknowledgements (saying so) and none reaches the broker while etcd is
// down; the standby does not take the shard. Once its lease has certainly
// expired (a TTL past its earliest expiry) it logs its broker out (LEASE
// EXPIRED) rather than keep the port open acknowledging nothing; when
// etcd is back the shard has a leader again and every acknowledged order
// is on both nodes. (The held orders' reports reach the broker when it
// logs on again: node.TestEtcdPrimaryCutOffLogsItsBrokersOut.)
func TestEtcdShardEtcdStopped(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShard(t, etcd)
	prim, stby := s.startBoth(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "E")
	time.Sleep(500 * time.Millisecond)
	stopAt := time.Now()
	etcd.Stop()
	waitFor(t, s.procs[prim], "ACKNOWLEDGEMENTS HELD", 60*time.Second)
	// The guard runs out at the latest one lease after the last answered
	// keep-alive; give a broker's TCP stack 500 ms more to deliver what
	// went out before it.
	time.Sleep(time.Until(stopAt.Add(shardLeaseMs*time.Millisecond + 500*time.Millisecond)))
	heldFrom := len(ld.ackedNow())
	time.Sleep(2 * shardLeaseMs * time.Millisecond)
	heldTo := len(ld.ackedNow())
	if heldTo != heldFrom {
		t.Errorf("%d orders acknowledged while etcd was down, past the lease", heldTo-heldFrom)
	}
	for _, p := range s.procs {
		if p.has("PROMOTING") || p.has("WON the shard", "shard=s1 ") && p == s.procs[stby] {
			t.Errorf("a node took the shard while etcd was down")
		}
	}
	waitFor(t, s.procs[prim], "LEASE EXPIRED", 60*time.Second)
	sent := ld.stopSending()
	<-ld.readEnd // the primary's Logout ends the connection
	etcd.Start()
	down := time.Since(stopAt)
	acked := ld.ackedNow()
	if len(acked) != heldFrom {
		t.Errorf("%d orders acknowledged after the hold began", len(acked)-heldFrom)
	}
	last := checkAcked(t, s.peers[prim].data, s.peers[stby].data, acked)
	t.Logf("etcd down %v; %d sent, %d acknowledged before the hold, none after (last seq %d)",
		down.Round(time.Millisecond), sent, heldFrom, last)
	s.finish(t, prim)
}

// TestEtcdShardHandoffAndStatus: 'ringex promote node1' on the leader's
// admin endpoint under a FIX load hands the shard to the standby: the old
// primary acknowledges nothing after the handoff began, the new one
// acknowledges under a higher token, every acknowledged order is on it,
// and the old primary rejoins as its standby. 'ringex status --etcd
// --shard' names the leader, its token and each member's durable seq.
func TestEtcdShardHandoffAndStatus(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShard(t, etcd)
	prim, stby := s.startBoth(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "H")
	time.Sleep(500 * time.Millisecond)
	var out, errb bytes.Buffer
	if rc := adminMain("promote", []string{"--admin", s.peers[prim].admin, fmt.Sprintf("node%d", stby)}, &out, &errb); rc != 0 {
		t.Fatalf("ringex promote node%d: exit %d: %s%s", stby, rc, out.String(), errb.String())
	}
	t.Logf("ringex promote: %s", strings.TrimSpace(out.String()))
	waitFor(t, s.procs[stby], "PROMOTED", 60*time.Second)
	c2, err := dialFIX(s.peers[stby].fix, "BROKER02", time.Now().Add(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c2.close)
	awaitFirstAck(t, c2, "HO")
	sent := ld.stopSending()
	<-ld.readEnd
	acked := ld.ackedNow()
	last := checkAcked(t, s.peers[prim].data, s.peers[stby].data, acked)
	_, newToken := s.checkTokens(t, prim, stby, acked)
	t.Logf("%d sent, %d acknowledged by the old primary (last seq %d), all on the new one (token %d)", sent, len(acked), last, newToken)
	waitFor(t, s.procs[prim], "in sync with the primary", 60*time.Second)

	out.Reset()
	errb.Reset()
	if rc := adminMain("status", []string{"--etcd", etcd.Endpoint(), "--shard", "s1"}, &out, &errb); rc != 0 {
		t.Fatalf("ringex status --etcd: exit %d: %s", rc, errb.String())
	}
	st := out.String()
	t.Logf("ringex status:\n%s", st)
	for _, want := range []string{fmt.Sprintf("leader node%d token %d", stby, newToken), "member node0 ", "member node1 ", "leaseLeftMs "} {
		if !strings.Contains(st, want) {
			t.Errorf("ringex status lacks %q", want)
		}
	}
	adminStatusNamesTheShard(t, s.peers[stby].admin, stby, prim, newToken)
	c2.close()
	s.finish(t, stby)
}

// adminStatusNamesTheShard checks 'ringex status --admin' of the leader
// (node lead): after its replication line, the shard as it sees it (its
// role, the leader, the token, its lease left) and each member's durable
// seq and newest epoch, the other's (node other) as it last published it
// (here: at the status poll before).
func adminStatusNamesTheShard(t *testing.T, admin string, lead, other int, token uint64) {
	t.Helper()
	var out, errb bytes.Buffer
	if rc := adminMain("status", []string{"--admin", admin}, &out, &errb); rc != 0 {
		t.Fatalf("ringex status --admin: exit %d: %s%s", rc, out.String(), errb.String())
	}
	st := out.String()
	t.Logf("ringex status --admin:\n%s", st)
	lines := strings.Split(strings.TrimSpace(st), "\n")
	want := fmt.Sprintf("shard s1 member node%d shardRole primary leader node%d token %d leaseLeftMs ", lead, lead, token)
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ok role primary") || !strings.HasPrefix(lines[1], want) {
		t.Fatalf("ringex status --admin: want the replication line, %q..., and a line per member", want)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 8 || f[0] != "member" || f[2] != "durableSeq" || f[4] != "historyEpoch" || f[5] != fmt.Sprint(token) || f[6] != "heardAgoMs" {
			t.Errorf("member line %q: want member NAME durableSeq N historyEpoch %d heardAgoMs N", l, token)
		}
		if f[1] == fmt.Sprintf("node%d", other) && f[3] == "0" {
			t.Errorf("member line %q: the old primary's durable seq unknown after a status poll", l)
		}
	}
}

// TestEtcdShardAsyncNeedsForce: in async mode the primary puts its sync
// set, itself alone, before its first acknowledgement, so when it is
// killed the standby, which may lack what it acknowledged, does not take
// the shard on its own (three lease TTLs pass without it); 'ringex status
// --etcd' shows the set; 'ringex promote --force' on the standby takes the shard, and
// the old primary, restarted, rejoins as its standby.
func TestEtcdShardAsyncNeedsForce(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newShard(t, etcd, func(c *config.Config) { c.Replication.Mode = config.ModeAsync })
	prim, stby := s.startBoth(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	awaitFirstAck(t, c, "A0")
	waitFor(t, s.procs[prim], "SYNC SET changed in etcd", 10*time.Second)
	s.procs[prim].kill()
	time.Sleep(3 * shardLeaseMs * time.Millisecond)
	if s.procs[stby].has("WON the shard") || s.procs[stby].has("PROMOTED") {
		t.Fatal("the standby of an async primary took the shard on its own")
	}
	var out, errb bytes.Buffer
	if rc := adminMain("status", []string{"--etcd", etcd.Endpoint(), "--shard", "s1"}, &out, &errb); rc != 0 || !strings.Contains(out.String(), fmt.Sprintf("syncSet node%d syncToken", prim)) {
		t.Fatalf("ringex status --etcd: exit %d: %s%s; want the sync set {node%d}", rc, out.String(), errb.String(), prim)
	}
	out.Reset()
	if rc := adminMain("promote", []string{"--admin", s.peers[stby].admin, "--force"}, &out, &errb); rc != 0 {
		t.Fatalf("ringex promote --force: exit %d: %s%s", rc, out.String(), errb.String())
	}
	t.Logf("ringex promote --force: %s", strings.TrimSpace(out.String()))
	c2 := mustDialFIX(t, s.peers[stby].fix, "BROKER02")
	awaitFirstAck(t, c2, "B0")
	s.start(t, prim)
	waitSync(t, s.procs[prim])
	c2.close()
	s.finish(t, stby)
}

// TestEtcdShardPrimaryCutFromEtcd: the primary loses etcd (its own link to
// etcd is cut) while it still reaches its standby and its broker, under a
// FIX load. Its guard runs out and it holds its acknowledgements; the
// standby, which still reaches etcd, takes the shard once the old lease
// has expired and acknowledges under a higher token. The old primary
// acknowledges nothing after its guard ran out; a TTL after its lease's
// earliest expiry it logs its broker out (LEASE EXPIRED), and when its
// link heals it rejoins as standby. Every acknowledged order is
// on the new primary.
func TestEtcdShardPrimaryCutFromEtcd(t *testing.T) {
	etcd := etcdtest.Start(t)
	u := strings.TrimPrefix(etcd.Endpoint(), "http://")
	links := [2]*tcplink.Link{tcplink.Start(t, u), tcplink.Start(t, u)}
	s := newShardVia(t, [2]string{"http://" + links[0].Addr(), "http://" + links[1].Addr()})
	prim, stby := s.startBoth(t)
	c := mustDialFIX(t, s.peers[prim].fix, "BROKER01")
	ld := startLoad(c, "P")
	time.Sleep(500 * time.Millisecond)
	cutAt := time.Now()
	links[prim].Cut()
	waitFor(t, s.procs[prim], "ACKNOWLEDGEMENTS HELD", 60*time.Second)
	c2, err := dialFIX(s.peers[stby].fix, "BROKER02", cutAt.Add(60*time.Second))
	if err != nil {
		t.Fatalf("no logon on the standby's address after the cut: %v", err)
	}
	t.Cleanup(c2.close)
	ackAt := awaitFirstAck(t, c2, "PC")
	// The old primary's guard ran out at most one lease after the cut; a
	// broker's TCP stack gets 500 ms more to deliver what went out before.
	time.Sleep(time.Until(cutAt.Add(shardLeaseMs*time.Millisecond + 500*time.Millisecond)))
	before := ld.ackedNow()
	time.Sleep(shardLeaseMs * time.Millisecond)
	if during := ld.ackedNow(); len(during) != len(before) {
		t.Errorf("the primary cut from etcd acknowledged %d orders after its lease ran out, beside the new primary", len(during)-len(before))
	}
	waitFor(t, s.procs[prim], "LEASE EXPIRED", 60*time.Second)
	links[prim].Heal()
	sent := ld.stopSending()
	<-ld.readEnd
	acked := ld.ackedNow()
	if len(acked) != len(before) {
		t.Errorf("the old primary acknowledged %d orders after its lease ran out", len(acked)-len(before))
	}
	oldTokens, newToken := s.checkTokens(t, prim, stby, acked)
	waitSync(t, s.procs[prim])
	last := checkAcked(t, s.peers[prim].data, s.peers[stby].data, acked)
	t.Logf("cut → first ack by the new primary %v; %d sent, %d acknowledged by the old primary (last seq %d, tokens %v), none after its lease; new token %d",
		ackAt.Sub(cutAt).Round(time.Millisecond), sent, len(acked), last, oldTokens, newToken)
	c2.close()
	s.finish(t, stby)
}
