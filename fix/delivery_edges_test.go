package fix

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestFenceEndsAWriteBlockedOnABrokerThatDoesNotRead: the guard was
// extended far ahead (keep-alives answered), and the writer is in one
// socket write to a broker that does not read when the leadership ends
// (the guard is fenced: MayDeliver says no from now on, as node's
// mayDeliver does with the zero Time, and the acceptor is told, as node
// does on the fence). Nothing goes out once the term has ended: the
// broker, reading again after the fence, gets no more than the socket
// buffers (shrunk to a few KiB) held then, and none of the reports counts
// as delivered.
func TestFenceEndsAWriteBlockedOnABrokerThatDoesNotRead(t *testing.T) {
	allow, _, c, s, a := heldSession(t)
	const reports = 2000 // about 520 KB, 60 times the shrunk socket buffers
	blockedWrite(t, allow, s, c.nc, reports)
	allow.Store(false) // fenced: the term has ended
	a.CutWrites()      // as node does when its guard is fenced
	time.Sleep(300 * time.Millisecond)
	n := 0
	for {
		m, err := c.read(time.Second)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("broker reading after the fence: %v", err)
			}
			break
		}
		if string(m.MsgType()) == "8" {
			n++
		}
	}
	t.Logf("reports read after the fence: %d of %d", n, reports)
	if n > reports/2 {
		t.Fatalf("the broker got %d of %d reports after the guard was fenced: the blocked write went on "+
			"under the deadline it started with", n, reports)
	}
	if d := s.Delivered(); d != 0 {
		t.Fatalf("Delivered() = %d after the fence cut the write; want 0", d)
	}
}

// blockedWrite queues reports marked 1..n (about 260 bytes each) for one
// socket write to a broker that does not read, through socket buffers
// shrunk to a few KiB, under a guard extended an hour ahead, and returns
// once the writer is blocked in that write. raw is the broker's TCP
// connection (under TLS, if any).
func blockedWrite(t *testing.T, allow *gate, s *Session, raw net.Conn, n int) {
	t.Helper()
	queueOneWrite(t, s, raw, n)
	allow.openFor(time.Hour) // extended by keep-alives
	s.flushMu.Unlock()
	waitFor(t, "the writer blocked in its socket write", func() bool {
		if !s.flushMu.TryLock() {
			return true
		}
		s.flushMu.Unlock()
		return false
	})
	time.Sleep(200 * time.Millisecond)
}

// TestCutWritesPutsTheRestBackInOrder: over TCP a write that CutWrites
// ended keeps its connection, and what it did not write waits at the head
// of the queue: when MayDeliver lets writes through again, the broker gets
// every report once and in MsgSeqNum order (the one the cut split
// finished first), and all of them count as delivered.
func TestCutWritesPutsTheRestBackInOrder(t *testing.T) {
	allow, _, c, s, a := heldSession(t)
	const reports = 2000
	blockedWrite(t, allow, s, c.nc, reports)
	allow.Store(false)
	a.CutWrites()
	waitFor(t, "the cut write held", func() bool { return s.Queued() > 0 })
	allow.Store(true)
	for next := 1; next <= reports; {
		m := c.next()
		if string(m.MsgType()) != "8" {
			continue
		}
		if got := fieldOf(m, 37); got != "O"+strconv.Itoa(next) || m.SeqNum() != next+1 {
			t.Fatalf("report %d: got %s with MsgSeqNum %d: lost or reordered", next, got, m.SeqNum())
		}
		next++
	}
	waitDelivered(t, c, s, "every report delivered", reports)
}

// TestCutWritesOverTLSCloses: over TLS a write that CutWrites ended cannot
// go on (a timed-out tls.Conn writes no more): the connection closes, none
// of its reports counts as delivered, and a reset Logon on the next
// connection carries every one of them over, PossResend=Y.
func TestCutWritesOverTLSCloses(t *testing.T) {
	allow, app, c, s, a, clientTLS := heldTLSSession(t)
	const n = 1000
	blockedWrite(t, allow, s, c.nc.(*tls.Conn).NetConn(), n)
	allow.Store(false)
	a.CutWrites()
	<-app.logouts // the cut connection closed
	if d := s.Delivered(); d != 0 {
		t.Fatalf("Delivered() = %d after the write cut; want 0", d)
	}
	allow.Store(true)
	expectCarriedOver(t, a, clientTLS, n)
}

// restartWithAcked runs a session whose broker reads reports marked 1..5
// (delivered, and written to the store's .mark), stops it, lets edit
// rewrite its .acked file, and opens the acceptor again on the same
// store: the session as reopened.
func restartWithAcked(t *testing.T, edit func(path string, rec []byte) []byte) *Session {
	t.Helper()
	dir := t.TempDir()
	cfg, app, a, c, s := storedSession(t, dir)
	for mark := int64(1); mark <= 5; mark++ {
		var body Fields
		body.AddString(37, "O"+strconv.FormatInt(mark, 10))
		if err := s.SendMarked("8", nil, &body, mark); err != nil {
			t.Fatal(err)
		}
		c.next()
	}
	waitDelivered(t, c, s, "mark 5 delivered", 5)
	c.nc.Close()
	<-app.logouts
	a.Stop()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.acked"))
	if len(paths) != 1 {
		t.Fatalf(".acked files: %v", paths)
	}
	rec, err := os.ReadFile(paths[0])
	if err != nil || len(rec) != ackedRecordSize {
		t.Fatalf("read %s: %d bytes, %v", paths[0], len(rec), err)
	}
	if err := os.WriteFile(paths[0], edit(paths[0], rec), 0o644); err != nil {
		t.Fatal(err)
	}
	a = startAcceptor(t, cfg, newSendApp())
	return a.Session("FIX.4.4", "TW")
}

// TestAckedMarkBeyondTheStoresMarkIsNoDelivery: a .acked record whose
// delivered mark is beyond every mark the store holds (its .mark: 5), with
// a valid checksum (disk damage, a file from elsewhere), is not read as
// the broker having every report up to it: a session reopened on it
// reports at most the store's mark delivered (a safe reading, which costs
// PossResend copies) or its open fails naming the file. An over-count
// would tell a standby that reports the broker never had were delivered,
// and every later report below it too.
func TestAckedMarkBeyondTheStoresMarkIsNoDelivery(t *testing.T) {
	s := restartWithAcked(t, func(_ string, rec []byte) []byte {
		binary.LittleEndian.PutUint64(rec[12:20], 1_000_000)
		binary.LittleEndian.PutUint32(rec[20:], crc32.Checksum(rec[:20], crc32c))
		return rec
	})
	stored, _ := s.StoredMark()
	if d := s.Delivered(); d > stored {
		t.Fatalf("after a restart on a .acked with mark 1000000: Delivered() = %d, beyond the store's mark %d", d, stored)
	}
}

// TestTornOrOldAckedRecordIsASafeReading: a .acked record torn by a crash
// in the middle of its write (its checksum fails), and one of the old
// 16-byte format (no mark), open without error and count no mark beyond
// what the broker had (5).
func TestTornOrOldAckedRecordIsASafeReading(t *testing.T) {
	torn := restartWithAcked(t, func(_ string, rec []byte) []byte {
		binary.LittleEndian.PutUint64(rec[12:20], 9) // a newer mark half written
		return rec
	})
	if d := torn.Delivered(); d > 5 {
		t.Fatalf("torn .acked: Delivered() = %d, want at most 5", d)
	}
	old := restartWithAcked(t, func(_ string, rec []byte) []byte {
		out := append([]byte(nil), rec[:12]...)
		return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, crc32c))
	})
	if d := old.Delivered(); d > 5 {
		t.Fatalf("16-byte .acked: Delivered() = %d, want at most 5", d)
	}
}

// TestNoReportCompletedAfterTheGuardRanOutAtStop: the guard's deadline
// cut a write short in the middle of a report and the guard still says
// no when the acceptor stops (node's stopFIX at the end of a term). Only
// our Logout may go out then: no report, whole or its end, reaches the
// broker after the guard ran out. The broker, having read everything the
// cut write got through, completes no further report before the
// connection ends.
func TestNoReportCompletedAfterTheGuardRanOutAtStop(t *testing.T) {
	allow, _, c, s, a := heldSession(t)
	cutWrite(t, allow, s, c.nc, 1000)
	s.mu.Lock()
	torn := s.pendTorn
	s.mu.Unlock()
	if torn == 0 {
		t.Skip("the cut landed between two messages; nothing torn to check")
	}
	before := 0
	for {
		m, err := c.read(time.Second)
		if err != nil {
			break
		}
		if string(m.MsgType()) == "8" {
			before++
		}
	}
	stopped := make(chan struct{})
	go func() { a.Stop(); close(stopped) }()
	var after []string
	for {
		m, err := c.read(10 * time.Second)
		if err != nil {
			break
		}
		if string(m.MsgType()) == "8" {
			after = append(after, fieldOf(m, 37))
		}
	}
	<-stopped
	t.Logf("reports read before the stop: %d; completed after it: %v", before, after)
	if len(after) > 0 {
		t.Fatalf("reports completed after the guard ran out, at Stop: %v", after)
	}
}

// TestCutWriteThenResendRequest: a ResendRequest that arrives while a
// write cut short is held (the guard ran out) is answered after the held
// rest, once the guard is valid again: the broker's stream never breaks,
// it gets the first copy of every report in MsgSeqNum order, then every
// one again PossDupFlag=Y in order, and every mark counts as delivered.
func TestCutWriteThenResendRequest(t *testing.T) {
	allow, _, c, s, _ := heldSession(t)
	const n = 1000
	cutWrite(t, allow, s, c.nc, n)
	c.send("2", "7=2|16=0|")
	time.Sleep(200 * time.Millisecond) // answered, and held
	allow.Store(true)
	first, again := 2, 2
	for again <= n+1 {
		m := c.next()
		if string(m.MsgType()) != "8" {
			continue
		}
		switch {
		case fieldOf(m, 43) != "Y" && m.SeqNum() == first && again == 2:
			first++
		case fieldOf(m, 43) == "Y" && m.SeqNum() == again && first == n+2:
			again++
		default:
			t.Fatalf("after %d first copies and %d resent: %s", first-2, again-2, printable(m.Bytes()))
		}
	}
	waitDelivered(t, c, s, "every mark delivered", n)
}

// TestManySessionsHeldThenReleased: reports queued to several sessions
// while MayDeliver says no, interleaved between them, reach each broker
// once the guard is valid again, every one once and in its session's
// order, and every mark counts as delivered.
func TestManySessionsHeldThenReleased(t *testing.T) {
	const sessions, reports = 4, 200
	allow := new(gate)
	allow.Store(true)
	app := newSendApp()
	var cfgs []SessionConfig
	for i := range sessions {
		cfgs = append(cfgs, SessionConfig{BeginString: "FIX.4.4", TargetCompID: "TW" + strconv.Itoa(i)})
	}
	a := startAcceptor(t, Config{MayDeliver: allow.deadline, Sessions: cfgs}, app)
	var cs []*client
	var ss []*Session
	for i := range sessions {
		c := dialClient(t, a.addr, "FIX.4.4", "TW"+strconv.Itoa(i), nil)
		c.logon("")
		cs, ss = append(cs, c), append(ss, <-app.logons)
	}
	allow.Store(false)
	for r := 1; r <= reports; r++ {
		for _, s := range ss {
			var body Fields
			body.AddString(37, "O"+strconv.Itoa(r))
			if err := s.SendMarked("8", nil, &body, int64(r)); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
	for i, s := range ss {
		if d := s.Delivered(); d != 0 {
			t.Fatalf("session %d: Delivered() = %d while held", i, d)
		}
	}
	allow.Store(true)
	for i, c := range cs {
		for r := 1; r <= reports; {
			m := c.next()
			if string(m.MsgType()) != "8" {
				continue
			}
			if fieldOf(m, 37) != "O"+strconv.Itoa(r) || m.SeqNum() != r+1 {
				t.Fatalf("session %d, report %d: %s", i, r, printable(m.Bytes()))
			}
			r++
		}
	}
	for i, s := range ss {
		waitDelivered(t, cs[i], s, "session "+strconv.Itoa(i)+": every mark delivered", reports)
	}
}

// TestReconnectWhileACutWriteIsHeld: the broker drops the connection
// whose write the guard cut short in the middle of a report, and logs on
// again with ResetSeqNumFlag=Y once the guard is valid: the new
// connection starts with the Logon reply (no end of the old connection's
// cut report lands in it), then every report carried over, PossResend=Y,
// in order; a report sent after them makes every mark delivered.
func TestReconnectWhileACutWriteIsHeld(t *testing.T) {
	allow, app, c, s, a := heldSession(t)
	const n = 1000
	cutWrite(t, allow, s, c.nc, n)
	c.nc.Close()
	<-app.logouts
	allow.Store(true)
	c2 := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c2.logon("141=Y|")
	for i := 1; i <= n; i++ {
		m := c2.next()
		if string(m.MsgType()) != "8" || fieldOf(m, 37) != "O"+strconv.Itoa(i) || fieldOf(m, 97) != "Y" || m.SeqNum() != i+1 {
			t.Fatalf("carried report %d: %s", i, printable(m.Bytes()))
		}
	}
	var body Fields
	body.AddString(37, "O1001")
	if err := s.SendMarked("8", nil, &body, n+1); err != nil {
		t.Fatal(err)
	}
	if m := c2.next(); fieldOf(m, 37) != "O1001" || m.SeqNum() != n+2 {
		t.Fatalf("after the carried reports: %s", printable(m.Bytes()))
	}
	waitDelivered(t, c2, s, "every mark delivered", n+1)
}
