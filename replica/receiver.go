package replica

import (
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/journal"
)

// ReceiverOptions configure the standby's side.
type ReceiverOptions struct {
	Primary     string           // the primary's replication host:port
	Journal     *journal.Journal // the standby's own journal; the Receiver is its only writer while it runs
	History     *History
	HeartbeatMs int // 0: 100
	TimeoutMs   int // a primary silent this long is taken for gone; 0: 10 × HeartbeatMs
	// Apply gets every record after it is durable, in seq order, on the
	// Receiver's goroutine. An error stops the Receiver with that error.
	Apply func(seq int64, rec []byte) error
	Logf  func(format string, args ...any)
}

// DivergedError says that the standby's journal holds records after Keep
// that the primary's history does not: they must be discarded (Truncate)
// before it can follow.
type DivergedError struct {
	Keep, Last int64
	Primary    []Epoch
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("replica: this journal's seqs %d..%d are not the primary's (its history diverges after seq %d): they must be discarded", e.Keep+1, e.Last, e.Keep)
}

// RefusedError says that the primary refused this standby.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string {
	return "replica: the primary refused this standby: " + e.Reason
}

// Receiver is the standby's side: it connects to the primary, says where it
// stands, journals what it receives (one fsync per frame), acknowledges it,
// and hands it to Apply. It reconnects until stopped.
type Receiver struct {
	opts ReceiverOptions
	logf func(string, ...any)

	lastContact atomic.Int64 // unix ns of the last frame from the primary
	inSync      atomic.Bool  // connected, and the primary's last seq was reached once
	everInSync  atomic.Bool
	epoch       atomic.Uint64 // the primary's epoch
	applied     atomic.Int64

	mu      sync.Mutex
	conn    net.Conn
	stop    chan struct{}
	stopped chan struct{}
	err     error
}

// NewReceiver makes a Receiver; Run starts it.
func NewReceiver(opts ReceiverOptions) *Receiver {
	if opts.HeartbeatMs <= 0 {
		opts.HeartbeatMs = 100
	}
	if opts.TimeoutMs <= 0 {
		opts.TimeoutMs = 10 * opts.HeartbeatMs
	}
	r := &Receiver{opts: opts, logf: opts.Logf, stop: make(chan struct{}), stopped: make(chan struct{})}
	if r.logf == nil {
		r.logf = log.Printf
	}
	r.applied.Store(opts.Journal.LastSeq())
	return r
}

// Run connects and follows until Stop, a divergence, a refusal, or a failure
// to journal or apply; it returns that error (nil after Stop).
func (r *Receiver) Run() error {
	defer close(r.stopped)
	backoff := 50 * time.Millisecond
	lastLog := time.Time{}
	for {
		before := r.lastContact.Load()
		err := r.session()
		r.inSync.Store(false)
		var div *DivergedError
		var ref *RefusedError
		var fatal *fatalError
		switch {
		case r.isStopped():
			return nil
		case errors.As(err, &div), errors.As(err, &ref):
			return err
		case errors.As(err, &fatal):
			return fatal.err
		}
		// One line per outage, and one every 5 s while it lasts.
		if r.lastContact.Load() != before || time.Since(lastLog) > 5*time.Second {
			r.logf("replica: following %s: %v; reconnecting", r.opts.Primary, err)
			lastLog = time.Now()
		}
		select {
		case <-r.stop:
			return nil
		case <-time.After(backoff):
		}
	}
}

// fatalError ends Run: the standby's own journal or apply failed.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// Stop ends Run and waits for it: nothing is journaled or applied after Stop
// returns.
func (r *Receiver) Stop() {
	r.mu.Lock()
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	if r.conn != nil {
		r.conn.Close()
	}
	r.mu.Unlock()
	<-r.stopped
}

func (r *Receiver) isStopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// SilentFor is how long since the last frame from the primary; 0 before the
// first connection.
func (r *Receiver) SilentFor() time.Duration {
	t := r.lastContact.Load()
	if t == 0 {
		return 0
	}
	return time.Since(time.Unix(0, t))
}

// EverInSync reports whether this Receiver has once reached the primary's
// last seq: only then may a lost primary be replaced automatically.
func (r *Receiver) EverInSync() bool { return r.everInSync.Load() }

// InSync reports whether it is connected and has reached the primary's last
// shipped seq at least once on this connection.
func (r *Receiver) InSync() bool { return r.inSync.Load() }

// Epoch is the epoch of the primary followed last.
func (r *Receiver) Epoch() uint64 { return r.epoch.Load() }

// session runs one connection.
func (r *Receiver) session() error {
	timeout := time.Duration(r.opts.TimeoutMs) * time.Millisecond
	c, err := net.DialTimeout("tcp", r.opts.Primary, timeout)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.isStopped() {
		r.mu.Unlock()
		c.Close()
		return nil
	}
	r.conn = c
	r.mu.Unlock()
	defer c.Close()
	j := r.opts.Journal
	last := j.LastSeq()
	var fw frameWriter
	fw.begin(typeHello, r.opts.History.Current())
	fw.u64(uint64(last))
	fw.history(r.opts.History.Entries())
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(fw.finish()); err != nil {
		return err
	}
	fr := newFrameReader(c)
	c.SetReadDeadline(time.Now().Add(timeout))
	f, err := fr.next()
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	switch f.typ {
	case typeRefuse:
		return &RefusedError{Reason: string(f.body)}
	case typeWelcome:
	default:
		return fmt.Errorf("first frame from the primary is type %d, want welcome", f.typ)
	}
	br := bodyReader{b: f.body}
	keep := int64(br.u64())
	hist := br.history()
	if br.err != nil {
		return br.err
	}
	if keep < last {
		return &DivergedError{Keep: keep, Last: last, Primary: hist}
	}
	if err := r.opts.History.Adopt(hist); err != nil {
		return &fatalError{err}
	}
	r.epoch.Store(f.epoch)
	r.touch()
	r.logf("replica: following %s (epoch %d) from seq %d", r.opts.Primary, f.epoch, last+1)
	return r.follow(c, fr, last+1, timeout)
}

func (r *Receiver) touch() { r.lastContact.Store(time.Now().UnixNano()) }

// follow journals, acknowledges and applies records frames, and answers
// heartbeats, until the connection ends.
func (r *Receiver) follow(c net.Conn, fr *frameReader, next int64, timeout time.Duration) error {
	j := r.opts.Journal
	var fw frameWriter
	send := func(typ byte, seq int64) error {
		fw.begin(typ, r.epoch.Load())
		fw.u64(uint64(seq))
		c.SetWriteDeadline(time.Now().Add(timeout))
		_, err := c.Write(fw.finish())
		return err
	}
	heartbeat := time.Duration(r.opts.HeartbeatMs) * time.Millisecond
	lastSent := time.Now()
	for {
		c.SetReadDeadline(time.Now().Add(timeout))
		f, err := fr.next()
		if err != nil {
			return err
		}
		r.touch()
		if f.epoch != r.epoch.Load() {
			return fmt.Errorf("frame of epoch %d on a connection of epoch %d", f.epoch, r.epoch.Load())
		}
		switch f.typ {
		case typeHeartbeat:
			br := bodyReader{b: f.body}
			if primaryLast := int64(br.u64()); primaryLast < next {
				r.markInSync()
			}
		case typeRecords:
			n, shipped, err := r.journalFrame(f.body, next)
			if err != nil {
				return err
			}
			next += n
			if err := send(typeAck, next-1); err != nil {
				return err
			}
			lastSent = time.Now()
			if shipped < next {
				r.markInSync()
			}
			if err := r.applyFrame(f.body); err != nil {
				return &fatalError{err}
			}
			continue
		default:
			return fmt.Errorf("unexpected frame type %d from the primary", f.typ)
		}
		if time.Since(lastSent) >= heartbeat {
			if err := send(typeHeartbeat, j.LastSeq()); err != nil {
				return err
			}
			lastSent = time.Now()
		}
	}
}

func (r *Receiver) markInSync() {
	if !r.inSync.Load() {
		r.inSync.Store(true)
		if !r.everInSync.Swap(true) {
			r.logf("replica: in sync with the primary at seq %d", r.opts.Journal.LastSeq())
		}
	}
}

// journalFrame checks a records frame whole, then appends its records and
// commits them: one fsync per frame. It returns the record count and the
// primary's last shipped seq.
func (r *Receiver) journalFrame(body []byte, next int64) (count, shipped int64, err error) {
	br := bodyReader{b: body}
	first := int64(br.u64())
	count = int64(br.u32())
	shipped = int64(br.u64())
	for range count {
		br.bytes()
	}
	if br.err != nil {
		return 0, 0, fmt.Errorf("records frame at seq %d: %w", first, br.err)
	}
	if len(br.b) != 0 {
		return 0, 0, fmt.Errorf("records frame at seq %d: %d bytes after the last record", first, len(br.b))
	}
	if first != next {
		return 0, 0, fmt.Errorf("records frame starts at seq %d, want %d", first, next)
	}
	j := r.opts.Journal
	br = bodyReader{b: body[20:]}
	for i := range count {
		if err := j.Append(first+i, br.bytes()); err != nil {
			return 0, 0, &fatalError{err}
		}
	}
	if err := j.Commit(); err != nil {
		return 0, 0, &fatalError{err}
	}
	return count, shipped, nil
}

// applyFrame hands a journaled frame's records to Apply.
func (r *Receiver) applyFrame(body []byte) error {
	br := bodyReader{b: body}
	first := int64(br.u64())
	count := int64(br.u32())
	br.u64()
	if r.opts.Apply == nil {
		r.applied.Store(first + count - 1)
		return nil
	}
	for i := range count {
		if err := r.opts.Apply(first+i, br.bytes()); err != nil {
			return err
		}
	}
	r.applied.Store(first + count - 1)
	return nil
}
