package feed

import (
	"net"
	"testing"
	"time"
)

// TestReceiverFollowsUDPFeedAcrossLostPackets runs the whole feed on
// loopback: the exchange publishes over UDP to a receiver that joined
// through the recovery service; the receiver loses the 5th to the 12th
// packet on purpose, notices the gap, recovers it over TCP, and ends with
// the matcher's book at the feed's last seq (a heartbeat tells it where
// the feed ends).
func TestReceiverFollowsUDPFeedAcrossLostPackets(t *testing.T) {
	x := newExchange(t, 42, 1)
	pub, err := NewPublisher(PublisherConfig{HeartbeatMs: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	c, udp := joinFeed(t, x.startServer(1<<12, pub.Join))
	r := &Receiver{Book: NewBook(), Rec: c}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var want uint64 // written before stop can see it: stop reads it after the channel below
	wantSet := make(chan struct{})
	go func() {
		packets := 0
		lossy := &lossyConn{PacketConn: udp, drop: func() bool { packets++; return packets >= 5 && packets <= 12 }}
		deadline := time.Now().Add(30 * time.Second)
		done <- r.ReadFrom(lossy, func() bool {
			select {
			case <-wantSet:
				return r.Next() == want || time.Now().After(deadline)
			default:
				return time.Now().After(deadline)
			}
		})
	}()
	for range 800 {
		pub.Publish(x.submit(x.randomCommand()))
		pub.Flush()
	}
	_, want = x.tr.Next()
	close(wantSet)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Next() != want {
		t.Fatalf("receiver at seq %d, the feed's next is %d", r.Next(), want)
	}
	x.sameBooks(r.Book, "the UDP receiver")
	if r.Gaps == 0 || r.Recovered == 0 {
		t.Fatalf("%d gaps, %d messages recovered: the lost packets went unnoticed", r.Gaps, r.Recovered)
	}
	t.Logf("%d messages, %d gaps, %d recovered, %d packets dropped by the publisher", want-1, r.Gaps, r.Recovered, pub.Dropped())
}

// joinFeed connects to the recovery service and joins the UDP feed on a
// loopback socket of its own.
func joinFeed(t *testing.T, addr string) (*Client, *net.UDPConn) {
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	if err := c.Join(udp.LocalAddr().(*net.UDPAddr).Port); err != nil {
		t.Fatal(err)
	}
	return c, udp
}

// lossyConn loses the packets drop says to.
type lossyConn struct {
	net.PacketConn
	drop func() bool
}

func (l *lossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := l.PacketConn.ReadFrom(b)
		if err != nil || !l.drop() {
			return n, a, err
		}
	}
}

// TestPublishNeverWaits: with no sender running (as if every receiver were
// too slow), publishing goes on: what the bounded queue cannot hold is
// dropped and counted, and Publish returns every time.
func TestPublishNeverWaits(t *testing.T) {
	x := newExchange(t, 3, 1)
	pub, err := NewPublisher(PublisherConfig{QueuePackets: 4, stalled: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	packets := 0
	for range 200 {
		msgs := x.submit(x.randomCommand())
		pub.Publish(msgs)
		pub.Flush()
		packets += (len(msgs) + PacketMsgsMax - 1) / PacketMsgsMax
	}
	// packets is a lower bound: an end of day also ends a packet.
	if len(pub.full) != 4 || pub.Dropped() < uint64(packets-4) {
		t.Fatalf("dropped %d of at least %d packets, %d queued, with a queue of 4", pub.Dropped(), packets, len(pub.full))
	}
}

// TestPublishAllocatesNothing: packing and queueing a command's messages
// allocates nothing, and neither does sending them.
func TestPublishAllocatesNothing(t *testing.T) {
	x := newExchange(t, 8, 1)
	pub, err := NewPublisher(PublisherConfig{QueuePackets: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	pub.Join(udp.LocalAddr().(*net.UDPAddr))
	var msgs []Message
	for len(msgs) < 50 {
		msgs = append(msgs, x.submit(x.randomCommand())...)
	}
	if n := testing.AllocsPerRun(200, func() {
		pub.Publish(msgs)
		pub.Flush()
	}); n != 0 {
		t.Fatalf("Publish and Flush allocate %v times", n)
	}
}

// TestMulticastWhereTheHostAllows: the publisher sends to a multicast
// group named in Send, and a receiver that joined the group on loopback
// follows the feed like a unicast one. Skipped where the host does not
// deliver multicast on loopback.
func TestMulticastWhereTheHostAllows(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no loopback interface named lo: %v", err)
	}
	group := &net.UDPAddr{IP: net.IPv4(239, 77, 1, 2), Port: 47000 + int(time.Now().UnixNano()%1000)}
	mc, err := net.ListenMulticastUDP("udp4", lo, group)
	if err != nil {
		t.Skipf("this host does not join multicast groups on loopback: %v", err)
	}
	defer mc.Close()
	x := newExchange(t, 21, 1)
	pub, err := NewPublisher(PublisherConfig{Send: []string{group.String()}, HeartbeatMs: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	c, err := Dial(x.startServer(1<<12, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := &Receiver{Book: NewBook(), Rec: c}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		pub.Publish(x.submit(x.randomCommand()))
		pub.Flush()
	}
	_, want := x.tr.Next()
	deadline := time.Now().Add(5 * time.Second)
	if err := r.ReadFrom(mc, func() bool { return r.Next() == want || time.Now().After(deadline) }); err != nil {
		t.Fatal(err)
	}
	if r.Next() != want && r.Recovered == 0 && r.Gaps == 0 {
		t.Skipf("nothing arrived on multicast group %v over loopback", group)
	}
	if r.Next() != want {
		t.Fatalf("multicast receiver at seq %d, the feed's next is %d", r.Next(), want)
	}
	x.sameBooks(r.Book, "the multicast receiver")
	t.Logf("%d messages over multicast, %d recovered", want-1, r.Recovered)
}
