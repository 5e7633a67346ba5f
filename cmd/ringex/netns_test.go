package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The partition harness: hosts in network namespaces, joined pairwise by
// veth links that the test cuts and heals.
//
// A netTopo is a set of hosts (etcd, n0, n1, cli), each a network namespace
// of its own, and point-to-point links between named pairs of them. Link k
// is a veth pair with 10.213.k.1 on its first host and 10.213.k.2 on its
// second; inside host a, the device towards host b is named "to-b". A host
// reaches a peer only over their own link, at the peer's address on it
// (topo.addr(from, to)), so cutting one link parts exactly that pair: a
// primary cut from etcd still reaches its standby and its brokers. A cut
// sets both ends of the link down (neither netem nor a packet filter is
// there to drop silently): frames in flight are lost, connections across
// it stall until their own timeouts, new ones fail at once.
//
// Everything lives in namespaces the test creates: no address, route or
// device is added to the machine's own namespace, and deleting the
// namespaces (t.Cleanup) removes every device with them. Namespace names are
// "rx<pid>x<n>-<host>": unique per process and topology, and a leftover of a
// crashed run (whose pid is gone) is deleted by the next run that finds it.
//
// Needs root and iproute2's ip; tests skip, saying which is missing,
// otherwise. Processes run in a host with 'ip netns exec'; the test process
// itself enters a host's namespace on one locked thread only (inNS), for a
// dial or a listen: a socket stays in the namespace it was made in.

// netLink is a point-to-point link between two hosts.
type netLink struct {
	a, b string // hosts, in the order given
	k    int    // 10.213.k.0/24
}

type netTopo struct {
	t      *testing.T
	prefix string // namespace names are prefix + host
	hosts  []string
	links  []netLink
	mu     sync.Mutex
	cut    map[int]bool
	events []string // every cut and heal, with its time since start
	start  time.Time
}

var topoSeq atomic.Int64

// needNetns skips the test when namespaces cannot be made here.
func needNetns(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("creates network namespaces and runs processes in them")
	}
	if os.Geteuid() != 0 {
		t.Skip("the partition harness creates network namespaces and veth links: it needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the partition harness needs iproute2's ip (apt-get install iproute2): " + err.Error())
	}
}

// ipCmd runs ip with args, bounded at 30 s.
func ipCmd(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

var staleNS = regexp.MustCompile(`^rx(\d+)x(\d+)-`)

// sweepStale deletes the namespaces of runs whose process is gone, and
// those a gone process of this one's pid left under a number this process
// has not used yet.
func sweepStale(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := staleNS.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == strconv.Itoa(os.Getpid()) {
			if n <= topoSeq.Load() {
				continue // this process's own
			}
		} else if _, err := os.Stat("/proc/" + m[1]); err == nil {
			continue // a live run's
		}
		if err := ipCmd("netns", "del", f[0]); err == nil {
			t.Logf("deleted the namespace %s left by a run that is gone", f[0])
		}
	}
}

// newTopo creates the hosts and links, up, and removes them at cleanup.
func newTopo(t *testing.T, hosts []string, pairs [][2]string) *netTopo {
	t.Helper()
	needNetns(t)
	sweepStale(t)
	tp := &netTopo{t: t, prefix: fmt.Sprintf("rx%dx%d-", os.Getpid(), topoSeq.Add(1)), hosts: hosts,
		cut: map[int]bool{}, start: time.Now()}
	t.Cleanup(tp.remove)
	for _, h := range hosts {
		if err := ipCmd("netns", "add", tp.ns(h)); err != nil {
			t.Fatalf("create the namespace of host %s: %v", h, err)
		}
		if err := ipCmd("-n", tp.ns(h), "link", "set", "lo", "up"); err != nil {
			t.Fatal(err)
		}
	}
	for k, p := range pairs {
		l := netLink{a: p[0], b: p[1], k: k + 1}
		if !slices.Contains(hosts, l.a) || !slices.Contains(hosts, l.b) || l.a == l.b {
			t.Fatalf("link %s-%s: both ends must be distinct hosts of %v", l.a, l.b, hosts)
		}
		tp.links = append(tp.links, l)
		if err := ipCmd("link", "add", "to-"+l.b, "netns", tp.ns(l.a), "type", "veth", "peer", "name", "to-"+l.a, "netns", tp.ns(l.b)); err != nil {
			t.Fatalf("create the link %s-%s: %v", l.a, l.b, err)
		}
		for _, end := range [][3]string{{l.a, l.b, "1"}, {l.b, l.a, "2"}} {
			if err := ipCmd("-n", tp.ns(end[0]), "addr", "add", fmt.Sprintf("10.213.%d.%s/24", l.k, end[2]), "dev", "to-"+end[1]); err != nil {
				t.Fatal(err)
			}
		}
		tp.setLink(l, "up")
	}
	t.Logf("network namespaces %s{%s}, links %v", tp.prefix, strings.Join(hosts, ","), pairs)
	return tp
}

// remove deletes the namespaces, and with them every link.
func (tp *netTopo) remove() {
	for _, h := range tp.hosts {
		if _, err := os.Stat("/run/netns/" + tp.ns(h)); err != nil {
			continue
		}
		if err := ipCmd("netns", "del", tp.ns(h)); err != nil {
			tp.t.Errorf("remove the test's namespace: %v", err)
		}
	}
}

func (tp *netTopo) ns(host string) string { return tp.prefix + host }

func (tp *netTopo) link(a, b string) netLink {
	for _, l := range tp.links {
		if (l.a == a && l.b == b) || (l.a == b && l.b == a) {
			return l
		}
	}
	tp.t.Fatalf("no link between %s and %s", a, b)
	return netLink{}
}

// addr is to's address on its link with from (host:port with port).
func (tp *netTopo) addr(from, to string, port int) string {
	l := tp.link(from, to)
	last := 1
	if l.b == to {
		last = 2
	}
	return net.JoinHostPort(fmt.Sprintf("10.213.%d.%d", l.k, last), strconv.Itoa(port))
}

func (tp *netTopo) setLink(l netLink, state string) {
	for _, end := range [][2]string{{l.a, l.b}, {l.b, l.a}} {
		if err := ipCmd("-n", tp.ns(end[0]), "link", "set", "to-"+end[1], state); err != nil {
			tp.t.Fatalf("set the link %s-%s %s: %v", l.a, l.b, state, err)
		}
	}
}

// Cut parts a from b until Heal.
func (tp *netTopo) Cut(a, b string) {
	l := tp.link(a, b)
	tp.setLink(l, "down")
	tp.note(l, true)
}

// healAfter heals a and b after d, on a goroutine of its own, so that the
// caller can go on (a drain, say) while the cut lasts.
func (tp *netTopo) healAfter(a, b string, d time.Duration) {
	l := tp.link(a, b)
	time.AfterFunc(d, func() {
		for _, end := range [][2]string{{l.a, l.b}, {l.b, l.a}} {
			if err := ipCmd("-n", tp.ns(end[0]), "link", "set", "to-"+end[1], "up"); err != nil {
				tp.t.Errorf("set the link %s-%s up: %v", l.a, l.b, err)
			}
		}
		tp.note(l, false)
	})
}

// Heal joins a and b again.
func (tp *netTopo) Heal(a, b string) {
	l := tp.link(a, b)
	tp.setLink(l, "up")
	tp.note(l, false)
}

// HealAll heals every cut link.
func (tp *netTopo) HealAll() {
	for _, l := range tp.links {
		tp.mu.Lock()
		c := tp.cut[l.k]
		tp.mu.Unlock()
		if c {
			tp.Heal(l.a, l.b)
		}
	}
}

func (tp *netTopo) note(l netLink, cut bool) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.cut[l.k] = cut
	what := "heal"
	if cut {
		what = "cut"
	}
	tp.events = append(tp.events, fmt.Sprintf("%v %s %s-%s", time.Since(tp.start).Round(time.Millisecond), what, l.a, l.b))
}

// command is 'ip netns exec' of host's namespace running name with args.
func (tp *netTopo) command(host, name string, args ...string) (string, []string) {
	return "ip", append([]string{"netns", "exec", tp.ns(host), name}, args...)
}

// inNS runs f on a thread of its own inside host's namespace. Sockets f
// makes stay there; f must not hand work to other goroutines before its
// socket exists. Should the thread fail to return to its own namespace, it
// is left locked, and Go ends it with its goroutine.
func (tp *netTopo) inNS(host string, f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("open this thread's namespace: %w", err)
			return
		}
		defer own.Close()
		target, err := os.Open("/run/netns/" + tp.ns(host))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open the namespace of host %s: %w", host, err)
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter the namespace of host %s: %w", host, err)
			return
		}
		f()
		if err := setns(own); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- nil
	}()
	return <-errc
}

func setns(f *os.File) error { return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET) }

// dialer dials from host's namespace; for campaignClient.dial.
func (tp *netTopo) dialer(host string) func(addr string) (net.Conn, error) {
	return func(addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if e := tp.inNS(host, func() { c, err = net.DialTimeout("tcp", addr, time.Second) }); e != nil {
			return nil, e
		}
		return c, err
	}
}

// cutPlan is one cut of the schedule: the pair parted at At, for For.
type cutPlan struct {
	A, B    string
	At, For time.Duration
}

// partitionSchedule draws cuts over total from rng: each parts one of
// pairs for cutMin..cutMax, the next one begins gapMin..gapMax after the
// last heal. The same seed gives the same schedule.
func partitionSchedule(rng *rand.Rand, pairs [][2]string, total, cutMin, cutMax, gapMin, gapMax time.Duration) []cutPlan {
	var plan []cutPlan
	at := gapMin + time.Duration(rng.Int64N(int64(gapMax-gapMin)+1))
	for {
		d := cutMin + time.Duration(rng.Int64N(int64(cutMax-cutMin)+1))
		if at+d > total {
			return plan
		}
		p := pairs[rng.IntN(len(pairs))]
		plan = append(plan, cutPlan{A: p[0], B: p[1], At: at, For: d})
		at += d + gapMin + time.Duration(rng.Int64N(int64(gapMax-gapMin)+1))
	}
}

// The embedded etcd member of the partition tests runs in a process of its
// own (the test binary, started again in the etcd host's namespace with
// RINGEX_TEST_ETCD set): a real etcd member that the test can place in a
// namespace, cut off and kill, without any etcd binary on the machine and
// without a test-only subcommand in the product.
const etcdEnv = "RINGEX_TEST_ETCD" // "name|data dir|client URLs|peer URL"

func init() {
	spec := os.Getenv(etcdEnv)
	if spec == "" {
		return
	}
	os.Exit(runTestEtcd(spec))
}

// runTestEtcd serves one etcd member until SIGTERM or SIGINT; it prints
// "etcd ready" once it serves.
func runTestEtcd(spec string) int {
	f := strings.Split(spec, "|")
	if len(f) != 4 {
		fmt.Fprintf(os.Stderr, "%s=%q: want name|dir|client URLs|peer URL\n", etcdEnv, spec)
		return 2
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = f[0], f[1]
	var clients []url.URL
	for _, s := range strings.Split(f[2], ",") {
		u, err := url.Parse(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "client URL %q: %v\n", s, err)
			return 2
		}
		clients = append(clients, *u)
	}
	peer, err := url.Parse(f[3])
	if err != nil {
		fmt.Fprintf(os.Stderr, "peer URL %q: %v\n", f[3], err)
		return 2
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = clients, clients
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	// 50 ms ticks, 500 ms elections: the smallest lease TTL is then 1 s.
	cfg.TickMs, cfg.ElectionMs = 50, 500
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "start etcd in %s: %v\n", cfg.Dir, err)
		return 1
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		fmt.Fprintf(os.Stderr, "etcd in %s not ready after 60 s\n", cfg.Dir)
		return 1
	}
	fmt.Println("etcd ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case err := <-e.Err():
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		return 1
	}
	e.Close()
	return 0
}

// startEtcdIn starts the test binary's etcd member in host, listening for
// clients on port 2379 of every address host has; it returns the client
// endpoint each of peers reaches it at.
func (tp *netTopo) startEtcdIn(t *testing.T, host string, peers []string) (*proc, map[string]string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	eps := map[string]string{}
	var urls []string
	for _, p := range peers {
		eps[p] = "http://" + tp.addr(p, host, 2379)
		urls = append(urls, eps[p])
	}
	spec := strings.Join([]string{"etcd0", filepath.Join(t.TempDir(), "etcd"), strings.Join(urls, ","), "http://127.0.0.1:2380"}, "|")
	name, args := tp.command(host, "env", etcdEnv+"="+spec, self, "-test.run=^$")
	p := startProc(t, name, args...)
	deadline := time.Now().Add(60 * time.Second)
	for !p.has("etcd ready") {
		if time.Now().After(deadline) {
			t.Fatal("the test's etcd member did not serve within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p, eps
}

// etcdHealthy asks etcd's /health from host at endpoint (an http URL),
// over a connection made in host's namespace.
func (tp *netTopo) etcdHealthy(host, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	c, err := tp.dialer(host)(u.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET /health HTTP/1.0\r\nHost: %s\r\n\r\n", u.Host)
	var b bytes.Buffer
	b.ReadFrom(c)
	if !bytes.Contains(b.Bytes(), []byte(`"health":"true"`)) {
		return fmt.Errorf("GET %s/health from %s: %q", endpoint, host, b.String())
	}
	return nil
}
