package fix

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

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

// carryAfterReset sets up a session with two reports stored while the
// broker was away, puts wrap(file) in place of its .msgs and of the file
// a reset writes the carried reports to (store.reset), and logs on again
// with ResetSeqNumFlag=Y; it returns the new client.
func carryAfterReset(t *testing.T, dir string, wrap func(*os.File) storeFile) *client {
	cfg := Config{StoreDir: dir, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	app := newSendApp()
	a := startAcceptor(t, cfg, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
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

// TestReview2ResetCarryOverSentBeforeStored: the reports a reset Logon
// carries over (requeueLocked) reach the broker's socket before the store
// holds them: answerLogon's writePieceLocked writes the socket queue with
// the store queue unwritten, while resetLocked has already truncated and
// fsynced .msgs. A process killed at that moment restarts with neither the
// original reports nor their carried copies in the store, and .mark (left
// by the reset) still claims them, so the restart does not rebuild them:
// reports lost. The store's rule is "store first, then the socket".
func TestReview2ResetCarryOverSentBeforeStored(t *testing.T) {
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

// TestReview2ResetCarryOverIgnoresFailedStore: with a store that fails on
// the carried reports' write (a full disk right after the reset's
// truncate), the broker still gets the Logon reply and the carried
// reports, none of them stored: "nothing unstored reaches the
// counterparty" (store.go) does not hold on this path.
func TestReview2ResetCarryOverIgnoresFailedStore(t *testing.T) {
	c := carryAfterReset(t, t.TempDir(), func(f *os.File) storeFile { return &fullDisk{File: f, room: 0} })
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
}

// TestReview2StrangerLocksOutBroker: logon back-off by CompID is enforced
// before the password is looked at and whatever the address, so anyone
// who can reach the port and knows a broker's CompID (it is in every
// message; not a secret) locks that broker out from another address with
// logonFailuresFree+1 wrong passwords, and again each time the back-off
// ends (doubling up to logonBackoffMax). Bad input from a stranger changes
// what the broker can do.
func TestReview2StrangerLocksOutBroker(t *testing.T) {
	a := startAcceptor(t, Config{Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW", Password: "s3cret"}}}, newEchoApp())
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	for i := range logonFailuresFree + 1 {
		nc, err := d.Dial("tcp", a.addr)
		if err != nil {
			t.Skipf("cannot dial from 127.0.0.2: %v", err)
		}
		t.Cleanup(func() { nc.Close() })
		c := &client{tb: t, nc: nc, begin: "FIX.4.4", sender: "TW", target: "ISLD", seq: 1, buf: make([]byte, 1<<16)}
		c.send("A", "98=0|108=30|554=guess"+string(rune('0'+i))+"|")
		c.expectLogoutThenClose("Password")
	}
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil) // the broker, from 127.0.0.1
	c.send("A", "98=0|108=30|554=s3cret|")
	if m := c.next(); string(m.MsgType()) != "A" {
		t.Fatalf("the broker, from its own address with the right password, is refused after a stranger's failures: %s", printable(m.Bytes()))
	}
}
