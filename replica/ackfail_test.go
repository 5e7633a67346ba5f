package replica

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestRecordsJournaledBeforeAFailedAckAreApplied: a records frame the
// standby has journaled is applied even when its ack cannot be sent (the
// primary reset the connection while the standby fsynced): the next
// session resumes after the journal's last seq, so Apply sees every
// record once, with no gap.
func TestRecordsJournaledBeforeAFailedAckAreApplied(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hist := []Epoch{{Epoch: 1, FirstSeq: 1, Term: 7}}
	serveOnce := func(first int64, n int, reset bool) {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		fr := newFrameReader(c)
		f, err := fr.next()
		if err != nil || f.typ != typeHello {
			t.Errorf("hello: %v %d", err, f.typ)
			return
		}
		br := bodyReader{b: f.body}
		last := int64(br.u64())
		var fw frameWriter
		fw.begin(typeWelcome, 1)
		fw.u64(uint64(last))
		fw.history(hist)
		c.Write(fw.finish())
		fw.begin(typeRecords, 1)
		fw.u64(uint64(first))
		fw.u32(uint32(n))
		fw.u64(uint64(first + int64(n) - 1))
		for s := first; s < first+int64(n); s++ {
			fw.bytes(rec(s))
		}
		c.Write(fw.finish())
		if reset {
			// unread data (nothing read after hello) + linger 0: RST
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			return
		}
		time.Sleep(200 * time.Millisecond)
		c.Close()
	}
	dir := t.TempDir()
	go func() {
		serveOnce(1, 3, true)
		serveOnce(4, 2, false)
	}()
	sb := startStandby(t, dir, ln.Addr().String())
	waitFor(t, "journal reaches 5", func() bool { return sb.j.LastSeq() >= 5 })
	time.Sleep(50 * time.Millisecond)
	sb.r.Stop()
	<-sb.done
	sb.mu.Lock()
	applied := append([]int64(nil), sb.applied...)
	sb.mu.Unlock()
	if fmt.Sprint(applied) != "[1 2 3 4 5]" {
		t.Fatalf("journaled 1..5 but applied %v", applied)
	}
}
