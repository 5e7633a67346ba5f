package feed

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ringex/ringex/matcher"
)

// TestRecoveryClientThatNeverReadsHoldsNoOtherClient: a recovery client
// that asks for a long retransmission and then never reads its socket
// (a hung receiver, or a hostile one: the service listens on the
// network) must not hold back other recovery clients. Here one asks for
// every kept message and reads nothing; another then asks for a
// snapshot, and must get it.
func TestRecoveryClientThatNeverReadsHoldsNoOtherClient(t *testing.T) {
	x := newExchange(t, 5, matcher.STPNone)
	for i := range 50000 { // an Add and a Delete each: 100000 messages, 7.2 MB
		cl, _ := matcher.MakeClOrdID(fmt.Sprintf("r%d", i))
		x.submit(matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, ClOrdID: cl, Side: matcher.Buy,
			Type: matcher.Limit, TIF: matcher.Day, Price: 100, Qty: 1})
		x.submit(matcher.Command{Kind: matcher.KindCancel, Symbol: 1, Account: 1, OrderID: x.seq, ClOrdID: cl})
	}
	_, next := x.tr.Next()
	addr := x.startServer(1<<17, nil)

	stuck, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.(*net.TCPConn).SetReadBuffer(4096)
	var req [requestSize]byte
	req[0] = ReqRetransmit
	binary.LittleEndian.PutUint32(req[4:], uint32(next-1))
	binary.LittleEndian.PutUint64(req[8:], 1)
	if _, err := stuck.Write(req[:]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the service begin writing; it never gets far

	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Snapshot(func(*Message) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no snapshot in 15 s: the recovery service is held by a client that does not read (Server.retransmit writes under mu, with no write deadline)")
	}
}

// TestRecoveryJoinsAreBounded: each Join request adds a UDP destination
// that every packet is written to, and one connection may send as many as
// it likes, each a new port: the sender's list (copied whole at every
// join) and its writes per packet grow without bound, on a service that
// listens on the network. One connection asks 5000 times here.
func TestRecoveryJoinsAreBounded(t *testing.T) {
	x := newExchange(t, 5, matcher.STPNone)
	x.submit(x.randomCommand())
	pub, err := NewPublisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	c, err := Dial(x.startServer(16, pub.Join))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	refused := 0
	for port := 1000; port < 6000; port++ {
		if c.Join(port) != nil {
			refused++
		}
	}
	if n := len(*pub.dests.Load()); n > 64 {
		t.Fatalf("one recovery connection made the feed go to %d UDP destinations (%d joins refused)", n, refused)
	}
}
