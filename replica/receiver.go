package replica

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/journal"
)

// ReceiverOptions configure the standby's side.
type ReceiverOptions struct {
	Primary string // the primary's replication host:port
	// Name, when set, is this standby's name in its hello (a shard
	// member's name): the primary tells its standbys apart by it, counts
	// a sync set's acknowledgements by it (Sender.SetSync), and takes a
	// hello of a name it serves already for that standby reconnecting.
	// Empty: the nameless standby of a pair, of which a primary serves one.
	Name        string
	Journal     *journal.Journal // the standby's own journal; the Receiver is its only writer while it runs
	History     *History
	HeartbeatMs int // 0: 100
	TimeoutMs   int // a primary silent this long is taken for gone; 0: 10 × HeartbeatMs
	// RefusedRetryMaxMs bounds the wait before asking again a primary that
	// refused this standby for a reason that can heal (RefusedError.Final
	// false): 1 s (or this, if less), doubling up to this; 0: 30000.
	RefusedRetryMaxMs int
	// SnapshotDir is where a snapshot the primary sends is written as it
	// arrives (incomingSnapshotName), before InstallSnapshot moves it into
	// the journal folder: the data folder, on the journal folder's file
	// system. Empty: a snapshot sent is an error that stops the Receiver.
	SnapshotDir string
	// Apply gets every record after it is durable, in seq order, on the
	// Receiver's goroutine. An error stops the Receiver with that error.
	Apply func(seq int64, rec []byte) error
	// Committed, when set, is told of each records frame once it is
	// durable: its record count and how long its commit (write and fsync) took.
	// On the Receiver's goroutine; it must not block.
	Committed func(records int64, took time.Duration)
	// Admit, when set, is given the epoch of the welcome and of every
	// frame after it before anything else of the frame is used; an error
	// ends the connection with it, and the Receiver connects again. A
	// shard led through etcd passes its fence here (cluster.Fence.Admit):
	// the epoch is the term's fencing token, and a primary whose term is
	// older than one this standby has seen lands nothing in its journal.
	Admit func(epoch uint64) error
	Log   *slog.Logger // nil: slog.Default(); the receiver adds component=replica
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

// BehindError says that this standby was further behind than the
// primary's journal reaches, and that the primary sent its state at Seq
// instead: the snapshot file at Path (journal's snapshot format, fsynced;
// Size bytes of the caller's state, opaque here, with its state hash Hash).
// The standby's journal (Last) cannot be continued, since the records after
// Last up to Seq are not sent: InstallSnapshot replaces it with an empty
// journal beginning at Seq+1 and moves the snapshot beside it, after which
// the standby starts again from the snapshot and follows from Seq+1.
type BehindError struct {
	Last, Seq int64
	Hash      uint64
	Size      int64
	Path      string
}

func (e *BehindError) Error() string {
	return fmt.Sprintf("replica: this standby (at seq %d) is behind what the primary's journal holds; the primary sent its snapshot at seq %d (%d bytes, in %s): it must be installed (replica.InstallSnapshot) and the standby started again",
		e.Last, e.Seq, e.Size, e.Path)
}

// Receiver is the standby's side: it connects to the primary, says where it
// stands, journals what it receives (one fsync per frame), acknowledges it,
// and hands it to Apply. It reconnects until stopped.
type Receiver struct {
	opts ReceiverOptions
	log  *slog.Logger

	lastContact atomic.Int64 // unix ns of the last frame from the primary
	inSync      atomic.Bool  // connected, and the primary's last seq was reached once
	everInSync  atomic.Bool
	epoch       atomic.Uint64 // the primary's epoch
	applied     atomic.Int64
	published   atomic.Int64 // the primary's published seq from its last heartbeat; -1: none heard
	deliveredMu sync.Mutex
	delivered   []int64 // the primary's delivery marks by account, from its last heartbeat; nil: none heard

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
	if opts.RefusedRetryMaxMs <= 0 {
		opts.RefusedRetryMaxMs = 30000
	}
	r := &Receiver{opts: opts, log: opts.Log, stop: make(chan struct{}), stopped: make(chan struct{})}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("component", "replica")
	r.applied.Store(opts.Journal.LastSeq())
	r.published.Store(-1)
	return r
}

// Run connects and follows until Stop, a divergence, a snapshot to install,
// a final refusal, or a failure to journal or apply; it returns that error
// (nil after Stop). A lost connection is retried at once (50 ms apart), a
// refusal that can heal after a wait that doubles from 1 s up to
// RefusedRetryMaxMs, each logged with the primary's reason.
func (r *Receiver) Run() error {
	defer close(r.stopped)
	r.removeIncomingSnapshot()
	const backoff = 50 * time.Millisecond
	refusedWaitMax := time.Duration(r.opts.RefusedRetryMaxMs) * time.Millisecond
	var refusedWait time.Duration // the last wait after a refusal; 0: none since the last welcome
	lastLog := time.Time{}
	for {
		before := r.lastContact.Load()
		err := r.session()
		r.inSync.Store(false)
		if r.lastContact.Load() != before {
			refusedWait = 0 // welcomed since: a later refusal is a new story
		}
		var div *DivergedError
		var ref *RefusedError
		var behind *BehindError
		var fatal *fatalError
		var ver *VersionError
		wait := backoff
		switch {
		case r.isStopped():
			return nil
		case errors.As(err, &ref) && !ref.Final:
			// Not followed, so not fit to take over from the primary (which
			// is alive: it answered) until in sync again.
			r.everInSync.Store(false)
			refusedWait = min(max(2*refusedWait, time.Second), refusedWaitMax)
			wait = refusedWait
			r.log.Warn("REFUSED by the primary", "primary", r.opts.Primary, "code", ref.Code.String(), "reason", ref.Reason, "retry_in", wait)
		case errors.As(err, &div), errors.As(err, &ref), errors.As(err, &behind), errors.As(err, &ver):
			return err
		case errors.As(err, &fatal):
			return fatal.err
		case r.lastContact.Load() != before || time.Since(lastLog) > 5*time.Second:
			// One line per outage, and one every 5 s while it lasts.
			r.log.Warn("following the primary failed; reconnecting", "primary", r.opts.Primary, "err", err)
			lastLog = time.Now()
		}
		select {
		case <-r.stop:
			return nil
		case <-time.After(wait):
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
// last seq, and was not refused since: only then may a lost primary be
// replaced automatically.
func (r *Receiver) EverInSync() bool { return r.everInSync.Load() }

// InSync reports whether it is connected and has reached the primary's last
// shipped seq at least once on this connection.
func (r *Receiver) InSync() bool { return r.inSync.Load() }

// PrimaryPublished is the last seq whose events the primary said it had
// published (handed to its FIX sessions), from its latest heartbeat; -1 when
// no heartbeat carried it (none came yet, or a primary that predates the
// field). It may lag the primary by one heartbeat interval.
func (r *Receiver) PrimaryPublished() int64 { return r.published.Load() }

// PrimaryDelivered is a copy of the delivery marks, by account, that the
// primary's latest heartbeat carried (replica/doc.go); nil when none ever
// did. Where that heartbeat had no mark for an account (0: the primary has no
// session for it, so it knows nothing of its broker; or fewer accounts),
// the account keeps the last mark heard from any primary, 0 when none
// was. Like PrimaryPublished it may lag by one heartbeat interval: a mark
// only grows, so an old one errs towards resending.
func (r *Receiver) PrimaryDelivered() []int64 {
	r.deliveredMu.Lock()
	defer r.deliveredMu.Unlock()
	return slices.Clone(r.delivered)
}

// maxAccounts bounds the delivery marks a heartbeat may carry, so that a
// garbled count cannot make the standby allocate without limit.
const maxAccounts = 1 << 16

func (r *Receiver) heardDelivered(br *bodyReader) error {
	n := br.u32()
	if n > maxAccounts {
		return fmt.Errorf("%d delivery marks, over %d", n, maxAccounts)
	}
	var marks []int64 // none: the primary has no gateway (yet)
	for range n {
		marks = append(marks, int64(br.u64()))
	}
	if br.err != nil {
		return br.err
	}
	r.deliveredMu.Lock()
	for a, m := range r.delivered {
		if a >= len(marks) {
			marks = append(marks, m)
		} else if marks[a] == 0 {
			marks[a] = m
		}
	}
	r.delivered = marks
	r.deliveredMu.Unlock()
	return nil
}

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
	fw.buf = append(fw.buf, r.opts.Name...)
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
		return refused(f.body)
	case typeWelcome:
	default:
		return fmt.Errorf("first frame from the primary is type %d, want welcome", f.typ)
	}
	if err := r.admit(f.epoch); err != nil {
		return err
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
	r.log.Info("following the primary", "primary", r.opts.Primary, "epoch", f.epoch, "seq", last+1)
	return r.follow(c, fr, last+1, timeout)
}

// admit passes epoch to ReceiverOptions.Admit, if set.
func (r *Receiver) admit(epoch uint64) error {
	if r.opts.Admit == nil {
		return nil
	}
	if err := r.opts.Admit(epoch); err != nil {
		return fmt.Errorf("replica: frame from %s refused: %w", r.opts.Primary, err)
	}
	return nil
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
	var snap *incomingSnapshot // a snapshot arriving, nil when none
	defer func() {
		if snap != nil {
			snap.abort()
		}
	}()
	for {
		c.SetReadDeadline(time.Now().Add(timeout))
		f, err := fr.next()
		if err != nil {
			return err
		}
		if err := r.admit(f.epoch); err != nil {
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
			if len(br.b) >= 8 { // an 8-byte heartbeat predates the published seq
				r.published.Store(int64(br.u64()))
			}
			if len(br.b) >= 4 { // none: a primary with no gateway, or that predates them
				if err := r.heardDelivered(&br); err != nil {
					return fmt.Errorf("heartbeat: %w", err)
				}
			}
		case typeSnapshot:
			if snap == nil {
				if r.opts.SnapshotDir == "" {
					return &fatalError{errors.New("replica: the primary sends a snapshot and ReceiverOptions.SnapshotDir is empty")}
				}
				snap = &incomingSnapshot{last: next - 1, path: filepath.Join(r.opts.SnapshotDir, incomingSnapshotName)}
			}
			behind, err := snap.add(f.body)
			if err != nil {
				return err
			}
			if behind != nil {
				snap = nil
				r.log.Info("received the primary's snapshot", "seq", behind.Seq, "bytes", behind.Size,
					"state_hash", fmt.Sprintf("%016x", behind.Hash), "path", behind.Path, "last_seq", behind.Last)
				return behind
			}
		case typeRecords:
			if snap != nil {
				return fmt.Errorf("records frame in the middle of the snapshot at seq %d", snap.seq)
			}
			n, shipped, err := r.journalFrame(f.body, next)
			if err != nil {
				return err
			}
			next += n
			// Ack at once (the primary waits on it), but apply what
			// was journaled even when the ack cannot be sent: the next
			// session resumes after the journal's last seq, so a frame
			// journaled and not applied would never be.
			ackErr := send(typeAck, next-1)
			if ackErr == nil {
				lastSent = time.Now()
				if shipped < next {
					r.markInSync()
				}
			}
			if err := r.applyFrame(f.body); err != nil {
				return &fatalError{err}
			}
			if ackErr != nil {
				return ackErr
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
			r.log.Info("in sync with the primary", "seq", r.opts.Journal.LastSeq())
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
	start := time.Now()
	if err := j.Commit(); err != nil {
		return 0, 0, &fatalError{err}
	}
	if r.opts.Committed != nil {
		r.opts.Committed(count, time.Since(start))
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

// incomingSnapshotName is the file, in ReceiverOptions.SnapshotDir, that a
// snapshot is written to as it arrives. One name: a snapshot cut short (by
// a lost connection or a crash) is overwritten by the next one sent.
const incomingSnapshotName = "snapshot.incoming"

// removeIncomingSnapshot removes a snapshot file left by a run cut short
// (a crash while it arrived, or before InstallSnapshot took it), so that it
// does not hold disk space until the next snapshot: the primary sends one
// again if this standby still needs it.
func (r *Receiver) removeIncomingSnapshot() {
	if r.opts.SnapshotDir == "" {
		return
	}
	path := filepath.Join(r.opts.SnapshotDir, incomingSnapshotName)
	if err := os.Remove(path); err == nil {
		r.log.Info("removed a snapshot received before this start and not installed", "path", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.log.Warn("removing a snapshot received before this start failed", "err", err)
	}
}

// incomingSnapshot is a snapshot arriving in chunks. Each chunk goes to the
// file as it comes, so that the standby holds one chunk (the frame it
// reads) whatever the snapshot's size.
type incomingSnapshot struct {
	last  int64  // this standby's last seq
	path  string // where it is written
	seq   int64
	hash  uint64
	total uint64
	w     *journal.SnapshotWriter // nil before the first chunk
}

// add takes one snapshot frame: | seq u64 | hash u64 | total u64 | offset
// u64 | chunk |. The chunks must come in order, all of one snapshot, and
// start after what this standby holds. After the last chunk the file is
// fsynced and add returns the BehindError that names it.
func (in *incomingSnapshot) add(body []byte) (*BehindError, error) {
	br := bodyReader{b: body}
	seq, hash, total, off := int64(br.u64()), br.u64(), br.u64(), br.u64()
	if br.err != nil {
		return nil, fmt.Errorf("snapshot frame: %w", br.err)
	}
	chunk := br.b
	if in.w == nil {
		if seq <= in.last {
			return nil, fmt.Errorf("snapshot at seq %d, but this standby holds seq %d already", seq, in.last)
		}
		if total > math.MaxInt64 {
			return nil, fmt.Errorf("snapshot at seq %d of %d bytes, more than a file can hold", seq, total)
		}
		w, err := journal.CreateSnapshot(in.path, seq, hash, int64(total))
		if err != nil {
			return nil, &fatalError{err}
		}
		in.seq, in.hash, in.total, in.w = seq, hash, total, w
	}
	if seq != in.seq || hash != in.hash || total != in.total {
		return nil, fmt.Errorf("snapshot frame of seq %d (%d bytes) in the middle of the snapshot at seq %d (%d bytes)", seq, total, in.seq, in.total)
	}
	received := in.received()
	if off != received || off+uint64(len(chunk)) > total {
		return nil, fmt.Errorf("snapshot at seq %d: %d bytes at offset %d of %d, after %d bytes received", seq, len(chunk), off, total, received)
	}
	if _, err := in.w.Write(chunk); err != nil {
		return nil, &fatalError{err}
	}
	if in.received() < total {
		return nil, nil
	}
	err := in.w.Finish()
	in.w = nil
	if err != nil {
		os.Remove(in.path)
		return nil, &fatalError{err}
	}
	return &BehindError{Last: in.last, Seq: in.seq, Hash: in.hash, Size: int64(in.total), Path: in.path}, nil
}

// received is how many bytes of the snapshot are in the file.
func (in *incomingSnapshot) received() uint64 { return uint64(in.w.Written()) }

// abort removes a snapshot cut short.
func (in *incomingSnapshot) abort() {
	if in.w != nil {
		in.w.Abort()
	}
}
