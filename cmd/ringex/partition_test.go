package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/replica"
)

// netLab is two network namespaces, one per ringex node, joined to this
// (the test's) namespace by veth pairs on a bridge. etcd and the broker
// live here, at two addresses of the bridge; a partition is a blackhole
// route in a node's namespace, so each node can be cut from etcd, from the
// other node, or both, without touching anything else.
type netLab struct {
	t      *testing.T
	prefix string
	subnet string // "10.213.N"
}

func (l *netLab) ns(i int) string     { return fmt.Sprintf("%sn%d", l.prefix, i) }
func (l *netLab) nodeIP(i int) string { return fmt.Sprintf("%s.%d", l.subnet, 10+i) }
func (l *netLab) etcdIP() string      { return l.subnet + ".2" }
func (l *netLab) run(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (l *netLab) must(args ...string) {
	l.t.Helper()
	if err := l.run(args...); err != nil {
		l.t.Fatal(err)
	}
}

// startNetLab builds the namespaces, or skips the test with the reason.
func startNetLab(t *testing.T) *netLab {
	if os.Geteuid() != 0 {
		t.Skip("the partition test needs root: it creates network namespaces and veth pairs (ip netns)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the partition test needs iproute2's ip")
	}
	pid := os.Getpid() % 100000
	l := &netLab{t: t, prefix: fmt.Sprintf("rxp%d", pid), subnet: fmt.Sprintf("10.213.%d", pid%250)}
	br := l.prefix + "br"
	t.Cleanup(func() {
		for i := range 2 {
			l.run("netns", "del", l.ns(i))
		}
		l.run("link", "del", br)
	})
	if err := l.run("link", "add", br, "type", "bridge"); err != nil {
		t.Skipf("the partition test cannot create its network (root without CAP_NET_ADMIN?): %v", err)
	}
	l.must("addr", "add", l.subnet+".1/24", "dev", br)
	l.must("addr", "add", l.etcdIP()+"/24", "dev", br)
	l.must("link", "set", br, "up")
	for i := range 2 {
		v, p := fmt.Sprintf("%sv%d", l.prefix, i), fmt.Sprintf("%sp%d", l.prefix, i)
		l.must("netns", "add", l.ns(i))
		l.must("link", "add", v, "type", "veth", "peer", "name", p)
		l.must("link", "set", p, "netns", l.ns(i))
		l.must("link", "set", v, "master", br)
		l.must("link", "set", v, "up")
		l.must("netns", "exec", l.ns(i), "ip", "addr", "add", l.nodeIP(i)+"/24", "dev", p)
		l.must("netns", "exec", l.ns(i), "ip", "link", "set", p, "up")
		l.must("netns", "exec", l.ns(i), "ip", "link", "set", "lo", "up")
	}
	return l
}

// cut drops node i's packets to ip (blackhole route in its namespace);
// heal lets them through again.
func (l *netLab) cut(i int, ip string) {
	l.must("netns", "exec", l.ns(i), "ip", "route", "add", "blackhole", ip+"/32")
}
func (l *netLab) heal(i int, ip string) {
	l.must("netns", "exec", l.ns(i), "ip", "route", "del", "blackhole", ip+"/32")
}

// brokerAck is one acknowledgement a broker saw: the seq in OrderID and
// the node whose session sent it.
type brokerAck struct {
	seq  int64
	node int
}

// follower is a broker that follows the primary: it sends orders at about
// 1,000/s on one session, and moves to the other node's address when its
// connection ends or nothing is acknowledged for 3 s. It records every
// acknowledgement it sees.
type follower struct {
	addrs [2]string
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	acks  map[string]brokerAck
	moves int
}

func startFollower(addrs [2]string) *follower {
	f := &follower{addrs: addrs, stop: make(chan struct{}), done: make(chan struct{}), acks: map[string]brokerAck{}}
	go f.run()
	return f
}

func (f *follower) run() {
	defer close(f.done)
	cur := 0
	for conn := 0; ; conn++ {
		select {
		case <-f.stop:
			return
		default:
		}
		c, err := dialFIX(f.addrs[cur], "BROKER01", time.Now().Add(time.Second))
		if err != nil {
			cur = 1 - cur
			continue
		}
		ld := startLoad(c, fmt.Sprintf("Q%d-", conn))
		f.session(c, ld)
		ld.stopSending()
		c.close()
		<-ld.readEnd
		f.mu.Lock()
		for id, seq := range ld.ackedNow() {
			f.acks[id] = brokerAck{seq: seq, node: cur}
		}
		f.moves++
		f.mu.Unlock()
		cur = 1 - cur
	}
}

// session returns when the connection ended, nothing was acknowledged for
// 3 s, or the follower is stopped.
func (f *follower) session(c *fixConn, ld *load) {
	last, at := 0, time.Now()
	for {
		select {
		case <-f.stop:
			return
		case <-c.done:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if n := len(ld.ackedNow()); n > last {
			last, at = n, time.Now()
		} else if time.Since(at) > 3*time.Second {
			return
		}
	}
}

// TestEtcdShardPartitions: a shard of two ringex processes, each in its own
// network namespace, led through etcd; for RINGEX_PARTITION_SECONDS
// (default 60) random partitions cut a node from etcd, the two nodes from
// each other, or a node from both, each for 0.2 to 6 s, under a broker that
// follows the primary. Then everything heals and the history is checked:
// every acknowledged order is in the final primary's journal at the seq
// its acknowledgement named, and under each token (the epoch its seq lies
// in) only one node acknowledged. Needs root; skipped otherwise.
func TestEtcdShardPartitions(t *testing.T) {
	lab := startNetLab(t)
	seconds := 60
	if s := os.Getenv("RINGEX_PARTITION_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
	}
	etcd := etcdtest.StartOn(t, lab.etcdIP())
	t.Setenv(adminTokenEnv, "partition-test")
	s := newShard(t, etcd, func(c *config.Config) { c.Replication.AdminToken = "partition-test" })
	var fixAddrs [2]string
	for i, p := range s.peers {
		p.fix, p.repl, p.admin = lab.nodeIP(i)+":9878", lab.nodeIP(i)+":9879", lab.nodeIP(i)+":9880"
		fixAddrs[i] = p.fix
		s.procs[i] = startProc(t, "ip", "netns", "exec", lab.ns(i), s.bin, "serve", "--config", s.cfgs[i], "--data", p.data,
			"--listen", p.fix, "--repl-listen", p.repl, "--admin", p.admin)
	}
	s.leader(t, 60*time.Second)
	f := startFollower(fixAddrs)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 17))
	t.Logf("seed %d, %d s of partitions", seed, seconds)
	kinds := map[string]int{}
	for end := time.Now().Add(time.Duration(seconds) * time.Second); time.Now().Before(end); {
		i := rng.IntN(2)
		var cuts [][2]any
		switch k := rng.IntN(4); k {
		case 0:
			cuts, kinds["node-etcd"] = [][2]any{{i, lab.etcdIP()}}, kinds["node-etcd"]+1
		case 1:
			cuts, kinds["node-node"] = [][2]any{{0, lab.nodeIP(1)}, {1, lab.nodeIP(0)}}, kinds["node-node"]+1
		case 2:
			cuts, kinds["node-all"] = [][2]any{{i, lab.etcdIP()}, {i, lab.nodeIP(1 - i)}, {1 - i, lab.nodeIP(i)}}, kinds["node-all"]+1
		default:
			cuts, kinds["none"] = nil, kinds["none"]+1
		}
		for _, c := range cuts {
			lab.cut(c[0].(int), c[1].(string))
		}
		time.Sleep(time.Duration(200+rng.IntN(5800)) * time.Millisecond)
		for _, c := range cuts {
			lab.heal(c[0].(int), c[1].(string))
		}
		time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
	}
	close(f.stop)
	<-f.done
	prim := settledPrimary(t, s)
	f.mu.Lock()
	acks, moves := f.acks, f.moves
	f.mu.Unlock()
	checkHistory(t, s.peers[prim].data, lastSeqOf(s.peers[prim].admin), acks)
	t.Logf("partitions %v; %d orders acknowledged over %d broker sessions, all in the final primary's journal, one node per token", kinds, len(acks), moves)
	finalDiff(t, s.peers, s.procs, prim)
}

// settledPrimary waits until one node is primary and the other its standby
// at the same last seq, and returns the primary's index.
func settledPrimary(t *testing.T, s *shardPeers) int {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		st := [2]map[string]string{statusOf(s.peers[0].admin), statusOf(s.peers[1].admin)}
		for i := range 2 {
			if st[i] != nil && st[1-i] != nil && st[i]["role"] == "primary" && st[1-i]["role"] == "standby" && st[i]["lastSeq"] == st[1-i]["lastSeq"] {
				return i
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the shard did not settle (one primary, one standby at its last seq) within 90 s of the last partition")
	return -1
}

// checkHistory: every acknowledged order is in the final primary's journal
// at its seq, and each epoch (token) of the final history had its orders
// acknowledged by one node only.
func checkHistory(t *testing.T, dataDir string, last int64, acks map[string]brokerAck) {
	t.Helper()
	recs := records(t, dataDir, last)
	h, err := replica.LoadHistory(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	byToken := map[uint64]map[int]int{}
	var cmd matcher.Command
	for id, a := range acks {
		if a.seq < 1 || a.seq > int64(len(recs)) {
			t.Errorf("acknowledged order %s (seq %d, node%d) is past the final journal's end %d: LOST", id, a.seq, a.node, len(recs))
			continue
		}
		if err := cmd.Decode(recs[a.seq-1]); err != nil || cmd.ClOrdID.String() != id {
			t.Errorf("acknowledged order %s (seq %d, node%d): the final journal holds %q there: LOST", id, a.seq, a.node, cmd.ClOrdID.String())
			continue
		}
		var tok uint64
		for _, e := range h.Entries() {
			if e.FirstSeq <= a.seq {
				tok = e.Epoch
			}
		}
		if byToken[tok] == nil {
			byToken[tok] = map[int]int{}
		}
		byToken[tok][a.node]++
	}
	for tok, nodes := range byToken {
		if len(nodes) > 1 {
			t.Errorf("token %d: orders acknowledged by two nodes %v", tok, nodes)
		}
	}
	t.Logf("acknowledgements by token (node → count): %v", byToken)
}
