package fix

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fullDisk is a store file on a disk that has room for room more bytes:
// a write past it writes what fits and fails with ENOSPC, as write(2) does.
type fullDisk struct {
	*os.File
	room int64
}

func (f *fullDisk) WriteAt(b []byte, off int64) (int, error) {
	if int64(len(b)) <= f.room {
		f.room -= int64(len(b))
		return f.File.WriteAt(b, off)
	}
	n, _ := f.File.WriteAt(b[:f.room], off)
	f.room = 0
	return n, syscall.ENOSPC
}

// lineCounter is a slog handler that keeps the lines it is given.
type lineCounter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
	h   slog.Handler
}

func newLineCounter() lineCounter {
	buf := &bytes.Buffer{}
	return lineCounter{mu: &sync.Mutex{}, buf: buf, h: slog.NewTextHandler(buf, nil)}
}
func (l lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l lineCounter) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.Handle(ctx, r)
}
func (l lineCounter) WithAttrs(a []slog.Attr) slog.Handler {
	return lineCounter{mu: l.mu, buf: l.buf, h: l.h.WithAttrs(a)}
}
func (l lineCounter) WithGroup(g string) slog.Handler {
	return lineCounter{mu: l.mu, buf: l.buf, h: l.h.WithGroup(g)}
}
func (l lineCounter) lines(substr string) (n int, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, substr) {
			n++
			text = line
		}
	}
	return n, text
}

// TestFullDiskStopsTheSession: once the store cannot be written (the disk
// is full), nothing that is not stored reaches the counterparty, the
// connection is closed, OnStoreError hears of it once, a failure that goes
// on is logged at most once a second with a count, and a restart numbers
// on above every MsgSeqNum the counterparty has seen.
func TestFullDiskStopsTheSession(t *testing.T) {
	dir := t.TempDir()
	app := newSendApp()
	logs := newLineCounter()
	var failMu sync.Mutex
	var failures []error
	cfg := Config{StoreDir: dir, Log: slog.New(logs), Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}},
		OnStoreError: func(err error) { failMu.Lock(); failures = append(failures, err); failMu.Unlock() }}
	a := startAcceptor(t, cfg, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	report := func(id string) {
		var body Fields
		body.AddString(37, id)
		body.AddString(17, id)
		if err := s.Send("8", &body); err != nil {
			t.Fatal(err)
		}
	}
	maxSeen := 1 // the Logon reply
	for i := range 3 {
		report("OK" + string(rune('0'+i)))
		maxSeen = c.next().SeqNum()
	}

	s.flushMu.Lock()
	s.st.msgs = &fullDisk{File: s.st.msgs.(*os.File), room: 40} // part of the next message fits
	s.flushMu.Unlock()
	start := time.Now()
	for i := range 300 {
		report("LOST" + string(rune('0'+i%10)))
		if i%3 == 0 {
			time.Sleep(time.Millisecond) // many flushes, each one failing
		}
	}
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			break // closed
		}
		t.Errorf("after the store failed the counterparty got %s", printable(m.Bytes()))
		maxSeen = max(maxSeen, m.SeqNum())
		if maxSeen > 400 {
			break
		}
	}
	a.Stop()
	elapsed := time.Since(start)

	failMu.Lock()
	if len(failures) != 1 || !strings.Contains(failures[0].Error(), "no space left") || !strings.Contains(failures[0].Error(), ".msgs at offset") {
		t.Errorf("OnStoreError calls: %v, want one naming the file, offset and ENOSPC", failures)
	}
	failMu.Unlock()
	if n, last := logs.lines("store write failed"); n == 0 || n > 1+int(elapsed/time.Second) || !strings.Contains(last, "failures=") {
		t.Errorf("%d log lines about the failure in %v (want 1 to %d, with a count); last: %s", n, elapsed, 1+int(elapsed/time.Second), last)
	}

	b := startAcceptor(t, cfg, newSendApp())
	if out, _ := b.Session("FIX.4.4", "TW").NextSeqNums(); out <= maxSeen {
		t.Fatalf("after restart the next outbound MsgSeqNum is %d; the counterparty has seen %d", out, maxSeen)
	}
}

// TestStoreFailureLogIsRateLimited: failures that go on are one log line
// a second, each saying how many failures it stands for.
func TestStoreFailureLogIsRateLimited(t *testing.T) {
	logs := newLineCounter()
	a := &Acceptor{log: slog.New(logs)}
	s := &Session{a: a, id: "FIX.4.4:ISLD->TW"}
	for range 1000 {
		a.storeFailed(s, syscall.ENOSPC)
	}
	if n, last := logs.lines("store write failed"); n != 1 || !strings.Contains(last, "failures=1 ") {
		t.Fatalf("%d lines for 1000 failures within a second; last %s", n, last)
	}
	a.storeFails.loggedAt = a.storeFails.loggedAt.Add(-storeFailLogEvery) // a second later
	a.storeFailed(s, syscall.ENOSPC)
	if n, last := logs.lines("store write failed"); n != 2 || !strings.Contains(last, "failures=1000 ") || !strings.Contains(last, "failures_total=1001") {
		t.Fatalf("%d lines; last %s", n, last)
	}
}

// gatedDisk is a store file whose writes wait until the test opens gate: a
// writer that has not yet reached the disk.
type gatedDisk struct {
	*os.File
	gate chan struct{}
}

func (f *gatedDisk) WriteAt(b []byte, off int64) (int, error) {
	<-f.gate
	return f.File.WriteAt(b, off)
}

// storedSession starts an acceptor whose store is in dir, with one
// session TW, and logs TW on. It returns the acceptor's config, its
// application, the acceptor, the broker's client and the session.
func storedSession(t *testing.T, dir string) (Config, *sendApp, *testAcceptor, *client, *Session) {
	t.Helper()
	cfg := Config{StoreDir: dir, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	app := newSendApp()
	a := startAcceptor(t, cfg, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	return cfg, app, a, c, s
}

// carryAfterReset sets up a session with two reports stored while the
// broker was away, puts wrap(file) in place of its .msgs and of the file
// a reset writes the carried reports to (store.reset), and logs on again
// with ResetSeqNumFlag=Y; it returns the new client.
func carryAfterReset(t *testing.T, dir string, wrap func(*os.File) storeFile) *client {
	_, app, a, c, s := storedSession(t, dir)
	c.nc.Close()
	<-app.logouts
	var body Fields
	for _, id := range []string{"AWAY1", "AWAY2"} {
		body.Reset()
		body.AddString(37, id)
		body.AddString(17, "E-"+id)
		s.Send("8", &body)
	}
	s.flush() // both are in .msgs
	s.flushMu.Lock()
	s.st.msgs = wrap(s.st.msgs.(*os.File))
	s.st.wrapNew = wrap
	s.flushMu.Unlock()
	c = dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.send("A", "98=0|108=30|141=Y|")
	return c
}

// TestResetCarryOverStoredBeforeSent: the reports a reset Logon carries
// over (requeueLocked) reach the broker only once the store holds them in
// place of the originals: the store's rule is "store first, then the
// socket". Were it the other way round, a process killed after the write
// to the socket would restart with neither the originals nor their
// carried copies in the store, and .mark (left by the reset) would still
// claim them, so the restart would not rebuild them: reports lost. Here
// the store's write waits for the test, so nothing may reach the broker.
func TestResetCarryOverStoredBeforeSent(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	c := carryAfterReset(t, dir, func(f *os.File) storeFile { return &gatedDisk{File: f, gate: gate} })
	defer close(gate) // before the acceptor stops (cleanups run after)
	for range 3 {
		m, err := c.read(3 * time.Second)
		if err != nil {
			return // nothing reached the broker before the store had it
		}
		if string(m.MsgType()) != "8" {
			continue
		}
		onDisk, _ := os.ReadFile(dir + "/" + storeName("FIX.4.4", "ISLD", "TW") + ".msgs")
		if !strings.Contains(string(onDisk), "37="+fieldOf(m, 37)) {
			t.Fatalf("broker read carried report %s while .msgs (%d bytes on disk) holds no copy of it: a kill now loses it",
				printable(m.Bytes()), len(onDisk))
		}
	}
}

// TestResetCarryOverNotSentPastFailedStore: with a store that fails on
// the write of the reset (a full disk), the broker gets neither the Logon
// reply nor the carried reports, none of them stored ("nothing unstored
// reaches the counterparty", store.go), and the store keeps the original
// reports for the restart.
func TestResetCarryOverNotSentPastFailedStore(t *testing.T) {
	dir := t.TempDir()
	c := carryAfterReset(t, dir, func(f *os.File) storeFile { return &fullDisk{File: f, room: 0} })
	var got []string
	for range 5 {
		m, err := c.read(5 * time.Second)
		if err != nil {
			break
		}
		got = append(got, printable(m.Bytes()))
	}
	if len(got) > 0 {
		t.Fatalf("the store could not be written, yet the broker got %d unstored messages:\n%s", len(got), strings.Join(got, "\n"))
	}
	onDisk, _ := os.ReadFile(dir + "/" + storeName("FIX.4.4", "ISLD", "TW") + ".msgs")
	for _, id := range []string{"AWAY1", "AWAY2"} {
		if !strings.Contains(string(onDisk), "37="+id) {
			t.Errorf("the failed reset left .msgs without report %s (%d bytes): a restart cannot resend it", id, len(onDisk))
		}
	}
}
