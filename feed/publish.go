package feed

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// PublisherConfig shapes a Publisher.
type PublisherConfig struct {
	// Listen is the UDP address packets are sent from; "" means
	// 127.0.0.1:0.
	Listen string
	// Send is where every packet goes besides the receivers that join: unicast
	// addresses, or a multicast group where the host routes one.
	Send []string
	// QueuePackets bounds the packets waiting for the sender; when it is
	// full a packet is dropped (receivers recover it). 0 means 1024.
	QueuePackets int
	// HeartbeatMs is how long the feed may stay silent before a heartbeat
	// tells receivers the next seq. 0 means 1000.
	HeartbeatMs int

	stalled bool // tests: no sender, as if every receiver were too slow
}

// Publisher sends the feed over UDP. The publish side (Command, Publish,
// Flush) runs on one goroutine, the node's publish stage or a journal
// follower; a sender goroutine of its own writes the packets. A slow or
// absent receiver never holds the publish side back: the queue between
// them is bounded and a packet that finds it full is dropped and counted.
type Publisher struct {
	conn   *net.UDPConn
	k      Packer
	bufs   [][PacketMax]byte
	free   chan int    // buffers the publish side may fill
	full   chan packet // buffers the sender sends
	dests  atomic.Pointer[[]netip.AddrPort]
	destMu sync.Mutex // serializes changes to dests
	beatMs int
	quit   chan struct{}
	done   chan struct{}

	next    atomic.Uint64 // seq after the last message queued
	session atomic.Uint32
	dropped atomic.Uint64 // packets dropped on a full queue
	sent    atomic.Uint64 // packets written (to each receiver)
}

type packet struct{ buf, n int }

// NewPublisher opens the sending socket and starts the sender. The
// messages it is given come from a Translator: NewTranslator at a
// journal's start, or a Replayer's once it has caught up with the journal
// (Replayer.Translator).
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	qn := cfg.QueuePackets
	if qn <= 0 {
		qn = 1024
	}
	laddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("feed publisher: listen %q: %w", cfg.Listen, err)
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("feed publisher: %w", err)
	}
	p := &Publisher{conn: conn, bufs: make([][PacketMax]byte, qn),
		free: make(chan int, qn), full: make(chan packet, qn), beatMs: cfg.HeartbeatMs,
		quit: make(chan struct{}), done: make(chan struct{})}
	if p.beatMs <= 0 {
		p.beatMs = 1000
	}
	for i := range qn {
		p.free <- i
	}
	p.dests.Store(&[]netip.AddrPort{})
	for _, s := range cfg.Send {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("feed publisher: send %q: want ip:port: %w", s, err)
		}
		p.join(ap)
	}
	if !cfg.stalled {
		go p.send()
	} else {
		close(p.done)
	}
	return p, nil
}

// Addr is the address packets come from.
func (p *Publisher) Addr() net.Addr { return p.conn.LocalAddr() }

// Dropped is the number of packets dropped because the queue was full.
func (p *Publisher) Dropped() uint64 { return p.dropped.Load() }

// Join sends the feed to addr too, until the returned function is called.
func (p *Publisher) Join(addr *net.UDPAddr) (leave func()) {
	ap := addr.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	p.join(ap)
	return func() { p.leave(ap) }
}

func (p *Publisher) join(ap netip.AddrPort) {
	p.destMu.Lock()
	defer p.destMu.Unlock()
	d := append([]netip.AddrPort(nil), *p.dests.Load()...)
	d = append(d, ap)
	p.dests.Store(&d)
}

func (p *Publisher) leave(ap netip.AddrPort) {
	p.destMu.Lock()
	defer p.destMu.Unlock()
	old := *p.dests.Load()
	d := make([]netip.AddrPort, 0, len(old))
	removed := false
	for _, a := range old {
		if a == ap && !removed {
			removed = true
			continue
		}
		d = append(d, a)
	}
	p.dests.Store(&d)
}

// Resume tells the publisher where the feed stands before it publishes
// anything: session and the seq of the next message, as a Translator
// carried on from a journal says (Replayer.Next). Heartbeats carry them at
// once, so a receiver that missed the last messages before a restart or a
// promotion learns of them without waiting for a new one. A publisher
// not resumed sends no heartbeat until it has published (a standby's).
func (p *Publisher) Resume(session uint32, next uint64) {
	p.session.Store(session)
	p.next.Store(next) // after the session: the sender reads next first
}

// Publish packs msgs, which must continue the feed, and queues each packet
// as it fills. Hot path: no allocation and no wait; a full packet costs
// one non-blocking receive and one send on a buffered channel (the
// runtime's channel lock, per 20 messages, not per event).
func (p *Publisher) Publish(msgs []Message) {
	for i := range msgs {
		if !p.k.Add(&msgs[i]) {
			p.Flush()
			p.k.Add(&msgs[i])
		}
	}
	if p.k.Len() == PacketMsgsMax {
		p.Flush()
	}
}

// Flush queues the packet being filled, if any: the end of a batch.
func (p *Publisher) Flush() {
	if p.k.Len() == 0 {
		return
	}
	b := p.k.Bytes()
	p.k.Reset()
	p.session.Store(p.k.hdr.Session)
	p.next.Store(p.k.hdr.FirstSeq + uint64(p.k.hdr.Count)) // a heartbeat tells of it, sent or dropped
	select {
	case i := <-p.free:
		n := copy(p.bufs[i][:], b)
		p.full <- packet{i, n} // never blocks: as many slots as buffers
	default:
		p.dropped.Add(1)
	}
}

// send writes queued packets to every receiver, and a heartbeat after
// HeartbeatMs of silence. A receiver that cannot take a packet misses it.
func (p *Publisher) send() {
	defer close(p.done)
	beat := time.NewTicker(time.Duration(p.beatMs) * time.Millisecond)
	defer beat.Stop()
	var hb Packer
	quiet := true
	for {
		select {
		case pk := <-p.full:
			p.write(p.bufs[pk.buf][:pk.n])
			p.free <- pk.buf
			quiet = false
		case <-beat.C:
			if next := p.next.Load(); quiet && next != 0 { // 0: neither resumed nor published: nothing to tell
				p.write(hb.Empty(p.session.Load(), next))
			}
			quiet = true
		case <-p.quit:
			return
		}
	}
}

func (p *Publisher) write(b []byte) {
	for _, d := range *p.dests.Load() {
		if _, err := p.conn.WriteToUDPAddrPort(b, d); err == nil {
			p.sent.Add(1)
		}
	}
}

// Close stops the sender and closes the socket; packets still queued are
// not sent.
func (p *Publisher) Close() error {
	select {
	case <-p.quit:
		return errors.New("feed publisher: closed twice")
	default:
	}
	close(p.quit)
	<-p.done
	return p.conn.Close()
}
