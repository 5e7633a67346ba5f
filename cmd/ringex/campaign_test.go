package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
)

// The delivery campaign (issue 15): a ringex node is killed with SIGKILL
// at random moments, again and again, while four brokers send a mixed flow
// (campaignClient). Two log on with ResetSeqNumFlag=Y after each restart,
// two keep their sequence numbers and ask for gaps. TestCampaignKillSingleNode
// kills one node and restarts it in place; TestCampaignKillPair kills the
// primary of a sync pair (or, one time in three, its standby) and restarts
// it with its original command line. After the last restart the flow
// stops, each broker's last order marks the drain, every broker probes for
// a gap at the end, and the nodes stop cleanly. Then the journal's audit
// trail (ringex replay trail --format json) says which reports each broker
// should have had, and each broker's record says which it had: every
// report of a command up to the drain must have arrived, no report may
// have arrived twice unless the copy says PossDupFlag or PossResend, and no
// report may have arrived that the journal does not imply. FIGURE lines
// (go test -v) give the counts; docs/operations.md has the last ones.
//
// RINGEX_CAMPAIGN_KILLS sets the number of kills of each test (make
// campaign: 100); make test's short run is campaignShortKills.
// RINGEX_CAMPAIGN_RESET sets how many of the four brokers log on with
// ResetSeqNumFlag=Y (default 2, the first ones).

const campaignShortKills = 3

func campaignKills(t *testing.T) int {
	s := os.Getenv("RINGEX_CAMPAIGN_KILLS")
	if s == "" {
		// make test's short run (under a minute); make campaign runs 100.
		return campaignShortKills
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("RINGEX_CAMPAIGN_KILLS=%q: want a positive number of kills", s)
	}
	return n
}

// campaignBrokers are the sessions of the campaign: the first two reset
// (RINGEX_CAMPAIGN_RESET), the others resend. Accounts are positions in
// fix.sessions.
var campaignBrokers = [...]string{"BROKER01", "BROKER02", "BROKER03", "BROKER04"}

// campaignTarget is what the campaign kills: one node, or a pair.
type campaignTarget interface {
	fixAddrs() []string
	kill(t *testing.T, rng *rand.Rand) // SIGKILL a node
	restart(t *testing.T)              // start the killed node again
	stop(t *testing.T) string          // stop cleanly; the journal to check
	kills() []int64                    // the last seq journaled before each kill, where known
	droppedFIX() bool                  // the last kill ended the brokers' connections
	what() string
}

// campaignNode is the one node, restarted in place after every kill.
type campaignNode struct {
	bin, cfg, data, fix string
	p                   *proc
	atKill              []int64
}

func (n *campaignNode) fixAddrs() []string { return []string{n.fix} }
func (n *campaignNode) kills() []int64     { return n.atKill }
func (n *campaignNode) what() string       { return "a single node" }
func (n *campaignNode) droppedFIX() bool   { return true }

func (n *campaignNode) restart(t *testing.T) {
	n.p = startProc(t, n.bin, "serve", "--config", n.cfg, "--data", n.data, "--listen", n.fix)
}

func (n *campaignNode) kill(*testing.T, *rand.Rand) {
	n.p.kill()
	n.atKill = append(n.atKill, forget(n.p)...)
}

func (n *campaignNode) stop(t *testing.T) string {
	n.p.term(t)
	n.atKill = append(n.atKill, forget(n.p)...)
	return filepath.Join(n.data, "journal")
}

// forget keeps only the last lines of a dead process's log, so that a
// failed run does not print a hundred logs whole, and returns the last seq
// of the journal it opened, as its log said: the last seq its predecessor
// journaled before the kill.
func forget(p *proc) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var seq []int64
	for _, l := range p.lines {
		if m := journalOpened.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			seq = append(seq, n)
			break
		}
	}
	if len(p.lines) > 3 {
		p.lines = p.lines[len(p.lines)-3:]
	}
	return seq
}

var journalOpened = regexp.MustCompile(`journal opened.* last_seq=(\d+)`)

func TestCampaignKillSingleNode(t *testing.T) {
	kills := campaignKills(t)
	dir := t.TempDir()
	n := &campaignNode{bin: ringexBin(t), cfg: filepath.Join(dir, "ringex.json"), data: filepath.Join(dir, "node"), fix: fixtest.FreeAddr(t)}
	b, _ := json.Marshal(config.Default())
	if err := os.WriteFile(n.cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	n.restart(t)
	runCampaign(t, kills, n, n.bin, n.cfg)
}

// campaignPair is a primary and its hot standby (sync replication,
// automatic failover, writeConfig), each restarted with its original
// command line after a kill: a killed primary's standby takes over, and
// the old primary rejoins as standby.
type campaignPair struct {
	bin, cfg   string
	peers      [2]*peer
	procs      [2]*proc
	roles      [2]string
	prim       int
	victim     int
	failedOver bool // the last kill was the primary's
	atKill     []int64
}

func (p *campaignPair) fixAddrs() []string { return []string{p.peers[0].fix, p.peers[1].fix} }
func (p *campaignPair) kills() []int64     { return p.atKill }
func (p *campaignPair) what() string       { return "a node of a primary-standby pair" }
func (p *campaignPair) droppedFIX() bool   { return p.failedOver }

// kill kills the primary, or in one round of three the standby.
func (p *campaignPair) kill(t *testing.T, rng *rand.Rand) {
	p.victim = p.prim
	if rng.IntN(3) == 0 {
		p.victim = 1 - p.prim
	}
	if seq := lastSeqOf(p.peers[p.prim].admin); seq > 0 {
		p.atKill = append(p.atKill, seq)
	}
	p.procs[p.victim].kill()
	forget(p.procs[p.victim])
	p.failedOver = p.victim == p.prim
	if p.failedOver {
		if p.procs[1-p.prim].when("PROMOTED", 60*time.Second).IsZero() {
			t.Fatal("the standby did not promote itself within 60 s of the primary's SIGKILL")
		}
		p.prim = 1 - p.prim
	}
}

// restart starts the killed node with its original command line and
// waits until it follows the primary, in its epoch.
func (p *campaignPair) restart(t *testing.T) {
	v := p.victim
	p.procs[v] = p.peers[v].start(t, p.bin, p.cfg, p.roles[v], p.peers[1-v].repl)
	waitSync(t, p.procs[v])
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, pst := statusOf(p.peers[v].admin), statusOf(p.peers[1-v].admin)
		if st != nil && pst != nil && st["role"] == "standby" && pst["role"] == "primary" && st["epoch"] == pst["epoch"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node's status %v, the primary's %v: want it standby in the primary's epoch", st, pst)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops the standby, then the primary (the runbook's order).
func (p *campaignPair) stop(t *testing.T) string {
	p.procs[1-p.prim].term(t)
	p.procs[p.prim].term(t)
	return filepath.Join(p.peers[p.prim].data, "journal")
}

func TestCampaignKillPair(t *testing.T) {
	kills := campaignKills(t)
	bin := ringexBin(t)
	dir := t.TempDir()
	p := &campaignPair{bin: bin, cfg: writeConfig(t, dir), peers: newPeers(t, dir), roles: [2]string{"primary", "standby"}}
	p.procs = [2]*proc{p.peers[0].start(t, bin, p.cfg, "primary", p.peers[1].repl),
		p.peers[1].start(t, bin, p.cfg, "standby", p.peers[0].repl)}
	waitSync(t, p.procs[1])
	runCampaign(t, kills, p, bin, p.cfg)
}

// runCampaign runs the load, kills, drains and checks.
func runCampaign(t *testing.T, kills int, tg campaignTarget, bin, cfgPath string) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d kills of %s", seed, kills, tg.what())
	rng := rand.New(rand.NewPCG(seed, 1))
	resets := 2
	if v, err := strconv.Atoi(os.Getenv("RINGEX_CAMPAIGN_RESET")); err == nil && v >= 0 {
		resets = v // how many of the four log on with 141=Y: 0 tells item 1 from item 2
	}
	var clients []*campaignClient
	for i, name := range campaignBrokers {
		c := newCampaignClient(name, i < resets, tg.fixAddrs(), seed+uint64(i))
		c.start(40 * time.Millisecond) // 25 messages/s each, 100 in all
		clients = append(clients, c)
		defer c.close()
	}
	started := time.Now()
	before := make([]int, len(clients)) // each broker's logons when the last kill dropped it; -1: it did not
	for k := range kills {
		if rng.IntN(8) == 0 {
			// Now and then before the brokers are back (a single node:
			// during its recovery).
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		} else {
			awaitLogons(t, clients, before)
			loadAndBounce(rng, clients)
		}
		atKill := make([]int, len(clients))
		for i, c := range clients {
			atKill[i] = c.logonCount()
		}
		tg.kill(t, rng)
		for i := range clients {
			before[i] = -1
			if tg.droppedFIX() {
				before[i] = atKill[i]
			}
		}
		if k%10 == 9 {
			t.Logf("%d kills in %v", k+1, time.Since(started).Round(time.Second))
		}
		tg.restart(t)
	}
	awaitLogons(t, clients, before)
	time.Sleep(2 * time.Second)
	drainSeq := drainCampaign(t, clients, nil)
	journalDir := tg.stop(t)
	for _, c := range clients {
		c.close()
	}
	t.Logf("FIGURE campaign: %d SIGKILLs of %s in %v (seed %d), %d commands journaled up to the drain",
		kills, tg.what(), time.Since(started).Round(time.Second), seed, drainSeq)
	checkCampaign(t, campaignTrail(t, bin, cfgPath, journalDir), clients, drainSeq, tg.kills())
}

// loadAndBounce lets the load run for 0.1 to 1.5 s; in one round of
// three, a broker logs out of its own at a random moment of it.
func loadAndBounce(rng *rand.Rand, clients []*campaignClient) {
	wait := time.Duration(100+rng.IntN(1400)) * time.Millisecond
	if rng.IntN(3) == 0 {
		bounceAt := time.Duration(rng.Int64N(int64(wait)))
		time.Sleep(bounceAt)
		clients[rng.IntN(len(clients))].bounce()
		wait -= bounceAt
	}
	time.Sleep(wait)
}

// awaitLogons waits until every broker is logged on, and has logged on
// since the last kill dropped its connection: its logon count rose above
// before, its count then (-1: the kill did not drop it).
func awaitLogons(t *testing.T, clients []*campaignClient, before []int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i, c := range clients {
		for !c.loggedOnSince(before[i]) {
			if time.Now().After(deadline) {
				c.mu.Lock()
				defer c.mu.Unlock()
				t.Fatalf("%s: no logon within 60 s of the node's restart (%d logons so far; its logouts: %q)",
					c.name, c.logons, c.logouts)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// drainCampaign stops the flow, sends each broker's marker order and waits
// for its acknowledgement, probes every session for a gap at the end and
// waits until nothing has come for 3 s. It returns the drain: the highest
// marker's seq; every command up to it has been answered by then. A
// broker sends its marker while logged on, and another after each Logon
// until one is acknowledged; none acknowledged within 60 s fails t with
// where the broker stands and, when explain is set, what explain says of
// the nodes.
func drainCampaign(t *testing.T, clients []*campaignClient, explain func() string) int64 {
	t.Helper()
	for _, c := range clients {
		c.stopSending()
	}
	time.Sleep(100 * time.Millisecond) // a send under way finishes
	stuck := func(c *campaignClient, ids []string, what string) {
		broker, nodes := c.describe(ids...), "" // the broker first: explain may stop the nodes
		if explain != nil {
			nodes = explain()
		}
		t.Fatalf("%s: %s\n%s%s", c.name, what, broker, nodes)
	}
	drain := int64(0)
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range clients {
		var ids []string
		sentAt := -1 // the broker's logons when its last marker went
		for ack := int64(0); ack == 0; ack = c.ackOfAny(ids) {
			if time.Now().After(deadline) {
				stuck(c, ids, fmt.Sprintf("no marker order of %q was acknowledged within 60 s", ids))
			}
			// The first marker, or another once the broker was dropped and
			// logged on again before an answer (a failover meanwhile: the
			// node that took it may have stepped down without
			// acknowledging it, which loses nothing anyone was told).
			if c.logonCount() != sentAt {
				if id, logons, sent := c.marker(len(ids) + 1); sent {
					ids, sentAt = append(ids, id), logons
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		drain = max(drain, c.ackOfAny(ids))
	}
	for _, c := range clients {
		c.probe()
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		quiet := true
		for _, c := range clients {
			quiet = quiet && c.quietFor() >= 3*time.Second
		}
		if quiet {
			return drain
		}
	}
	t.Fatal("the brokers still got messages 60 s after the flow stopped")
	return 0
}

// trailRow is one JSON line of ringex replay trail (the fields the checker
// reads).
type trailRow struct {
	Seq       int64  `json:"seq"`
	Row       string `json:"row"`
	What      string `json:"what"`
	Broker    string `json:"broker"`
	ClOrdID   string `json:"clordid"`
	OrderID   string `json:"order_id"`
	ExecID    string `json:"exec_id"`
	MsgType   string `json:"msg_type"`
	ExecType  string `json:"exec_type"`
	OrdStatus string `json:"ord_status"`
	Reason    string `json:"reason"`
}

// campaignTrail runs the binary's ringex replay trail on a journal.
func campaignTrail(t *testing.T, bin, cfgPath, journalDir string) []trailRow {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, "replay", "trail", "--journal", journalDir, "--config", cfgPath, "--format", "json")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ringex replay trail: %v\n%s", err, errb.String())
	}
	var rows []trailRow
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r trailRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("ringex replay trail: line %d: %v: %s", len(rows)+1, err, sc.Text())
		}
		rows = append(rows, r)
	}
	t.Logf("%s", strings.TrimSpace(errb.String()))
	return rows
}

// implied is a report the journal says a broker gets.
type implied struct {
	seq               int64
	kind, clOrdID, id string
}

// impliedReports maps broker → report key → the report, for every
// ExecutionReport (key: ExecID) and OrderCancelReject (key: "9 " and the
// ClOrdID) the trail shows. Its kind names the event and the command that
// caused it ("cancelled (mass_cancel)"); a fill is the aggressor's when its
// ClOrdID is the command's, else passive.
func impliedReports(rows []trailRow) map[string]map[string]implied {
	out := map[string]map[string]implied{}
	var cmd trailRow
	for _, r := range rows {
		if r.Row == "command" {
			cmd = r
			continue
		}
		what, key := r.What, r.ExecID
		switch {
		case r.MsgType == "8" && r.What == "fill" && r.ClOrdID == cmd.ClOrdID:
			what = "aggressor fill"
		case r.MsgType == "8" && r.What == "fill":
			what = "passive fill"
		case r.MsgType == "9":
			key = "9 " + r.ClOrdID
		case r.MsgType != "8":
			continue
		}
		if out[r.Broker] == nil {
			out[r.Broker] = map[string]implied{}
		}
		out[r.Broker][key] = implied{seq: r.Seq, kind: what + " (" + cmd.What + ")", clOrdID: r.ClOrdID, id: key}
	}
	return out
}

// campaignResult is what the checker counted.
type campaignResult struct {
	implied, received, marked, gatewayRejects, massCancelReports int
	unmarkedDup, notImplied                                      []string
	missing                                                      map[string][]string // by class: kind, session, when
	nMissing                                                     int
	atKill                                                       []int64
}

// nearKill says whether seq was among the last commands journaled before
// a kill (the 20 before the last one the next start found).
func (r *campaignResult) nearKill(seq int64) bool {
	for _, k := range r.atKill {
		if seq <= k && seq > k-20 {
			return true
		}
	}
	return false
}

func sessionKind(c *campaignClient) string {
	if c.reset {
		return "141=Y"
	}
	return "resend"
}

// checkCampaign compares each broker's record with the journal.
func checkCampaign(t *testing.T, rows []trailRow, clients []*campaignClient, drainSeq int64, atKill []int64) {
	t.Helper()
	want := impliedReports(rows)
	res := campaignResult{missing: map[string][]string{}, atKill: atKill}
	journalMassCancels := 0
	for _, r := range rows {
		if r.Row == "event" && r.MsgType == "r" && r.Seq <= drainSeq {
			journalMassCancels++
		}
	}
	sent := map[string]int{}
	for _, c := range clients {
		c.mu.Lock()
		checkBroker(c, want[c.name], drainSeq, &res)
		for k, v := range c.sent {
			sent[k] += v
		}
		marked := 0
		for _, r := range c.got {
			if r.possDup || r.possResend {
				marked++
			}
		}
		t.Logf("FIGURE campaign session %s (%s): %d logons (%d after a Logout of its own), %d reports received (%d marked PossDup/PossResend), "+
			"%d ResendRequests, %d GapFills, %d MsgSeqNum too low, %d session rejects, logouts %q", c.name, sessionKind(c), c.logons, c.bounces,
			len(c.got), marked, c.counts.resendAsked, c.counts.gapFilled, c.counts.tooLow, c.counts.rejects, c.logouts)
		c.mu.Unlock()
	}
	t.Logf("FIGURE campaign orders: sent %v", sent)
	t.Logf("FIGURE campaign reports: %d implied by the journal up to the drain, %d copies received, %d marked PossDup/PossResend, "+
		"%d duplicates unmarked, %d missing, %d not implied by the journal; also %d gateway rejects received, "+
		"and mass-cancel events (not checked): %d in the journal, %d reports received",
		res.implied, res.received, res.marked, len(res.unmarkedDup), res.nMissing, len(res.notImplied), res.gatewayRejects,
		journalMassCancels, res.massCancelReports)
	if res.nMissing > 0 {
		var b strings.Builder
		for _, class := range slices.Sorted(maps.Keys(res.missing)) {
			ex := res.missing[class]
			t.Logf("FIGURE campaign missing %4d %s", len(ex), class)
			fmt.Fprintf(&b, "\n  %d %s, e.g.:\n    %s", len(ex), class, strings.Join(ex[:min(len(ex), 3)], "\n    "))
		}
		t.Errorf("%d reports of journaled commands never reached their broker, by kind (command), session and "+
			"whether the command was among the 20 last journaled before a kill (%d kills located):%s", res.nMissing, len(atKill), b.String())
	}
	for _, bad := range []struct {
		what string
		list []string
	}{{"reports received twice without PossDupFlag or PossResend", res.unmarkedDup},
		{"reports received that the journal does not imply", res.notImplied}} {
		if len(bad.list) > 0 {
			t.Errorf("%d %s; the first ones:\n  %s", len(bad.list), bad.what, strings.Join(bad.list[:min(len(bad.list), 25)], "\n  "))
		}
	}
}

// checkBroker checks one broker's record against its implied reports.
func checkBroker(c *campaignClient, want map[string]implied, drainSeq int64, res *campaignResult) {
	copies := map[string]int{}   // by key: every copy
	unmarked := map[string]int{} // by key: copies without 43=Y or 97=Y
	for _, r := range c.got {
		key := r.execID
		switch {
		case r.msgType == "r":
			res.massCancelReports++
			continue
		case r.msgType == "8" && strings.HasPrefix(r.execID, "R"):
			res.gatewayRejects++ // a refusal the ring would not take: unjournaled (gateway.refuse)
			continue
		case r.msgType == "9":
			key = "9 " + r.clOrdID
			if _, ok := want[key]; !ok && r.orderID == "NONE" {
				res.gatewayRejects++
				continue
			}
		}
		res.received++
		copies[key]++
		if r.possDup || r.possResend {
			res.marked++
		} else {
			unmarked[key]++
		}
		if _, ok := want[key]; !ok && copies[key] == 1 {
			res.notImplied = append(res.notImplied, fmt.Sprintf("%s: %s %s ClOrdID %s (MsgSeqNum %d)", c.name, r.msgType, key, r.clOrdID, r.msgSeqNum))
		}
		if unmarked[key] == 2 {
			res.unmarkedDup = append(res.unmarkedDup, fmt.Sprintf("%s: %s ClOrdID %s ExecType %s (MsgSeqNum %d)", c.name, key, r.clOrdID, r.execType, r.msgSeqNum))
		}
	}
	keys := slices.SortedFunc(maps.Keys(want), func(a, b string) int { return cmp.Compare(want[a].seq, want[b].seq) })
	for _, k := range keys {
		w := want[k]
		if w.seq > drainSeq {
			continue
		}
		res.implied++
		if copies[k] > 0 {
			continue
		}
		when := "elsewhere"
		if res.nearKill(w.seq) {
			when = "just before a kill"
		}
		class := fmt.Sprintf("%s, %s session, %s", w.kind, sessionKind(c), when)
		res.missing[class] = append(res.missing[class], fmt.Sprintf("%s seq %d ClOrdID %s ExecID %s", c.name, w.seq, w.clOrdID, k))
		res.nMissing++
	}
}
