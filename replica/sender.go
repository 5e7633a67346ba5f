package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/journal"
)

// catchUpFrameRecords bounds a records frame sent from the journal.
const catchUpFrameRecords = 4096

// liveFrameRecords bounds a records frame sent from the window.
const liveFrameRecords = 8192

// probeLogEvery bounds how often answered probes are logged.
const probeLogEvery = 10 * time.Second

// maxOpening bounds the connections held before their first frame (a
// standby's hello or a probe); more are closed at once.
const maxOpening = 8

// SenderOptions configure the primary's side.
type SenderOptions struct {
	Listen      string // host:port standbys connect to
	JournalDir  string // the primary's journal, for catch-up
	History     *History
	NextSeq     int64 // the seq of the first record Ship will be given
	HeartbeatMs int   // how often an idle connection carries a heartbeat; 0: 100
	TimeoutMs   int   // a standby silent this long is dropped; 0: 10 × HeartbeatMs
	// WindowRecords bounds the records kept in memory for the live stream; a
	// standby further behind reads the journal. It must exceed the ring's
	// capacity, so that a record has left the window only once the journal
	// stage, which runs beside the replicate stage, has made it durable.
	WindowRecords int
	// Delivered, when set, appends to dst the delivery mark of every
	// account (gateway.Gateway.Delivered); each heartbeat carries them, so
	// that a promoted standby resends what brokers may lack. It runs on
	// the connection's writer goroutine.
	Delivered func(dst []int64) []int64
	// Published, when set, is the last seq whose events the caller's
	// publish stage has handed to the FIX sessions (nil: NextSeq-1).
	// Heartbeats carry it to the standby, which after a failover resends
	// the reports of the commands after it, and probe answers carry it to
	// a second primary (StepsDown). It runs on connection goroutines.
	Published func() int64
	// Behind, when set, is told that a standby of the sync set (SetSync)
	// came back saying at its handshake that it holds less (holds) than
	// it had acknowledged as durable to this Sender (acked): it lost
	// records (a new or restored disk). Await counts it from holds on;
	// the caller takes it out of its sync set. It runs once per such
	// handshake on the connection's goroutine, before the stream to the
	// standby begins, without the Sender's lock: it must not block.
	Behind func(name string, holds, acked int64)
	// RebuildFrom, when set, is the lowest seq after which a broker may
	// lack reports (by the caller's delivery marks): a standby caught up
	// by snapshot is sent the newest snapshot at or before it that the
	// journal follows, so that, promoted, it can rebuild those reports
	// from its own journal. Nil: the newest snapshot. It runs once per
	// such catch-up, on the connection's goroutine.
	RebuildFrom func() int64
	Log         *slog.Logger // nil: slog.Default(); the sender adds component=replica
}

// SenderStats are the primary's replication counters.
type SenderStats struct {
	Shipped int64 // highest seq handed to Ship
	// Acked is what Await counts as acknowledged: the most advanced
	// standby's durable seq or, with a sync set (SetSync), the lowest of
	// its members'
	Acked     int64
	Connected bool // a standby is connected and past the handshake
	// CaughtUp: the standbys Acked counts have each acknowledged
	// everything shipped at least once since they connected (with no sync
	// set: one standby has)
	CaughtUp    bool
	Connections int64          // handshakes completed
	Standbys    []StandbyStats // each connected standby
}

// ErrClosed is returned by Await after Close.
var ErrClosed = errors.New("replica: closed")

// Sender is the primary's side: it accepts up to MaxStandbys standbys at
// once and streams each what it lacks, then everything shipped, on its own
// connection with its own cursor: a slow standby delays no other's stream.
type Sender struct {
	opts SenderOptions
	log  *slog.Logger
	ln   net.Listener

	mu       sync.Mutex
	win      [][]byte              // ring of recent records, by seq % len
	winFirst int64                 // oldest seq held
	winNext  int64                 // next seq Ship will be given
	standbys []*standbyConn        // connected standbys past their hello, at most MaxStandbys
	syncSet  []string              // SetSync; nil: the most advanced standby counts
	held     map[string]int64      // by name, for the sync set: the highest seq each acknowledged
	opening  map[net.Conn]struct{} // connections whose first frame has not come yet

	shipped     atomic.Int64
	acked       atomic.Int64 // what Await counts as acknowledged (recount)
	syncNone    atomic.Bool  // SetSync of an empty set: Await needs no standby
	caughtUp    atomic.Bool  // the standbys Await counts have caught up (recount)
	outside     atomic.Int64 // Outside (recount)
	anyReady    atomic.Bool  // a standby is past its handshake (recount)
	connections atomic.Int64
	probeLogNs  atomic.Int64 // when answerProbe last logged

	ack     chan struct{} // readers → Await
	closing chan struct{}
	wg      sync.WaitGroup
}

// Listen opens the primary's replication port.
func Listen(opts SenderOptions) (*Sender, error) {
	if opts.HeartbeatMs <= 0 {
		opts.HeartbeatMs = 100
	}
	if opts.TimeoutMs <= 0 {
		opts.TimeoutMs = 10 * opts.HeartbeatMs
	}
	if opts.WindowRecords <= 0 {
		opts.WindowRecords = 1 << 16
	}
	if opts.NextSeq < 1 || opts.History == nil || opts.JournalDir == "" {
		return nil, errors.New("replica: SenderOptions need NextSeq, History and JournalDir")
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("replica: listen on %s: %w", opts.Listen, err)
	}
	s := &Sender{opts: opts, log: opts.Log, ln: ln,
		win: make([][]byte, opts.WindowRecords), winFirst: opts.NextSeq, winNext: opts.NextSeq,
		opening: map[net.Conn]struct{}{}, standbys: make([]*standbyConn, 0, MaxStandbys), held: map[string]int64{},
		ack: make(chan struct{}, 1), closing: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "replica")
	s.shipped.Store(opts.NextSeq - 1)
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the replication port's address.
func (s *Sender) Addr() net.Addr { return s.ln.Addr() }

// Ship queues records firstSeq, firstSeq+1, ... for every standby. It is
// called once per ring batch by the replicate handler, in seq order. The
// records are copied. Hot path: one short lock per batch (each standby's
// writer takes it once per frame), a wake-up per standby (at most
// MaxStandbys), and no allocation once every window entry has grown to its
// record's size.
func (s *Sender) Ship(firstSeq int64, recs [][]byte) {
	if len(recs) == 0 {
		return
	}
	s.mu.Lock()
	if firstSeq != s.winNext {
		s.mu.Unlock()
		panic(fmt.Sprintf("replica: Ship seq %d, want %d", firstSeq, s.winNext))
	}
	w := int64(len(s.win))
	for _, r := range recs {
		i := s.winNext % w
		s.win[i] = append(s.win[i][:0], r...)
		s.winNext++
	}
	if s.winNext-s.winFirst > w {
		s.winFirst = s.winNext - w
	}
	// Under mu, with the records: the writer can send them as soon as
	// they are in the window, and an ack for them must not find shipped
	// behind it.
	s.shipped.Store(firstSeq + int64(len(recs)) - 1)
	for _, sb := range s.standbys {
		notify(sb.data)
	}
	s.mu.Unlock()
}

// published is SenderOptions.Published.
func (s *Sender) published() int64 {
	if s.opts.Published == nil {
		return s.opts.NextSeq - 1
	}
	return s.opts.Published()
}

// Await blocks until seq is acknowledged, by the most advanced standby or
// by every standby of the sync set (SetSync), or until timeout passes
// (timeout 0: no bound), or the Sender closes. It reports whether seq is
// acknowledged. Hot path in sync mode: no allocation when the ack is
// already there.
func (s *Sender) Await(seq int64, timeout time.Duration, t *time.Timer) (bool, error) {
	for {
		if s.acked.Load() >= seq || s.syncNone.Load() {
			return true, nil
		}
		var expired <-chan time.Time
		if timeout > 0 {
			t.Reset(timeout)
			expired = t.C
		}
		select {
		case <-s.ack:
		case <-expired:
			return s.acked.Load() >= seq, nil
		case <-s.closing:
			return false, ErrClosed
		}
		if timeout > 0 && !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

// Stats returns the counters. Not for the hot path: it allocates the list
// of standbys.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SenderStats{Shipped: s.shipped.Load(), Acked: s.acked.Load(), CaughtUp: s.caughtUp.Load(),
		Connections: s.connections.Load(), Standbys: s.standbyStats()}
	for _, sb := range st.Standbys {
		st.Connected = st.Connected || sb.Ready
	}
	return st
}

// Close stops accepting, drops the standbys and wakes every Await. Stats
// after Close shows the standbys as they stood when it was called.
func (s *Sender) Close() {
	select {
	case <-s.closing:
		return
	default:
	}
	close(s.closing)
	s.ln.Close()
	s.mu.Lock()
	for _, sb := range s.standbys {
		sb.conn.Close()
	}
	for c := range s.opening {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *Sender) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closing:
				return
			default:
			}
			s.log.Warn("accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.isClosing() { // Close has closed what it knew of
			s.mu.Unlock()
			c.Close()
			return
		}
		if len(s.opening) >= maxOpening {
			s.mu.Unlock()
			s.log.Warn("connection closed: too many others have not said what they are yet", "remote", c.RemoteAddr().String(), "opening", maxOpening)
			c.Close()
			continue
		}
		s.opening[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.open(c)
		}()
	}
}

// open reads a connection's first frame and gives the connection its part:
// a probe is answered and closed, a hello makes it the standby. Until its
// first frame a connection is nobody's standby, so that one which only
// probes, or says nothing, never displaces the standby that is connected.
func (s *Sender) open(c net.Conn) {
	fr := newFrameReader(c)
	c.SetReadDeadline(time.Now().Add(time.Duration(s.opts.TimeoutMs) * time.Millisecond))
	f, err := fr.next()
	s.mu.Lock()
	delete(s.opening, c)
	s.mu.Unlock()
	var ver *VersionError
	if errors.As(err, &ver) {
		s.refuse(c, s.opts.History.Current(), RefuseVersion, fmt.Sprintf("the peer speaks replica protocol version %d, this primary version %d", ver.Peer, ver.Ours))
		c.Close()
		return
	}
	if err == nil && f.typ == typeProbe {
		s.answerProbe(c, f.epoch)
		c.Close()
		return
	}
	if err == nil && f.typ != typeHello {
		err = fmt.Errorf("first frame is type %d, want hello or probe", f.typ)
	}
	var h hello
	if err == nil {
		h, err = readHello(f.body)
	}
	if err != nil {
		c.Close()
		if !s.isClosing() {
			s.log.Info("connection closed before a hello", "remote", c.RemoteAddr().String(), "err", err)
		}
		return
	}
	s.mu.Lock()
	if s.isClosing() {
		s.mu.Unlock()
		c.Close()
		return
	}
	sb, full := s.admitStandby(c, h.name)
	s.mu.Unlock()
	if sb == nil {
		s.refuse(c, s.opts.History.Current(), RefuseFull, full)
		c.Close()
		return
	}
	err = s.serve(sb, fr, h)
	c.Close()
	s.mu.Lock()
	s.dropStandby(sb)
	s.mu.Unlock()
	if !s.isClosing() {
		s.log.Warn("standby gone", "standby", sb.String(), "err", err)
	}
}

// String names a standby for the log: its name, if it has one, and address.
func (sb *standbyConn) String() string {
	if sb.name == "" {
		return sb.addr
	}
	return fmt.Sprintf("%q (%s)", sb.name, sb.addr)
}

// hello is a standby's first frame: | last durable seq u64 | history |
// and, from a standby that names itself, | name (UTF-8, the rest) |.
type hello struct {
	last   int64
	theirs []Epoch
	name   string
}

func readHello(body []byte) (hello, error) {
	br := bodyReader{b: body}
	h := hello{last: int64(br.u64())}
	h.theirs = br.history()
	if br.err != nil {
		return h, fmt.Errorf("hello: %w", br.err)
	}
	if len(br.b) > maxStandbyName {
		return h, fmt.Errorf("hello: a standby name of %d bytes, over %d", len(br.b), maxStandbyName)
	}
	h.name = string(br.b)
	return h, nil
}

// maxStandbyName bounds the name a hello carries.
const maxStandbyName = 256

func (s *Sender) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// answerProbe tells a prober this node's epoch history, last shipped seq
// and last published seq (so that a second primary can tell whether this
// one has acknowledged anything: StepsDown). It touches nothing of the
// standby's: not the connection, not the acknowledged seq, not the sync
// state. A primary without a standby is probed by its peer every
// heartbeat, so the answer is logged at most once per probeLogEvery.
func (s *Sender) answerProbe(c net.Conn, theirEpoch uint64) {
	var fw frameWriter
	epoch := s.opts.History.Current()
	fw.begin(typeAnswer, epoch)
	fw.u64(uint64(s.shipped.Load()))
	fw.history(s.opts.History.Entries())
	fw.u64(uint64(s.published()))
	c.SetWriteDeadline(time.Now().Add(time.Duration(s.opts.TimeoutMs) * time.Millisecond))
	if _, err := c.Write(fw.finish()); err != nil {
		s.log.Warn("probe not answered", "remote", c.RemoteAddr().String(), "their_epoch", theirEpoch, "err", err)
		return
	}
	now := time.Now().UnixNano()
	if last := s.probeLogNs.Load(); now-last >= int64(probeLogEvery) && s.probeLogNs.CompareAndSwap(last, now) {
		s.log.Info("probe answered; the connection is closed, the standby's is untouched", "remote", c.RemoteAddr().String(),
			"their_epoch", theirEpoch, "epoch", epoch, "shipped", s.shipped.Load(), "published", s.published())
	}
}

// serve runs one standby connection from its hello (h, read by open):
// handshake, then a reader for acks and heartbeats beside the writer loop.
func (s *Sender) serve(sb *standbyConn, fr *frameReader, h hello) error {
	ours := s.opts.History.Entries()
	epoch := s.opts.History.Current()
	keep, snap, err := s.handshake(sb.conn, h, ours, epoch)
	if snap != nil {
		defer snap.file.Close()
	}
	if err != nil {
		return err
	}
	if keep < h.last {
		s.log.Warn("standby holds seqs that this primary's history does not: it discards them and reconnects", "standby", sb.String(), "first_seq", keep+1, "last_seq", h.last)
		return nil
	}
	holdsAll, err := s.attach(sb, keep, snap)
	if err != nil {
		return err
	}
	s.connections.Add(1)
	s.log.Info("standby connected", "standby", sb.String(), "seq", h.last, "epoch", epoch, "shipped", s.shipped.Load())
	if holdsAll {
		s.log.Info("standby caught up", "standby", sb.String(), "seq", keep)
	}
	return s.stream(sb, fr, keep, snap, epoch)
}

// handshake answers a standby's hello h on c, this primary's history being
// ours at epoch. It refuses a standby that knows a newer epoch, or one
// that needs a seq before this primary's journal with no snapshot to
// send it, and fails one ahead of what was shipped; otherwise it welcomes
// it with keep, the end of what its history shares with ours. A standby
// that holds seqs past keep is to discard them (keep < h.last). One that
// needs a seq before the journal gets snap, the snapshot to send first,
// open: the caller closes snap.file, which is returned even with a failed
// welcome.
func (s *Sender) handshake(c net.Conn, h hello, ours []Epoch, epoch uint64) (keep int64, snap *snapshotPlan, err error) {
	keep, newer := agreement(ours, h.theirs, h.last)
	if newer {
		return 0, nil, s.refuse(c, epoch, RefuseStale, fmt.Sprintf("the standby knows epoch %d, this primary only %d: %s", h.theirs[len(h.theirs)-1].Epoch, epoch, staleRefusal))
	}
	if shipped := s.shipped.Load(); keep > shipped {
		return 0, nil, fmt.Errorf("standby at seq %d (epoch %d) is ahead of this primary at %d in the same history", keep, epoch, shipped)
	}
	if keep >= h.last {
		var reason string
		if snap, reason, err = s.planSnapshot(keep + 1); err != nil {
			return 0, nil, err
		}
		if reason != "" {
			return 0, snap, s.refuse(c, epoch, RefuseNoSnapshot, reason)
		}
	}
	var fw frameWriter
	fw.begin(typeWelcome, epoch)
	fw.u64(uint64(keep))
	fw.history(ours)
	_, err = c.Write(fw.finish())
	return keep, snap, err
}

// attach makes the welcomed sb a served standby that holds keep, unless a
// newer connection of the same standby replaced it. It says whether sb
// holds everything shipped with no snapshot to be sent first (snap nil):
// caught up now.
func (s *Sender) attach(sb *standbyConn, keep int64, snap *snapshotPlan) (holdsAll bool, err error) {
	s.mu.Lock()
	if !s.current(sb) {
		s.mu.Unlock()
		return false, errors.New("replaced by a newer connection of the same standby")
	}
	sb.acked.Store(keep)
	// A standby that holds everything shipped (it reconnected, or is the
	// old primary back as standby) has nothing to acknowledge: it is
	// caught up now, not at the next record, which may be a day away.
	holdsAll = snap == nil && keep >= s.shipped.Load()
	sb.caughtUp.Store(holdsAll)
	sb.ready.Store(true)
	had, counted := s.held[sb.name]
	if counted {
		s.held[sb.name] = keep // what it holds now, not what an older connection said
	}
	s.recount() // keep may cover a batch whose ack the last connection lost
	s.mu.Unlock()
	if counted && keep < had && s.opts.Behind != nil {
		s.opts.Behind(sb.name, keep, had)
	}
	return holdsAll, nil
}

// stream serves an attached standby that holds keep: a reader of its acks
// and heartbeats runs beside the writer, which sends snap first, if not
// nil, then the records after it (else those after keep). Either's end
// closes the connection; stream returns once both have ended.
func (s *Sender) stream(sb *standbyConn, fr *frameReader, keep int64, snap *snapshotPlan, epoch uint64) error {
	c := sb.conn
	timeout := time.Duration(s.opts.TimeoutMs) * time.Millisecond
	done := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() { done <- s.readAcks(sb, fr, timeout); close(readerDone) }()
	cursor := keep + 1
	var werr error
	if snap != nil {
		s.log.Info("standby needs a seq before this primary's journal: sending the snapshot, then the records after it", "standby", sb.String(), "seq", cursor,
			"journal_first_seq", snap.journalFirst, "snapshot_seq", snap.file.Seq, "bytes", snap.file.Size, "state_hash", fmt.Sprintf("%016x", snap.file.Hash))
		werr = s.sendSnapshot(c, snap.file, epoch)
		cursor = snap.file.Seq + 1
	}
	if werr == nil {
		werr = s.writeLoop(sb, cursor, epoch, readerDone)
	}
	c.Close()
	<-readerDone
	if rerr := <-done; rerr != nil && !errors.Is(werr, ErrClosed) {
		return rerr
	}
	return werr
}

// readAcks takes the standby's acks and heartbeats until the connection
// ends. An ack counts only while its connection (sb) is served, checked
// and stored under mu: an ack still buffered from a replaced connection
// never counts toward the one that replaced it.
func (s *Sender) readAcks(sb *standbyConn, fr *frameReader, timeout time.Duration) error {
	c := sb.conn
	for {
		c.SetReadDeadline(time.Now().Add(timeout))
		f, err := fr.next()
		if err != nil {
			return err
		}
		if f.typ != typeAck && f.typ != typeHeartbeat {
			return fmt.Errorf("unexpected frame type %d from the standby", f.typ)
		}
		br := bodyReader{b: f.body}
		seq := int64(br.u64())
		if br.err != nil {
			return br.err
		}
		if seq > sb.acked.Load() {
			if seq > s.shipped.Load() {
				return fmt.Errorf("standby acknowledged seq %d, beyond what was shipped (%d)", seq, s.shipped.Load())
			}
			s.mu.Lock()
			if !s.current(sb) {
				s.mu.Unlock()
				return errors.New("replaced by a newer connection of the same standby")
			}
			sb.acked.Store(seq)
			caughtUp := !sb.caughtUp.Load() && seq >= s.shipped.Load()
			if caughtUp {
				sb.caughtUp.Store(true)
			}
			s.recount()
			s.mu.Unlock()
			if caughtUp {
				s.log.Info("standby caught up", "standby", sb.String(), "seq", seq)
			}
		}
	}
}

// writeLoop streams from cursor on: from the journal while the cursor is
// older than the window, then from the window; heartbeats when idle.
func (s *Sender) writeLoop(sb *standbyConn, cursor int64, epoch uint64, readerDone <-chan struct{}) error {
	c := sb.conn
	heartbeat := time.NewTicker(time.Duration(s.opts.HeartbeatMs) * time.Millisecond)
	defer heartbeat.Stop()
	var fw frameWriter
	var marks []int64
	write := func(b []byte) error {
		c.SetWriteDeadline(time.Now().Add(time.Duration(s.opts.TimeoutMs) * time.Millisecond))
		_, err := c.Write(b)
		return err
	}
	sendHeartbeat := func() error {
		fw.begin(typeHeartbeat, epoch)
		fw.u64(uint64(s.shipped.Load()))
		fw.u64(uint64(s.published()))
		if s.opts.Delivered != nil {
			marks = s.opts.Delivered(marks[:0])
			fw.u32(uint32(len(marks)))
			for _, m := range marks {
				fw.u64(uint64(m))
			}
		}
		return write(fw.finish())
	}
	for {
		select {
		case <-s.closing:
			return ErrClosed
		case <-readerDone:
			return nil
		case <-heartbeat.C:
			// Also while streaming: the heartbeat carries the published
			// seq, which a busy stream would otherwise never update.
			if err := sendHeartbeat(); err != nil {
				return err
			}
		default:
		}
		s.mu.Lock()
		first, next := s.winFirst, s.winNext
		if cursor >= first && cursor < next {
			end := min(next, cursor+liveFrameRecords)
			fw.begin(typeRecords, epoch)
			fw.u64(uint64(cursor))
			fw.u32(uint32(end - cursor))
			fw.u64(uint64(next - 1))
			w := int64(len(s.win))
			for seq := cursor; seq < end; seq++ {
				fw.bytes(s.win[seq%w])
			}
			s.mu.Unlock()
			if err := write(fw.finish()); err != nil {
				return err
			}
			cursor = end
			continue
		}
		s.mu.Unlock()
		if cursor < first {
			n, err := s.catchUp(write, &fw, cursor, first, epoch)
			if err != nil {
				return err
			}
			if n == 0 { // the journal has not got there yet
				time.Sleep(time.Millisecond)
			}
			cursor += n
			continue
		}
		select {
		case <-sb.data:
		case <-heartbeat.C:
			if err := sendHeartbeat(); err != nil {
				return err
			}
		case <-readerDone:
			return nil
		case <-s.closing:
			return ErrClosed
		}
	}
}

// snapshotPlan is a snapshot chosen for a standby the journal cannot serve.
type snapshotPlan struct {
	file         *journal.SnapshotFile // verified and open: sent from disk a chunk at a time
	journalFirst int64                 // the first seq the journal holds
}

// planSnapshot decides how a standby whose next seq is next is served. When
// the window or the journal holds next, it returns nil (the write loop
// streams records from next). When the journal begins after next (its
// oldest segments were removed), it returns a snapshot beside the journal
// that the journal holds the seq after, open (the caller closes
// plan.file): the newest at or before RebuildFrom, else the oldest (logged:
// the standby then cannot rebuild every report a broker may lack); when
// there is no such snapshot, reason says why the standby cannot be served.
func (s *Sender) planSnapshot(next int64) (plan *snapshotPlan, reason string, err error) {
	s.mu.Lock()
	winFirst := s.winFirst
	s.mu.Unlock()
	if next >= winFirst {
		return nil, "", nil
	}
	first, err := journal.FirstSeq(s.opts.JournalDir)
	if err != nil {
		return nil, "", err
	}
	if first == 0 {
		first = winFirst // nothing journaled before the window
	}
	if next >= first {
		return nil, "", nil
	}
	rebuildFrom := int64(math.MaxInt64)
	if s.opts.RebuildFrom != nil {
		rebuildFrom = s.opts.RebuildFrom()
	}
	snap, ok, err := journal.OpenSnapshotToReplay(s.opts.JournalDir, rebuildFrom)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, noSnapshotReason(s.opts.JournalDir, next, first), nil
	}
	if snap.Seq > rebuildFrom {
		s.log.Error("REPORTS CANNOT BE REBUILT: a broker may lack reports of commands after rebuild_from, but this primary's journal "+
			"can rebuild events only after its oldest snapshot: the standby gets that one, and, promoted, cannot resend the reports in between either",
			"rebuild_from", rebuildFrom, "snapshot_seq", snap.Seq, "journal_first_seq", first)
	}
	return &snapshotPlan{file: snap, journalFirst: first}, "", nil
}

// noSnapshotReason says why a standby whose next seq is next cannot be
// sent a snapshot by a primary whose journal begins at first.
func noSnapshotReason(dir string, next, first int64) string {
	behind := fmt.Sprintf("the standby needs seq %d, but this primary's journal begins at seq %d (older segments were removed)", next, first)
	const seed = ": seed the standby with a copy of the primary's data folder, or let the primary take a checkpoint first"
	if snap, ok, _ := journal.OpenLatestSnapshot(dir); ok {
		snap.Close()
		return fmt.Sprintf("%s and its newest valid snapshot, at seq %d, is older than that%s", behind, snap.Seq, seed)
	}
	return behind + " and no valid snapshot is beside it" + seed
}

// snapshotChunkBytes bounds the state carried by one snapshot frame, well
// under MaxFrameBytes.
const snapshotChunkBytes = 4 << 20

// sendSnapshot sends a snapshot as snapshot frames of snapshotChunkBytes at
// most, each read from the file just before it is sent, so that the
// primary holds one chunk whatever the snapshot's size: at least one frame,
// so that an empty state is sent too. A long one logs its progress every
// few seconds and a summary line.
func (s *Sender) sendSnapshot(c net.Conn, snap *journal.SnapshotFile, epoch uint64) error {
	var fw frameWriter
	start := time.Now()
	lastLog := start
	for off := int64(0); ; {
		n := min(snap.Size-off, snapshotChunkBytes)
		fw.begin(typeSnapshot, epoch)
		fw.u64(uint64(snap.Seq))
		fw.u64(snap.Hash)
		fw.u64(uint64(snap.Size))
		fw.u64(uint64(off))
		chunk := len(fw.buf)
		fw.buf = slices.Grow(fw.buf, int(n))[:chunk+int(n)]
		if _, err := snap.ReadAt(fw.buf[chunk:], off); err != nil && n > 0 {
			return fmt.Errorf("read the snapshot at seq %d at offset %d: %w", snap.Seq, off, err)
		}
		c.SetWriteDeadline(time.Now().Add(time.Duration(s.opts.TimeoutMs) * time.Millisecond))
		if _, err := c.Write(fw.finish()); err != nil {
			return fmt.Errorf("send the snapshot at seq %d: %w", snap.Seq, err)
		}
		if s.isClosing() {
			return ErrClosed
		}
		if off += n; off == snap.Size {
			if took := time.Since(start); took > 2*time.Second {
				s.log.Info("sent the snapshot", "seq", snap.Seq, "bytes", snap.Size, "took", took.Round(time.Millisecond), "mib_per_s", float64(snap.Size)/(1<<20)/took.Seconds())
			}
			return nil
		}
		if time.Since(lastLog) > 2*time.Second {
			s.log.Info("sending the snapshot", "seq", snap.Seq, "sent_bytes", off, "bytes", snap.Size)
			lastLog = time.Now()
		}
	}
}

var errStop = errors.New("stop")

// catchUp sends records [from, until) from the journal, as far as it has
// them, in frames of catchUpFrameRecords, and returns how many it sent.
func (s *Sender) catchUp(write func([]byte) error, fw *frameWriter, from, until int64, epoch uint64) (int64, error) {
	start, sent := time.Now(), int64(0)
	lastLog := start
	count := 0
	flush := func() error {
		if count == 0 {
			return nil
		}
		binary32(fw.buf[frameHeaderBytes+8:], uint32(count))
		if err := write(fw.finish()); err != nil {
			return err
		}
		sent += int64(count)
		count = 0
		return nil
	}
	err := journal.Read(s.opts.JournalDir, from, func(seq int64, rec []byte) error {
		if seq >= until {
			return errStop
		}
		if seq != from+sent+int64(count) {
			return fmt.Errorf("journal gave seq %d, want %d", seq, from+sent+int64(count))
		}
		if count == 0 {
			fw.begin(typeRecords, epoch)
			fw.u64(uint64(seq))
			fw.u32(0)
			fw.u64(uint64(s.shipped.Load()))
		}
		fw.bytes(rec)
		count++
		if count == catchUpFrameRecords || fw.bodyLen() > MaxFrameBytes/2 {
			if err := flush(); err != nil {
				return err
			}
			if time.Since(lastLog) > 2*time.Second {
				s.log.Info("catch-up in progress", "first_seq", from, "last_seq", from+sent-1, "records_per_s", float64(sent)/time.Since(start).Seconds())
				lastLog = time.Now()
			}
		}
		select {
		case <-s.closing:
			return ErrClosed
		default:
		}
		return nil
	})
	if err != nil && err != errStop {
		return sent, fmt.Errorf("catch-up from the journal at seq %d: %w", from+sent, err)
	}
	if err := flush(); err != nil {
		return sent, err
	}
	if sent > 1000 {
		s.log.Info("catch-up: sent records from the journal", "records", sent, "first_seq", from, "last_seq", from+sent-1,
			"took", time.Since(start).Round(time.Millisecond), "records_per_s", float64(sent)/time.Since(start).Seconds())
	}
	return sent, nil
}

func binary32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
