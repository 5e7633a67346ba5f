package feed

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Client asks a recovery service (Server) over one TCP connection. Not safe
// for concurrent use.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	buf  []byte

	// Timeout bounds the dial, each request's write and each wait for a
	// frame of an answer (a service that stops answering is an error,
	// not a hang). Dial sets ClientTimeout.
	Timeout time.Duration
}

// ClientTimeout is a Client's Timeout from Dial: generous, since a
// service's first answer may wait for it to replay a long journal.
const ClientTimeout = time.Minute

// Dial connects to the recovery service at addr (host:port).
func Dial(addr string) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, ClientTimeout)
	if err != nil {
		return nil, fmt.Errorf("feed recovery %s: %w", addr, err)
	}
	return &Client{conn: c, r: bufio.NewReaderSize(c, 64<<10), buf: make([]byte, 1<<16), Timeout: ClientTimeout}, nil
}

// deadline is now plus Timeout; none when Timeout is 0.
func (c *Client) deadline() time.Time {
	if c.Timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(c.Timeout)
}

// Check reports, without waiting, whether the connection is still open:
// the service closed it (it stopped, or the node restarted) is an error.
// Call it between requests only: an answer is never waiting then, so
// anything the service sends is its end.
func (c *Client) Check() error {
	// A deadline already past would fail the read before it looks.
	if err := c.conn.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return fmt.Errorf("feed recovery %s: %w", c.conn.RemoteAddr(), err)
	}
	_, err := c.r.Peek(1)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err == nil {
		err = errors.New("sent bytes no request asked for")
	}
	return fmt.Errorf("feed recovery %s: connection lost: %w", c.conn.RemoteAddr(), err)
}

// Close closes the connection (and so leaves the UDP feed it joined).
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) request(kind byte, arg uint32, from uint64) error {
	var b [requestSize]byte
	b[0] = kind
	binary.LittleEndian.PutUint32(b[4:], arg)
	binary.LittleEndian.PutUint64(b[8:], from)
	if err := c.conn.SetWriteDeadline(c.deadline()); err != nil {
		return err
	}
	_, err := c.conn.Write(b[:])
	return err
}

// frame reads one answer frame; a refusal is an error.
func (c *Client) frame() ([]byte, error) {
	n := c.buf[:2]
	if err := c.conn.SetReadDeadline(c.deadline()); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c.r, n); err != nil {
		return nil, fmt.Errorf("feed recovery %s: %w", c.conn.RemoteAddr(), err)
	}
	b := c.buf[:binary.LittleEndian.Uint16(n)]
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, fmt.Errorf("feed recovery %s: %w", c.conn.RemoteAddr(), err)
	}
	if s := string(b[:min(len(b), len(errPrefix))]); s == errPrefix {
		return nil, fmt.Errorf("feed recovery %s refused: %s", c.conn.RemoteAddr(), strings.TrimPrefix(string(b), errPrefix))
	}
	return b, nil
}

// answer calls fn with each message of an answer and returns the first seq
// of its closing empty packet.
func (c *Client) answer(fn func(*Message) error) (uint64, error) {
	for {
		b, err := c.frame()
		if err != nil {
			return 0, err
		}
		h, err := DecodePacket(b, fn)
		if err != nil {
			return 0, err
		}
		if h.Count == 0 {
			return h.FirstSeq, nil
		}
	}
}

// Retransmit asks for count messages from seq from and calls fn with each.
// It returns the seq after the last one sent: from+count, or less where
// the journal ends first.
func (c *Client) Retransmit(from uint64, count uint32, fn func(*Message) error) (uint64, error) {
	if err := c.request(ReqRetransmit, count, from); err != nil {
		return 0, err
	}
	return c.answer(fn)
}

// Snapshot asks for every book and calls fn with each snapshot message. It
// returns the seq to resume from.
func (c *Client) Snapshot(fn func(*Message) error) (uint64, error) {
	if err := c.request(ReqSnapshot, 0, 0); err != nil {
		return 0, err
	}
	return c.answer(fn)
}

// Join asks for the UDP feed at this host's port, until Close.
func (c *Client) Join(port int) error {
	if err := c.request(ReqJoin, uint32(port), 0); err != nil {
		return err
	}
	_, err := c.answer(func(*Message) error { return nil })
	return err
}

// Recoverer is what a Receiver recovers from: a Client, or in tests
// anything that answers the same way.
type Recoverer interface {
	Retransmit(from uint64, count uint32, fn func(*Message) error) (uint64, error)
	Snapshot(fn func(*Message) error) (uint64, error)
}

// Receiver applies the feed to a Book: it starts from a snapshot, applies
// messages in seq order, ignores duplicates, and on a gap recovers the
// missing messages by retransmission, or by a new snapshot when more than
// SnapshotOver are missing.
type Receiver struct {
	Book         *Book
	Rec          Recoverer
	SnapshotOver uint64         // 0: always retransmit
	OnMessage    func(*Message) // sees every message applied (live or recovered); may be nil
	// SilenceMax ends ReadFrom with ErrFeedLost when no packet came for
	// this long (0: never): a publisher sends a heartbeat after HeartbeatMs
	// of silence, so a longer one means the feed stopped reaching us.
	SilenceMax time.Duration

	next    uint64 // the seq expected; 0 before the first snapshot
	session uint32

	Gaps, Snapshots int
	Recovered       uint64 // messages retransmitted
}

// Next returns the seq the receiver expects next (0 before its snapshot).
func (r *Receiver) Next() uint64 { return r.next }

// Packet applies a packet from the UDP feed.
func (r *Receiver) Packet(p []byte) error {
	h, err := DecodePacket(p, r.Message)
	if err != nil {
		return err
	}
	switch {
	case h.Count > 0:
	case r.next == 0: // a heartbeat before the first snapshot
		return r.snapshot()
	case h.Session > r.session && h.FirstSeq < r.next: // a later session numbers again seqs this book has had
		return r.snapshot()
	case h.FirstSeq > r.next: // a heartbeat says messages were missed
		return r.recover(h.FirstSeq)
	}
	return nil
}

// Message applies one live message.
func (r *Receiver) Message(m *Message) error {
	if r.next == 0 || m.Session > r.session && m.Seq < r.next { // a later session numbers again seqs this book had
		if err := r.snapshot(); err != nil {
			return err
		}
	}
	if m.Seq > r.next {
		if err := r.recover(m.Seq); err != nil {
			return err
		}
	}
	if m.Seq < r.next {
		return nil
	}
	err := r.apply(m)
	if errors.Is(err, errOtherSession) {
		if err := r.snapshot(); err != nil {
			return err
		}
		if m.Seq == r.next {
			return r.apply(m)
		}
		return nil
	}
	return err
}

// errOtherSession: a message of a later session that does not begin it,
// at a seq this book had in its own: records were lost in between
// (CodeRecordsLost), so the book needs a new snapshot.
var errOtherSession = errors.New("feed: a later session's message, not its first")

func (r *Receiver) apply(m *Message) error {
	if m.Seq != r.next {
		return fmt.Errorf("feed: seq %d, expected %d", m.Seq, r.next)
	}
	if m.Session < r.session {
		return fmt.Errorf("feed seq %d: session %d after session %d", m.Seq, m.Session, r.session)
	}
	if m.Session != r.session && (m.Type != TypeSystem || m.Code != CodeStartOfDay && m.Code != CodeRecordsLost) {
		return errOtherSession
	}
	if err := r.Book.Apply(m); err != nil {
		return err
	}
	r.next++
	r.session = m.Session
	if r.OnMessage != nil {
		r.OnMessage(m)
	}
	return nil
}

// recover brings the book up to just before seq upTo.
func (r *Receiver) recover(upTo uint64) error {
	r.Gaps++
	if r.SnapshotOver > 0 && upTo-r.next > r.SnapshotOver {
		if err := r.snapshot(); err != nil {
			return err
		}
	}
	for r.next < upTo {
		from, n := r.next, min(upTo-r.next, RetransmitMax)
		other := false // the answer reached a later session this book is not of
		end, err := r.Rec.Retransmit(r.next, uint32(n), func(m *Message) error {
			if other {
				return nil // read to the answer's end
			}
			r.Recovered++
			err := r.apply(m)
			if errors.Is(err, errOtherSession) {
				other, err = true, nil
			}
			return err
		})
		if err != nil {
			return err
		}
		if other {
			if err := r.snapshot(); err != nil {
				return err
			}
			continue
		}
		if end < from+n || r.next != end {
			return fmt.Errorf("feed: retransmission of seqs %d..%d ended at %d (applied to %d)", from, from+n-1, end, r.next)
		}
	}
	return nil
}

// CatchUp brings the book to just before seq upTo by retransmission (or
// a snapshot, past SnapshotOver): the state a snapshot resuming at upTo
// shows.
func (r *Receiver) CatchUp(upTo uint64) error {
	if upTo <= r.next {
		return nil
	}
	return r.recover(upTo)
}

// Start takes the first snapshot: the book as it stands and the seq to
// resume from.
func (r *Receiver) Start() error { return r.snapshot() }

func (r *Receiver) snapshot() error {
	r.Book.Reset()
	r.Snapshots++
	next, err := r.Rec.Snapshot(func(m *Message) error {
		if m.Type == TypeSystem {
			r.session = m.Session
			return nil
		}
		return r.Book.Apply(m)
	})
	if err != nil {
		return err
	}
	if next == 0 {
		return errors.New("feed: snapshot without a seq to resume from")
	}
	r.next = next
	return nil
}

// ErrFeedLost says that the feed stopped reaching a receiver: its
// recovery connection closed (and with it the join), or the feed was
// silent past SilenceMax. Rejoin goes on from where the book stands.
var ErrFeedLost = errors.New("feed lost")

// ReadFrom applies the packets that arrive on conn until stop returns true
// (asked after each packet, and at least every 100 ms) or an error. A
// packet that does not decode is an error: the feed is not ringex's, or
// it is damaged. When no packet comes for 100 ms it checks that the
// recovery connection is open (a Rec with a Check method, as Client) and
// the silence: either ends it with ErrFeedLost.
func (r *Receiver) ReadFrom(conn net.PacketConn, stop func() bool) error {
	buf := make([]byte, 1<<16)
	last := time.Now()
	for !stop() {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, from, err := conn.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if err := r.lost(last); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("feed: read: %w", err)
		}
		last = time.Now()
		if err := r.Packet(buf[:n]); err != nil {
			return fmt.Errorf("feed: packet from %v: %w", from, err)
		}
	}
	return nil
}

// lost says whether the feed is lost, the last packet having come at last.
func (r *Receiver) lost(last time.Time) error {
	if c, ok := r.Rec.(interface{ Check() error }); ok {
		if err := c.Check(); err != nil {
			return fmt.Errorf("%w: %w", ErrFeedLost, err)
		}
	}
	if d := time.Since(last); r.SilenceMax > 0 && d > r.SilenceMax {
		return fmt.Errorf("%w: no packet, not even a heartbeat, for %v", ErrFeedLost, d.Round(time.Millisecond))
	}
	return nil
}

// Rejoin goes on with rec, a new connection to a recovery service (the
// old one was lost), from where the book stands: when the service's feed
// goes on in the book's session from its seq or later, by retransmission
// of what was missed (each message applied, and seen by OnMessage); else
// (a new session: the node started from a snapshot, or records were lost)
// by the service's snapshot.
func (r *Receiver) Rejoin(rec Recoverer) error {
	r.Rec = rec
	if r.next == 0 {
		return r.snapshot()
	}
	book, session := NewBook(), uint32(0)
	next, err := rec.Snapshot(func(m *Message) error {
		if m.Type == TypeSystem {
			session = m.Session
			return nil
		}
		return book.Apply(m)
	})
	if err != nil {
		return err
	}
	if session == r.session && next >= r.next {
		return r.CatchUp(next)
	}
	if next == 0 {
		return errors.New("feed: snapshot without a seq to resume from")
	}
	r.Snapshots++
	*r.Book, r.next, r.session = *book, next, session
	return nil
}
