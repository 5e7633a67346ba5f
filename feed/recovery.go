package feed

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/matcher"
)

// Requests to the recovery service: 16 bytes each.
//
//	+------+----------+--------------------+-----------+
//	| kind | reserved | count / UDP port   | from seq  |
//	| u8   | 3 bytes  | u32                | u64       |
//	+------+----------+--------------------+-----------+
const (
	ReqRetransmit byte = 'R' // count messages from seq `from`
	ReqSnapshot   byte = 'S' // every book, and the seq to resume from
	ReqJoin       byte = 'J' // send the UDP feed to this connection's IP at port, while it stays open
	requestSize        = 16
	// RetransmitMax bounds one retransmission request.
	RetransmitMax = 1 << 20
	// JoinMax bounds the UDP destinations joined through one service, at
	// one per connection: each is written every packet.
	JoinMax = 64
	// WriteTimeout is how long one write to a recovery connection may
	// wait for the client to read: past it, the connection is closed.
	WriteTimeout = 10 * time.Second
	// FollowEveryDefault is ServerConfig.FollowEvery's default: far
	// below the hour a hot segment is kept at least
	// (journal.hotRetentionHours). Each pass reads only the records
	// appended since the last (journal.ScanFrom, from where that one
	// ended) and applies them to the engines it keeps.
	FollowEveryDefault = time.Second
)

// Answers are frames: a u16 length, then a packet (as on UDP) or, for a
// request refused, "ERR " and the reason. A retransmission ends with a
// packet of no message whose first seq is the seq after the last one sent,
// or, when the service has not that far (the node has not published it,
// or the journal ends first), the seq of the next message it has: less
// than from+count says "not yet", and from where. A snapshot is packets
// of seq-0 messages, from snapshot start to snapshot end, then the same
// empty packet.
const errPrefix = "ERR "

// ServerConfig says which journal the recovery service serves.
type ServerConfig struct {
	Dir       string // the node's journal
	Origin    Origin // where the feed is numbered from: the same as the live feed's
	RetainMax int    // messages kept in memory for retransmission; 0: 1<<16
	// HoldToDurable serves only what the journal has made durable
	// (Replayer.HoldToDurable).
	HoldToDurable bool
	// Published bounds the service beside a live node: it returns the
	// last journal record the node has published (acknowledged), and the
	// service serves nothing of a later one, in a retransmission or a
	// snapshot. An error refuses the request with its text (a node that
	// serves nothing now: a standby); the seq returned with it still
	// bounds how far the service follows the journal (a standby numbers
	// the feed it does not serve). nil: no bound but HoldToDurable (a
	// journal read offline: `ringex md serve`).
	Published func() (int64, error)
	// FollowEvery is how often the service brings its replayer to the
	// journal's end (up to Published), on its own goroutine, whether or
	// not anyone asks; 0: FollowEveryDefault. Once the replayer has
	// passed a record, the record may leave the journal (retention, an
	// archive moved away) and the service still serves snapshots and
	// the ranges it keeps.
	FollowEvery time.Duration
	// Join is called when a client asks for the UDP feed, and the returned
	// function when its connection closes; nil refuses joins.
	Join func(addr *net.UDPAddr) (leave func())
}

// Server is the TCP recovery service. Everything it sends comes from the
// journal (Replayer), so it is exact: the messages of a retransmission are
// the ones the live feed sent with those seqs, and a snapshot is the
// matcher's own books at a record boundary.
type Server struct {
	cfg    ServerConfig
	mu     sync.Mutex    // guards tail and ring
	tail   *Replayer     // follows the journal's end
	ring   []Message     // the last messages tail produced: seq s at ring[(s-1)%len]
	ringN  uint64        // messages in ring
	ringLo uint64        // seq of the oldest message kept
	replay chan struct{} // one replay from the journal's start at a time: each takes a core
	joins  atomic.Int32  // connections joined to the UDP feed, at most JoinMax

	stop     chan struct{}  // closed by Close: the follower stops
	stopping atomic.Bool    // set by Close: a replay under way stops after its record
	followed sync.WaitGroup // the follower

	connMu sync.Mutex // guards the rest
	conns  map[net.Conn]struct{}
	lns    []net.Listener
	closed bool
}

// NewServer returns a recovery service over cfg's journal.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.RetainMax <= 0 {
		cfg.RetainMax = 1 << 16
	}
	tail, err := NewReplayer(cfg.Dir, cfg.Origin)
	if err != nil {
		return nil, err
	}
	tail.HoldToDurable = cfg.HoldToDurable
	if cfg.FollowEvery <= 0 {
		cfg.FollowEvery = FollowEveryDefault
	}
	s := &Server{cfg: cfg, tail: tail, ring: make([]Message, cfg.RetainMax), ringLo: 1, replay: make(chan struct{}, 1),
		stop: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	s.followed.Add(1)
	go s.follow()
	return s, nil
}

// Close stops following the journal, closes the listeners Serve was given
// and every connection open; a connection accepted after is closed at
// once.
func (s *Server) Close() {
	s.connMu.Lock()
	if !s.closed {
		s.stopping.Store(true)
		close(s.stop)
	}
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	s.followed.Wait()
}

// follow brings the tail to the journal's end now and every FollowEvery,
// until Close, so that no record the tail needs can leave the journal
// before it has passed it: a request never replays the journal from the
// origin to answer with recent messages or a snapshot. Off the hot path:
// it reads the journal's files and shares nothing with the node's
// pipeline but Published.
func (s *Server) follow() {
	defer s.followed.Done()
	t := time.NewTicker(s.cfg.FollowEvery)
	defer t.Stop()
	for {
		limit, _ := s.limit() // a refusal (a standby) still bounds what it has numbered
		s.mu.Lock()
		_ = s.advance(limit) // a failure is a request's answer: catchUp meets it again
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// track adds c to the connections Close closes (add false: removes it);
// it reports false when the server is closed.
func (s *Server) track(c net.Conn, add bool) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// Serve accepts connections on ln until it is closed (or Close), each on
// its own goroutine.
func (s *Server) Serve(ln net.Listener) error {
	s.connMu.Lock()
	s.lns = append(s.lns, ln)
	closed := s.closed
	s.connMu.Unlock()
	if closed {
		ln.Close()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	if !s.track(c, true) {
		return
	}
	defer s.track(c, false)
	var leaves []func()
	defer func() {
		for _, f := range leaves {
			f()
		}
	}()
	w := bufio.NewWriterSize(deadlineWriter{c}, 64<<10)
	var req [requestSize]byte
	for {
		if _, err := io.ReadFull(c, req[:]); err != nil {
			return
		}
		arg, from := binary.LittleEndian.Uint32(req[4:]), binary.LittleEndian.Uint64(req[8:])
		var err error
		switch {
		case req[1]|req[2]|req[3] != 0:
			err = fmt.Errorf("request kind %d: reserved bytes % x, want zero", req[0], req[1:4])
		case req[0] == ReqRetransmit:
			err = s.retransmit(w, from, arg)
		case req[0] == ReqSnapshot:
			err = s.snapshot(w)
		case req[0] == ReqJoin:
			var leave func()
			if len(leaves) > 0 {
				err = errors.New("join: this connection has joined already (one UDP destination per connection)")
				break
			}
			leave, err = s.join(c.RemoteAddr(), w, arg)
			if leave != nil {
				leaves = append(leaves, leave)
			}
		default:
			err = fmt.Errorf("unknown request kind %d", req[0])
		}
		if err != nil {
			writeFrame(w, []byte(errPrefix+err.Error()))
		}
		if w.Flush() != nil {
			return
		}
	}
}

// join sends the UDP feed to the client at from's IP and port, and
// answers on w; the function it returns leaves.
func (s *Server) join(from net.Addr, w io.Writer, port uint32) (func(), error) {
	if s.cfg.Join == nil {
		return nil, errors.New("join: this service sends no UDP feed")
	}
	tcp, ok := from.(*net.TCPAddr)
	if !ok || port == 0 || port > 65535 {
		return nil, fmt.Errorf("join: bad UDP port %d", port)
	}
	if s.joins.Add(1) > JoinMax {
		s.joins.Add(-1)
		return nil, errors.New("join: " + strconv.Itoa(JoinMax) + " receivers have joined already (JoinMax)")
	}
	leave := s.cfg.Join(&net.UDPAddr{IP: tcp.IP, Port: int(port)})
	var k Packer
	return func() { leave(); s.joins.Add(-1) }, writeFrame(w, k.Empty(0, 0))
}

// deadlineWriter gives each write to a recovery connection WriteTimeout:
// a client that stops reading loses its connection instead of holding a
// goroutine, and what it holds of the service, for ever.
type deadlineWriter struct{ c net.Conn }

func (d deadlineWriter) Write(b []byte) (int, error) {
	if err := d.c.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil {
		return 0, err
	}
	return d.c.Write(b)
}

func writeFrame(w io.Writer, b []byte) error {
	n := make([]byte, 2, 2+len(b)) // not a hot path: answers and refusals
	binary.LittleEndian.PutUint16(n, uint16(len(b)))
	_, err := w.Write(append(n, b...))
	return err
}

// limit is the last journal record the service may serve now (Published).
func (s *Server) limit() (int64, error) {
	if s.cfg.Published == nil {
		return math.MaxInt64, nil
	}
	return s.cfg.Published()
}

// catchUp brings the tail to the journal's end, or to the last record the
// node has published, keeping its messages; a refusal of Published is its
// error. Called with mu held.
func (s *Server) catchUp() error {
	limit, err := s.limit()
	if err != nil {
		return err
	}
	return s.advance(limit)
}

// advance brings the tail to journal record limit, or the journal's end,
// keeping its messages; it stops early when the server closes. Called
// with mu held.
func (s *Server) advance(limit int64) error {
	return s.tail.AdvanceTo(limit, func(msgs []Message, _ matcher.Partitions) bool {
		for i := range msgs {
			n := uint64(len(s.ring))
			s.ring[(msgs[i].Seq-1)%n] = msgs[i]
			s.ringN++
			if s.ringN > n {
				s.ringLo = msgs[i].Seq - n + 1
			}
		}
		return !s.stopping.Load()
	})
}

// retransmit sends count messages from seq from: out of the kept ones, or
// replayed from the journal's start when they are older. Kept messages are
// copied out under mu (at most RetainMax) and written without it, so a
// slow client holds back no other.
func (s *Server) retransmit(w io.Writer, from uint64, count uint32) error {
	if from == 0 || count == 0 || count > RetransmitMax || from > math.MaxUint64-uint64(count) {
		return fmt.Errorf("retransmit %d messages from seq %d: want seq >= 1 and 1 to %d messages, not past seq 2^64-1", count, from, RetransmitMax)
	}
	end := from + uint64(count) // exclusive
	s.mu.Lock()
	if err := s.catchUp(); err != nil {
		s.mu.Unlock()
		return err
	}
	_, next := s.tail.Next()
	end = min(end, next)
	if end <= from {
		s.mu.Unlock()
		return newPacketStream(w).end(next) // nothing from seq from yet
	}
	if from >= s.ringLo {
		msgs := make([]Message, 0, end-from) // cold path: an answer
		for seq := from; seq < end; seq++ {
			msgs = append(msgs, s.ring[(seq-1)%uint64(len(s.ring))])
		}
		s.mu.Unlock()
		ps := newPacketStream(w)
		for i := range msgs {
			ps.add(&msgs[i])
		}
		return ps.end(end)
	}
	s.mu.Unlock()
	return s.replayRange(w, from, end)
}

// replayRange sends the messages of seqs [from, end) replayed from the
// journal's start by a replayer of its own.
//
// One replay runs at a time; a request that waits WriteTimeout for it is
// refused. A replay's writes have WriteTimeout each (deadlineWriter), so a
// client that stops reading frees the slot within it.
func (s *Server) replayRange(w io.Writer, from, end uint64) error {
	wait := time.NewTimer(WriteTimeout)
	defer wait.Stop()
	select {
	case s.replay <- struct{}{}:
	case <-wait.C:
		return fmt.Errorf("retransmit from seq %d: another replay from the journal's start is running; ask again", from)
	}
	defer func() { <-s.replay }()
	r, err := NewReplayer(s.cfg.Dir, s.cfg.Origin)
	if err != nil {
		return err
	}
	r.HoldToDurable = s.cfg.HoldToDurable
	ps := newPacketStream(w)
	err = r.Advance(func(msgs []Message, _ matcher.Partitions) bool {
		for i := range msgs {
			if m := &msgs[i]; m.Seq >= from && m.Seq < end {
				ps.add(m)
			}
		}
		_, next := r.Next()
		return next < end && ps.err == nil
	})
	if errors.Is(err, errGone) {
		s.mu.Lock()
		lo := s.ringLo
		s.mu.Unlock()
		return fmt.Errorf("retransmit from seq %d: this service holds seqs from %d only (%v); take a snapshot", from, lo, err)
	}
	if err != nil {
		return err
	}
	if _, next := r.Next(); next < end {
		end = next
	}
	return ps.end(end)
}

// snapshot sends every book at the journal's end and the seq to resume from.
func (s *Server) snapshot(w io.Writer) error {
	s.mu.Lock()
	if err := s.catchUp(); err != nil {
		s.mu.Unlock()
		return err
	}
	msgs := s.tail.Snapshot(nil)
	s.mu.Unlock()
	ps := newPacketStream(w)
	for i := range msgs {
		ps.add(&msgs[i])
	}
	return ps.end(uint64(msgs[len(msgs)-1].Match))
}

// packetStream packs messages and writes each full packet as a frame.
type packetStream struct {
	w   io.Writer
	k   Packer
	n   [2]byte
	err error
}

func newPacketStream(w io.Writer) *packetStream { return &packetStream{w: w} }

func (p *packetStream) add(m *Message) {
	if p.k.Add(m) {
		return
	}
	p.flush()
	p.k.Add(m)
}

func (p *packetStream) flush() {
	if p.k.Len() > 0 && p.err == nil {
		b := p.k.Bytes()
		binary.LittleEndian.PutUint16(p.n[:], uint16(len(b)))
		if _, p.err = p.w.Write(p.n[:]); p.err == nil {
			_, p.err = p.w.Write(b)
		}
	}
	p.k.Reset()
}

func (p *packetStream) end(next uint64) error {
	p.flush()
	if p.err != nil {
		return p.err
	}
	return writeFrame(p.w, p.k.Empty(0, next))
}
