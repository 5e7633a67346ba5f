package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

// proc is one ringex process whose log lines the test watches.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	at    map[string]time.Time
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), at: map[string]time.Time{}}
	pr, pw := io.Pipe()
	p.cmd.Stderr, p.cmd.Stdout = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		// A reader that stopped would block the process on its next log
		// line, silently: whatever stops the scan, the rest is drained.
		defer io.Copy(io.Discard, pr)
		defer func() {
			if err := sc.Err(); err != nil {
				p.mu.Lock()
				p.lines = append(p.lines, fmt.Sprintf("(test: this log is cut here, the rest of the output discarded: %v)", err))
				p.mu.Unlock()
			}
		}()
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			for _, key := range []string{"PROMOTED", "in sync with the primary", "FAILOVER", "REJOINING AS STANDBY", "STEPPING DOWN", "after discarding seqs"} {
				if strings.Contains(sc.Text(), key) && p.at[key].IsZero() {
					p.at[key] = time.Now()
				}
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		pw.Close()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("log of %v:\n%s", args, strings.Join(p.lines, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

// TestProcLogNeverBlocksTheProcess: a line too long for the log reader
// cuts the log with a note, and the process still runs to its end instead
// of blocking on its output.
func TestProcLogNeverBlocksTheProcess(t *testing.T) {
	p := startProc(t, "sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' a; echo; echo done >&2")
	waited := make(chan error, 1)
	go func() { waited <- p.cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("the process failed: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not end within 30 s: it blocked on its output")
	}
	if !p.has("this log is cut here") {
		t.Errorf("no note that the log was cut; lines: %d", len(p.lines))
	}
}

// has reports whether the process has logged a line containing sub.
// has says whether one line of p's output holds every one of words (a
// message and the attributes that must be on its line).
func (p *proc) has(words ...string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
next:
	for _, l := range p.lines {
		for _, w := range words {
			if !strings.Contains(l, w) {
				continue next
			}
		}
		return true
	}
	return false
}

func (p *proc) when(key string, within time.Duration) time.Time {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		at := p.at[key]
		p.mu.Unlock()
		if !at.IsZero() {
			return at
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Time{}
}

// TestKillPrimaryStandbyTakesOver: two ringex processes on loopback, sync
// replication with automatic failover; orders are acknowledged by the
// primary, which is then killed with SIGKILL; the standby promotes itself,
// and every acknowledged order is on it (a cancel of each succeeds).
func TestKillPrimaryStandbyTakesOver(t *testing.T) {
	bin := ringexBin(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Replication = config.Replication{Mode: config.ModeSync, OnStandbyLost: config.LostWait, SyncTimeoutMs: 2000, HeartbeatMs: 100, FailoverMs: 500}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "ringex.json")
	os.WriteFile(cfgPath, b, 0o644)
	fixA, fixB := fixtest.FreeAddr(t), fixtest.FreeAddr(t)
	replA, replB := fixtest.FreeAddr(t), fixtest.FreeAddr(t)
	admA, admB := fixtest.FreeAddr(t), fixtest.FreeAddr(t)
	prim := startProc(t, bin, "serve", "--config", cfgPath, "--data", filepath.Join(dir, "a"), "--listen", fixA,
		"--role", "primary", "--repl-listen", replA, "--primary", replB, "--admin", admA)
	stby := startProc(t, bin, "serve", "--config", cfgPath, "--data", filepath.Join(dir, "b"), "--listen", fixB,
		"--role", "standby", "--repl-listen", replB, "--primary", replA, "--admin", admB)
	c := fixtest.Dial(t, fixA, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	acked := []string{}
	for i := range 200 {
		id := fmt.Sprintf("O%d", i)
		c.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
			tag.OrdType, "2", tag.Price, fmt.Sprintf("%d", 200+i), tag.TimeInForce, "1")
		m := c.Next(20 * time.Second)
		if f := fixtest.Fields(m); f[tag.ExecType] == "0" && f[tag.ClOrdID] == id {
			acked = append(acked, id)
		} else {
			t.Fatalf("order %s: %v", id, f)
		}
	}
	// More orders in flight when the primary dies: each may or may not be
	// on the new primary, but every one that is must be reported to the
	// broker, by the old primary before it died or by the new one after.
	for i := range 50 {
		c.Send("D", tag.ClOrdID, fmt.Sprintf("F%d", i), tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "10",
			tag.OrdType, "2", tag.Price, "500", tag.TimeInForce, "1")
	}
	time.Sleep(10 * time.Millisecond) // some on the wire, some journaled, some reported
	killAt := time.Now()
	prim.cmd.Process.Signal(syscall.SIGKILL)
	reported := map[string]bool{}      // ClOrdIDs of the F orders with a New report
	time.Sleep(100 * time.Millisecond) // what was on the wire reaches the client library
	for _, m := range c.Drain() {
		if f := fixtest.Fields(m); f[tag.ExecType] == "0" {
			reported[f[tag.ClOrdID]] = true
		}
	}
	c.Close()
	promoted := stby.when("PROMOTED", 30*time.Second)
	if promoted.IsZero() {
		t.Fatal("the standby did not promote itself")
	}
	t.Logf("FIGURE failover: SIGKILL to promoted %v (failoverMs 500, heartbeatMs 100)", promoted.Sub(killAt).Round(time.Millisecond))
	c2 := fixtest.Dial(t, fixB, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer c2.Close()
	// Reports the old primary may not have sent (the in-flight orders')
	// arrive first, marked PossResend=Y; the cancels' answers follow.
	resent := 0
	next := func() map[quickfix.Tag]string {
		for {
			m := c2.Next(20 * time.Second)
			f := fixtest.Fields(m)
			if pr, _ := m.Header.GetString(tag.PossResend); pr != "Y" {
				return f
			}
			if f[tag.ExecType] == "0" {
				reported[f[tag.ClOrdID]] = true
			}
			resent++
		}
	}
	for i, id := range acked {
		c2.Send("F", tag.OrigClOrdID, id, tag.ClOrdID, fmt.Sprintf("X%d", i), tag.Symbol, "AAPL", tag.Side, "2")
		f := next()
		if f[tag.MsgType] != "8" || f[tag.ExecType] != "4" {
			t.Fatalf("acknowledged order %s is not on the new primary: cancel answered %v", id, f)
		}
	}
	t.Logf("all %d acknowledged orders were on the new primary; %d reports resent with PossResend=Y", len(acked), resent)

	// Every in-flight order the new primary has was reported to the broker.
	var cmd matcher.Command
	onNew := 0
	for i, rec := range records(t, filepath.Join(dir, "b"), lastSeqOf(admB)) {
		if err := cmd.Decode(rec); err != nil {
			t.Fatalf("new primary's record %d: %v", i+1, err)
		}
		if id := cmd.ClOrdID.String(); cmd.Kind == matcher.KindNew && strings.HasPrefix(id, "F") {
			onNew++
			if !reported[id] {
				t.Errorf("in-flight order %s is on the new primary (seq %d), but its broker got no report of it, before the kill or resent after", id, i+1)
			}
		}
	}
	t.Logf("%d of the 50 in-flight orders are on the new primary; the broker has a New report for each", onNew)
}
