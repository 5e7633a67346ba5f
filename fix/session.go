package fix

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStopped is returned by Send after the Acceptor has stopped.
var ErrStopped = errors.New("fix: acceptor stopped")

// A Session is one configured counterparty: a BeginString and the broker's
// TargetCompID. It outlives connections: its sequence numbers and outbound
// messages persist in its store across reconnects and restarts.
//
// Outbound, Send encodes the message (header, MsgSeqNum, SendingTime,
// BodyLength, CheckSum) into the session's queue under a short lock and
// wakes the session's writer goroutine, which takes everything queued,
// appends it to the store with one write and sends it to the socket with
// one write. Send never waits for the network.
type Session struct {
	a      *Acceptor
	cfg    SessionConfig
	dict   *Dictionary
	id     string
	sender string
	log    *slog.Logger

	resendReqs atomic.Int64 // ResendRequests received (ResendRequests)
	throttled  atomic.Int64 // application messages refused by the throttle (Throttled)

	mu         sync.Mutex
	nextOut    int
	conn       net.Conn // the attached connection; nil when none
	loggedOn   bool
	pending    []byte   // encoded messages for conn, not yet written
	pendMark   int64    // the mark of the last marked message in pending; 0: none
	pendRuns   []seqRun // the MsgSeqNums in pending, for delivery
	pendTorn   int      // pending begins with this many bytes ending a message a cut write began (writeOut): they go first
	pendProbe  bool     // the last message in pending is a probe (sendProbe): the next begins a run
	spareRuns  []seqRun
	spare      []byte
	storeBuf   []byte // encoded messages for the store, not yet written
	storeSpare []byte
	storeBase  int64    // store offset of storeBuf[0]
	storeMark  int64    // the highest mark queued for the store, or noted by MarkStored (storemark.go)
	closeAfter net.Conn // close once what is pending has been written
	stopped    bool
	// closing: the attached connection is closed (a slow consumer) or its
	// reader is detaching. Messages go to the store only, and no other
	// connection attaches until that reader is done with the session.
	closing   bool
	detached  chan struct{} // closed when the attached connection's reader is done
	loggedOut bool          // our Logout is queued for the attached connection

	flushMu sync.Mutex // one flush (store write + socket write) at a time; taken before mu
	st      *store
	// storeFailed: a write to st failed; it is written no more, and
	// nothing unstored reaches the counterparty (see store).
	storeFailed atomic.Bool
	wake        chan struct{}
	done        chan struct{}
	writerDone  chan struct{}
	lastSentNs  atomic.Int64
	resendBuf   []byte
	resendMsg   Message
	// stream: the resend under way, ahead of the socket queue (stream.go);
	// the reader starts it, the writer advances it, both with flushMu held.
	stream    resendStream
	notStored []byte    // scratch: a market-data message the store keeps a Heartbeat for (storeLocked)
	carryHead []byte    // scratch: a carried message's header (requeueLocked)
	ackBuf    []byte    // scratch: the message at the acknowledged watermark
	ackedAt   time.Time // flush: when the watermark was last written
	delivery  delivery
}

// ID names the session: "FIX.4.4:ISLD->TW".
func (s *Session) ID() string { return s.id }

// BeginString is the session's FIX version.
func (s *Session) BeginString() string { return s.cfg.BeginString }

// TargetCompID is the counterparty's CompID.
func (s *Session) TargetCompID() string { return s.cfg.TargetCompID }

// LoggedOn reports whether a connection is logged on now: what Send queues
// goes to it. False from the moment a Logout to it is queued.
func (s *Session) LoggedOn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loggedOn
}

// NextSeqNums returns the next outbound MsgSeqNum and the next inbound one
// last persisted.
func (s *Session) NextSeqNums() (out, in int) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextOut, s.st.nextIn
}

// Send queues an application message (ExecutionReport and the like) with
// body as its body, and returns at once; safe from any goroutine. The
// message takes the next MsgSeqNum and goes to the store whether or not the
// session is logged on: a counterparty that reconnects asks for what it
// missed with ResendRequest. body is copied; it can be reused at once.
//
// A session whose unsent queue exceeds Config.OutQueueMaxBytes is a slow
// consumer: its connection is closed (OnLogout follows) and what was queued
// stays in the store for resend. A resend under way goes first and is not
// counted: its state is the session's stream, which the writer advances
// from the store a piece at a time (stream.go); Send only queues behind
// it. Send never blocks on the counterparty.
//
// Hot path: allocates nothing once the queues have grown.
func (s *Session) Send(msgType string, body *Fields) error {
	return s.SendMarked(msgType, nil, body, 0)
}

// SendWithHeader is Send with extra header fields, written after
// TargetCompID(56) in the order given (PossResend(97), DeliverToCompID(128)).
func (s *Session) SendWithHeader(msgType string, header, body *Fields) error {
	return s.SendMarked(msgType, header, body, 0)
}

// Queued is how many bytes wait for the connection's socket: what the
// slow-consumer bound (Config.OutQueueMaxBytes) counts. A resend under
// way, read from the store a piece at a time ahead of them (stream.go),
// is not among them.
func (s *Session) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// SendMarked is SendWithHeader for a message tagged with mark, a number
// greater than 0 that only grows within the session; Delivered says when
// the counterparty has it. A message queued while no connection is logged
// on carries no mark: it reaches the counterparty only by a resend.
func (s *Session) SendMarked(msgType string, header, body *Fields, mark int64) error {
	var h, b []byte
	if header != nil {
		h = header.b
	}
	if body != nil {
		b = body.b
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	seq := int64(s.nextOut)
	switch {
	case !s.queueLocked(msgType, h, b, s.loggedOn):
		if mark > 0 {
			s.delivery.missed(mark, seq) // no connection: one lock more, off the hot path
		}
	case mark > 0:
		s.pendMark = mark
	}
	s.storeMark = max(s.storeMark, mark)
	s.mu.Unlock()
	s.signal()
	return nil
}

// Logout sends Logout with text and disconnects once it is written.
func (s *Session) Logout(text string) {
	var f Fields
	if text != "" {
		f.AddString(tagText, text)
	}
	s.mu.Lock()
	if s.conn != nil && !s.stopped {
		s.queueLogoutLocked(f.b)
		s.closeAfter = s.conn
	}
	s.mu.Unlock()
	s.signal()
}

// sendAdmin queues a session-level message for the attached connection,
// logged on or not.
func (s *Session) sendAdmin(msgType string, header, body []byte) {
	s.mu.Lock()
	if !s.stopped {
		s.queueLocked(msgType, header, body, true)
	}
	s.mu.Unlock()
	s.signal()
}

// queueLogoutLocked queues a Logout for the attached connection and, in the
// same step, stops sending it application messages: the counterparty's
// engine drops whatever follows its Logout, and such a message, written and
// acknowledged by its TCP stack, would count as delivered. What is sent
// from here on is stored and reaches the counterparty by resend.
func (s *Session) queueLogoutLocked(body []byte) {
	s.queueLocked("5", nil, body, true)
	s.loggedOn = false
	s.loggedOut = true
}

// sendLogout is queueLogoutLocked for the reader.
func (s *Session) sendLogout(body []byte) {
	s.mu.Lock()
	if !s.stopped {
		s.queueLogoutLocked(body)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// queueLocked encodes one message with the next MsgSeqNum into the store
// queue and, when toConn and a connection is attached, the socket queue;
// it reports whether the message is in the socket queue.
func (s *Session) queueLocked(msgType string, header, body []byte, toConn bool) bool {
	seq := s.nextOut
	msg := s.storeLocked(msgType, header, body)
	if !toConn || s.conn == nil || s.closing {
		return false
	}
	// An application message of a session that marks them counts once
	// confirmed (delivery.go); one never resent nor carried over
	// (Config.NotResent) needs none.
	s.pendLocked(msg, seq, seq, s.storeMark > 0 && !isAdminType(msgType) && !s.a.notResent(msgType))
	// Only an application message judges the queue: a session message (a
	// probe, a Heartbeat) queued behind a resend the broker asked for,
	// however long, is not the broker falling behind.
	if !isAdminType(msgType) && len(s.pending) > s.a.cfg.OutQueueMaxBytes {
		s.log.Warn("slow consumer: disconnecting; queued messages stay in the store for resend",
			"session", s.id, "queued_bytes", len(s.pending))
		// The connection stays attached, closed, until its reader has
		// detached (and called OnLogout): a reconnect meanwhile is
		// refused, so two readers never share the session.
		s.closing = true
		s.delivery.settle() // while the socket can still say
		s.conn.Close()
		s.loggedOn = false
		s.dropPendingLocked()
		return false
	}
	return true
}

// storeLocked encodes one message with the next MsgSeqNum into the store
// queue and returns it (valid until the next append to the queue).
func (s *Session) storeLocked(msgType string, header, body []byte) []byte {
	seq := s.nextOut
	s.nextOut++
	now := time.Now()
	start := len(s.storeBuf)
	if s.a.notResent(msgType) {
		// A resend gap-fills it: the store keeps a Heartbeat in its
		// place, which holds its MsgSeqNum without its bytes; the
		// message itself is encoded into scratch.
		s.storeBuf = s.encode(s.storeBuf, "0", seq, now, nil, nil, nil)
		s.st.reserve(seq, len(s.storeBuf)-start)
		s.notStored = s.encode(s.notStored[:0], msgType, seq, now, nil, header, body)
		return s.notStored
	}
	s.storeBuf = s.encode(s.storeBuf, msgType, seq, now, nil, header, body)
	s.st.reserve(seq, len(s.storeBuf)-start)
	return s.storeBuf[start:]
}

// pendLocked appends msg, which holds MsgSeqNums lo..hi (app: application
// messages among them), to the socket queue.
//
// Hot path: allocates nothing once the queues have grown.
func (s *Session) pendLocked(msg []byte, lo, hi int, app bool) {
	s.pending = append(s.pending, msg...)
	s.pendRuns = appendRun(s.pendRuns, lo, hi, app, !s.pendProbe)
	s.pendProbe = false
}

// appendRun adds MsgSeqNums lo..hi (app: application messages among them)
// to runs: to the last run when they follow on from it and join, else as
// a run of their own.
//
// Hot path: allocates nothing once runs has grown.
func appendRun(runs []seqRun, lo, hi int, app, join bool) []seqRun {
	if n := len(runs); n > 0 && runs[n-1].hi+1 == int64(lo) && join {
		runs[n-1].hi = int64(hi)
		runs[n-1].app = runs[n-1].app || app
		return runs
	}
	return append(runs, seqRun{int64(lo), int64(hi), app})
}

// sendProbe queues a TestRequest for the logged-on connection, when one
// is due (delivery.unconfirmed), and records it as the outstanding probe
// (delivery.go: confirmation). The writer's.
func (s *Session) sendProbe() {
	s.mu.Lock()
	if s.stopped || s.conn == nil || s.closing || s.loggedOut || !s.loggedOn || !s.delivery.unconfirmed() {
		s.mu.Unlock()
		return
	}
	seq := s.nextOut
	n := s.delivery.probe(int64(seq))
	var buf [32]byte
	body := append(buf[:0], "112="+probeIDPrefix...)
	body = strconv.AppendInt(body, n, 10)
	body = append(body, soh)
	if s.queueLocked("1", nil, body, true) {
		s.pendProbe = true // the run ends with it: its answer covers what came before
	}
	s.mu.Unlock()
	s.signal()
}

// confirming reports whether the logged-on connection has messages
// queued for it, or reports written that its broker's engine has not
// confirmed (confirmBeforeStop).
func (s *Session) confirming() bool {
	s.mu.Lock()
	on := s.conn != nil && s.loggedOn && !s.loggedOut && !s.closing && !s.stopped
	queued := len(s.pending) > 0 || s.streamingLocked()
	s.mu.Unlock()
	return on && (queued || s.delivery.confirming())
}

// dropPendingLocked empties the socket queue and forgets its mark: what it
// held was written, or is not going to be (a hole, delivery.go).
func (s *Session) dropPendingLocked() {
	s.delivery.lost(s.pendMark, s.pendRuns)
	s.pending, s.pendMark, s.pendRuns, s.pendTorn = s.pending[:0], 0, s.pendRuns[:0], 0
}

// encode appends a whole message: 8, 9, 35, 34, [43=Y], 49, 52, 56, the
// extra header fields with [122=origTime] in tag order, body, 10.
func (s *Session) encode(dst []byte, msgType string, seq int, now time.Time, origTime, header, body []byte) []byte {
	return appendMessage(dst, s.cfg.BeginString, s.sender, s.cfg.TargetCompID, msgType, seq, now, origTime, header, body)
}

// appendMessage encodes a whole message from sender to target.
//
// Hot path: allocates nothing.
func appendMessage(dst []byte, beginString, sender, target, msgType string, seq int, now time.Time, origTime, header, body []byte) []byte {
	var seqBuf [20]byte
	seqStr := strconv.AppendInt(seqBuf[:0], int64(seq), 10)
	bodyLen := 3 + len(msgType) + 1 + 3 + len(seqStr) + 1 + 3 + len(sender) + 1 + 3 + 21 + 1 +
		3 + len(target) + 1 + len(header) + len(body)
	if origTime != nil {
		bodyLen += 5 + 4 + len(origTime) + 1
	}
	start := len(dst)
	dst = append(dst, "8="...)
	dst = append(dst, beginString...)
	dst = append(dst, "\x019="...)
	dst = strconv.AppendInt(dst, int64(bodyLen), 10)
	dst = append(dst, "\x0135="...)
	dst = append(dst, msgType...)
	dst = append(dst, "\x0134="...)
	dst = append(dst, seqStr...)
	if origTime != nil {
		dst = append(dst, "\x0143=Y"...)
	}
	dst = append(dst, "\x0149="...)
	dst = append(dst, sender...)
	dst = append(dst, "\x0152="...)
	dst = appendTimestamp(dst, now)
	dst = append(dst, "\x0156="...)
	dst = append(dst, target...)
	dst = append(dst, soh)
	if origTime == nil {
		dst = append(dst, header...)
	} else {
		placed := false
		for len(header) > 0 {
			tag, n := leadingTag(header)
			if !placed && tag > tagOrigSendingTime {
				dst = appendOrigTime(dst, origTime)
				placed = true
			}
			dst = append(dst, header[:n]...)
			header = header[n:]
		}
		if !placed {
			dst = appendOrigTime(dst, origTime)
		}
	}
	dst = append(dst, body...)
	sum := checksum(dst[start:])
	return append(dst, '1', '0', '=', byte('0'+sum/100), byte('0'+sum/10%10), byte('0'+sum%10), soh)
}

func appendOrigTime(dst, t []byte) []byte {
	dst = append(dst, "122="...)
	dst = append(dst, t...)
	return append(dst, soh)
}

// leadingTag returns the tag of the first field in b and the field's length.
func leadingTag(b []byte) (tag, n int) {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		tag = tag*10 + int(b[i]-'0')
		i++
	}
	for i < len(b) && b[i] != soh {
		i++
	}
	return tag, min(i+1, len(b))
}

// writeLoop is the session's writer: it sleeps until woken, then flushes;
// while Config.MayDeliver holds the queue it flushes again every
// millisecond.
func (s *Session) writeLoop() {
	defer close(s.writerDone)
	// One timer for the session: a hold retries every millisecond, and a
	// timer each time would allocate at that rate. (Reset needs no drain:
	// since Go 1.23 it discards a value not received.)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var retry <-chan time.Time
	// The probe's timer (delivery.go: confirmation): armed confirmDelay
	// after a flush leaves application messages unconfirmed.
	probeTimer := time.NewTimer(time.Hour)
	probeTimer.Stop()
	defer probeTimer.Stop()
	var probe <-chan time.Time
	for {
		select {
		case <-s.wake:
		case <-retry:
		case <-probe:
			probe = nil
			s.sendProbe()
		case <-s.done:
			s.flush()
			return
		}
		retry = nil
		if s.flush() {
			timer.Reset(time.Millisecond)
			retry = timer.C
		}
		if probe == nil && s.delivery.unconfirmed() {
			probeTimer.Reset(confirmDelay)
			probe = probeTimer.C
		}
	}
}

// keepMax: the writer does not hold on to a buffer of a burst larger.
const keepMax = 1 << 20

// writeTimeout bounds one socket write; a counterparty that does not read
// for this long is disconnected.
const writeTimeout = 30 * time.Second

// flush writes everything queued: the store first, then the socket, so
// that whatever the counterparty can have seen is in the store. It reports
// whether Config.MayDeliver held (some of) the socket queue back (hold).
func (s *Session) flush() (held bool) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if s.stream.conn != nil {
		s.mu.Unlock()
		if more, held := s.streamStep(); more {
			return held // what Send queued waits behind the stream
		}
		s.mu.Lock()
	}
	out, stored, base, mark, runs, storeMark := s.pending, s.storeBuf, s.storeBase, s.pendMark, s.pendRuns, s.storeMark
	loggedOut, torn := s.loggedOut, s.pendTorn
	s.pending, s.storeBuf, s.pendMark, s.pendRuns, s.pendTorn = s.spare[:0], s.storeSpare[:0], 0, s.spareRuns[:0], 0
	// The spares are in use now: until this flush hands back the buffers
	// it writes, none is spare (else a burst past keepMax, not handed
	// back, would leave the spare aliasing the buffer being filled, and
	// the next flush would write a buffer still being appended to).
	s.spare, s.storeSpare, s.spareRuns = nil, nil, nil
	s.storeBase += int64(len(stored))
	conn, closeConn := s.conn, s.closeAfter
	s.closeAfter = nil
	s.mu.Unlock()

	if len(stored) > 0 {
		s.writeStore(stored, base)
	}
	if s.storeFailed.Load() {
		storeMark = 0 // the store may lack them
		if conn != nil {
			// What the store lacks must not reach the counterparty: a restart
			// numbers on from the store (see store).
			s.delivery.lost(mark, runs)
			out = out[:0]
			conn.Close()
		}
	}
	s.writeStoredMark(storeMark)
	bounded := true // by Config.MayDeliver
	if len(out) > 0 && conn != nil && !s.mayWrite() {
		if !loggedOut {
			s.hold(conn, out, 0, torn, mark, runs, closeConn)
			return true
		}
		s.delivery.lost(mark, runs) // stored: resent or carried over on a later logon
		out = adminOnly(out[torn:])
		if torn > 0 {
			// The end of a report a cut write began would complete it
			// now, and nothing can follow on this stream without it:
			// the connection closes without our Logout.
			s.delivery.settle()
			out = out[:0]
			conn.Close()
		}
		// What is written now carries none of the dropped reports: its
		// acknowledgement must not count them delivered. (The admin
		// messages left go untracked, which only holds the acknowledged
		// watermark back: more PossResend copies later, never a loss.)
		mark, runs, bounded = 0, runs[:0], false
	}
	if len(out) > 0 && conn != nil && s.send(conn, out, bounded, torn, mark, runs, closeConn) {
		return true
	}
	if closeConn != nil {
		if err := s.st.sync(); err != nil {
			s.failStore(err)
		}
		closeConn.Close()
	}
	s.mu.Lock()
	if cap(out) <= keepMax {
		s.spare = out[:0]
	}
	if cap(stored) <= keepMax {
		s.storeSpare = stored[:0]
	}
	s.spareRuns = runs[:0]
	s.mu.Unlock()
	return false
}

// send writes out (MsgSeqNums runs, last mark mark, beginning with torn
// bytes that end a message begun before) to conn for flush, bounded by
// Config.MayDeliver with bounded, and records what became of it (sendOut),
// or, when MayDeliver cut the write short, holds the rest at the queue's
// head; it reports the last.
func (s *Session) send(conn net.Conn, out []byte, bounded bool, torn int, mark int64, runs []seqRun, closeConn net.Conn) (held bool) {
	if n, cut, _ := s.sendOut(conn, out, bounded, mark, runs); cut {
		s.hold(conn, out, n, torn, mark, runs, closeConn)
		return true
	}
	return false
}

// sendOut writes out (MsgSeqNums runs, last mark mark) to conn
// (writeOut) and records what became of it: written (delivery.wrote), or
// lost with a failed write, which closes the connection; a write cut short
// (cut, n bytes written) is left to the caller, and counts as neither
// until the rest is written.
func (s *Session) sendOut(conn net.Conn, out []byte, bounded bool, mark int64, runs []seqRun) (n int, cut bool, err error) {
	n, cut, err = s.writeOut(conn, out, bounded)
	s.lastSentNs.Store(time.Now().UnixNano())
	switch {
	case err != nil:
		s.delivery.settle()
		s.delivery.lost(mark, runs)
		conn.Close()
	case !cut:
		s.delivery.wrote(conn, mark, runs)
		s.persistAckedEverySecond()
	}
	return n, cut, err
}

// mayWrite reports whether Config.MayDeliver lets the writer write to the
// socket now.
func (s *Session) mayWrite() bool {
	if s.a.cfg.MayDeliver == nil {
		return true
	}
	_, ok := s.deliverUntil(time.Now())
	return ok
}

// deliverUntil is the deadline Config.MayDeliver sets on socket writes
// from now: zero when it is nil (no bound); ok is false when it lets
// nothing through now.
func (s *Session) deliverUntil(now time.Time) (until time.Time, ok bool) {
	if s.a.cfg.MayDeliver == nil {
		return time.Time{}, true
	}
	until = s.a.cfg.MayDeliver()
	return until, now.Before(until)
}

// writeOut writes out to conn, a piece of writePieceBytes at a time, each
// under writeTimeout, so that a long carry-over or resend on a slow link
// is not cut off as long as it moves. With bounded, Config.MayDeliver is
// asked before each piece and bounds its deadline: when it says no, or
// its deadline cuts a write short, writeOut returns cut with the n bytes
// written (perhaps part of a message): the connection takes the rest
// later. Acceptor.CutWrites (the deadline moved back) cuts a bounded write
// the same way. Over TLS a write cut short is an error instead, since a
// timed out tls.Conn writes no more; err is a failed write.
func (s *Session) writeOut(conn net.Conn, out []byte, bounded bool) (n int, cut bool, err error) {
	cuts := s.a.cuts.Load()
	for n < len(out) {
		now := time.Now()
		deadline := now.Add(writeTimeout)
		guarded := false
		if bounded {
			until, ok := s.deliverUntil(now)
			if !ok {
				return n, true, nil
			}
			if !until.IsZero() && until.Before(deadline) {
				deadline, guarded = until, true
			}
		}
		conn.SetWriteDeadline(deadline)
		if bounded && s.a.cuts.Load() != cuts {
			// CutWrites came after MayDeliver answered: its deadline
			// may be the one just replaced. Ask again.
			cuts = s.a.cuts.Load()
			continue
		}
		k, err := conn.Write(out[n:min(len(out), n+writePieceBytes)])
		n += k
		if err != nil {
			_, isTLS := conn.(*tls.Conn)
			guarded = guarded || bounded && s.a.cuts.Load() != cuts
			if guarded && !isTLS && errors.Is(err, os.ErrDeadlineExceeded) {
				return n, true, nil
			}
			return n, false, err
		}
	}
	return n, false, nil
}

// hold puts out[n:] (out: MsgSeqNums runs, last mark mark, beginning with
// torn bytes that end a message cut short before), which flush took from
// the socket queue for conn and did not write (Config.MayDeliver held it,
// or its deadline cut the write short after n bytes), or which a stream
// that ends encoded and did not write (endStreamLocked), back at the
// queue's head, before what Send queued meanwhile.
// Until all of out is written none of runs counts as written (delivery).
// When conn is no longer attached, nothing is put back: what it held is
// stored, for resend. Cold path: it allocates.
func (s *Session) hold(conn net.Conn, out []byte, n, torn int, mark int64, runs []seqRun, closeConn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdLocked(conn, out, n, torn, mark, runs, closeConn)
}

func (s *Session) holdLocked(conn net.Conn, out []byte, n, torn int, mark int64, runs []seqRun, closeConn net.Conn) {
	if s.conn != conn || s.closing {
		s.delivery.lost(mark, runs)
		return
	}
	s.pending = append(out[n:], s.pending...)
	s.pendRuns = append(runs, s.pendRuns...)
	s.pendTorn = tornAfter(out, torn, n)
	if s.pendMark == 0 {
		s.pendMark = mark
	}
	if s.closeAfter == nil {
		s.closeAfter = closeConn
	}
}

// tornAfter is how many bytes of out, after its first n were written, end
// a message that those n bytes began; out begins with torn bytes that end
// a message begun earlier, then whole messages.
func tornAfter(out []byte, torn, n int) int {
	if n <= torn {
		return torn - n
	}
	off := torn
	for off < n {
		_, size, _ := frame(out[off:], len(out)-off)
		if size == 0 {
			return 0 // not reached: out holds whole messages we encoded
		}
		off += size
	}
	return off - n
}

// adminOnly keeps, in place, the session messages of out (whole encoded
// messages): our Logout, and heartbeats before it.
func adminOnly(out []byte) []byte {
	var m Message
	kept := out[:0]
	for rest := out; len(rest) > 0; {
		_, n, _ := frame(rest, len(rest))
		if n == 0 || m.parse(rest[:n]) != nil {
			break
		}
		if isAdminMsgType(m.MsgType()) {
			kept = append(kept, rest[:n]...)
		}
		rest = rest[n:]
	}
	return kept
}

// persistAckedEverySecond writes the acknowledged watermark (delivery.go)
// when the last write is a second old. The writer's flush, flushMu held.
func (s *Session) persistAckedEverySecond() {
	if now := time.Now(); now.Sub(s.ackedAt) >= time.Second {
		s.ackedAt = now
		s.delivery.settle()
		s.mu.Lock()
		s.persistAckedLocked()
		s.mu.Unlock()
	}
}

// resetLocked starts both sequence numbers again at 1 and empties the
// store queue; flushMu and mu are held (answerLogon does it in the same
// step as the reply). What the counterparty has not had, undeliveredLocked
// takes first. The store's files keep what they hold until
// commitResetLocked replaces it with what is queued from here on.
func (s *Session) resetLocked() {
	s.endStreamLocked() // its MsgSeqNums are the old numbering's
	s.st.clear()
	s.nextOut = 1
	s.storeBuf = s.storeBuf[:0]
	s.storeBase = 0
	s.storeMark = s.st.markVal // what was queued, and not written, is dropped
	torn := s.pendTorn
	s.dropPendingLocked()
	// The end of a message a cut write began still goes first: the reply
	// must not land inside it.
	s.pending, s.pendTorn = s.pending[:torn], torn
	s.delivery.reset()
	s.persistAckedLocked()
}

// commitResetLocked makes what the store queue holds since resetLocked
// (the Logon reply, the carried messages) all the store holds, in one
// step a crash cannot split (store.reset), before any of it reaches the
// socket. flushMu and mu are held.
func (s *Session) commitResetLocked() {
	if s.storeFailed.Load() {
		s.a.storeFailed(s, errStoreFailedBefore)
	} else if err := s.st.reset(s.storeBuf); err != nil {
		s.failStore(fmt.Errorf("sequence reset: %w", err))
	}
	s.storeBase += int64(len(s.storeBuf))
	s.storeBuf = s.storeBuf[:0]
}

// undeliveredLocked appends to dst, one after another as stored, the
// application messages of the store that the counterparty's TCP stack
// has not acknowledged (delivery.go): those sent while it was logged out,
// those in flight when its connection ended, everything stored before a
// restart. A sequence reset carries them over (requeueLocked). Cold path;
// flushMu and mu are held.
func (s *Session) undeliveredLocked(dst []byte) []byte {
	s.writeStoreLocked()
	d := &s.delivery
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	m := &s.resendMsg
	for seq := 1; seq < s.nextOut; seq++ {
		if d.ackedLocked(seq) {
			continue
		}
		raw := s.st.read(seq, s.resendBuf)
		if raw != nil && s.st.msgs != nil {
			s.resendBuf = raw
		}
		if raw == nil || m.parse(raw) != nil || isAdminMsgType(m.MsgType()) {
			continue
		}
		dst = append(dst, raw...)
	}
	return dst
}

// requeueLocked stores the messages of carried (undeliveredLocked) again,
// after a sequence reset: each with the next MsgSeqNum, its header and body
// as stored, and PossResend(97)=Y, since the counterparty may have had it
// under its old number. They go to the store queue; the caller streams
// them to the socket, as stored (stream.go). It returns how many. Cold
// path; flushMu and mu are held.
func (s *Session) requeueLocked(carried []byte) (n int) {
	m := &s.resendMsg
	first := int64(s.nextOut)
	for len(carried) > 0 {
		_, size, _ := frame(carried, len(carried))
		raw := carried[:size]
		carried = carried[size:]
		if size == 0 || m.parse(raw) != nil {
			s.log.Error("carried message unreadable; dropped", "session", s.id, "bytes", len(raw))
			break
		}
		header, body := storedParts(m)
		s.carryHead = withPossResend(s.carryHead[:0], header)
		s.storeLocked(string(m.MsgType()), s.carryHead, body)
		n++
	}
	s.delivery.carried(first, int64(s.nextOut-1))
	return n
}

// storedParts splits stored message m (8 9 35 34 49 52 56, extra header
// fields, body, 10) into its extra header fields and its body.
func storedParts(m *Message) (header, body []byte) {
	i := int(m.iTarget) + 1
	hStart := fieldStart(m, i)
	for i < len(m.fields)-1 && IsHeaderTag(int(m.fields[i].tag)) {
		i++
	}
	hEnd := fieldStart(m, i)
	bEnd := fieldStart(m, len(m.fields)-1)
	return m.raw[hStart:hEnd], m.raw[hEnd:bEnd]
}

// withPossResend appends header to dst with PossResend(97)=Y in tag order,
// unless header has it already.
func withPossResend(dst, header []byte) []byte {
	const possResend = "97=Y\x01"
	placed := false
	for rest := header; len(rest) > 0; {
		tag, n := leadingTag(rest)
		if tag == tagPossResend {
			placed = true // as stored: a report resent after a failover
		} else if !placed && tag > tagPossResend {
			dst = append(dst, possResend...)
			placed = true
		}
		dst = append(dst, rest[:n]...)
		rest = rest[n:]
	}
	if !placed {
		dst = append(dst, possResend...)
	}
	return dst
}

// resend answers a ResendRequest for [begin, end] (end 0: everything): the
// stored application messages again with PossDupFlag=Y and
// OrigSendingTime, and a SequenceReset-GapFill over each run of session
// messages (and of messages the store does not have, and of the types
// Config.NotResent names), streamed by the writer a piece at a time
// (stream.go), after what the socket queue holds now and before what is
// queued later. The reader's; cold path.
func (s *Session) resend(begin, end int) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.closing || s.storeFailed.Load() {
		return
	}
	if end <= 0 || end >= s.nextOut || (s.cfg.BeginString == "FIX.4.2" && end == 999999) {
		end = s.nextOut - 1
	}
	begin = max(begin, 1)
	if begin <= s.nextOut { // past everything sent, it says nothing of what the broker has
		s.delivery.hadBefore(int64(begin))
	}
	s.delivery.resent(int64(begin), int64(end))
	if begin > end || s.loggedOut { // nothing goes after our Logout
		return
	}
	s.startStreamLocked(begin, end, false)
	s.signal()
}

// writeStoreLocked writes what the store queue holds, so that every
// message sent is readable from the store.
func (s *Session) writeStoreLocked() {
	if len(s.storeBuf) > 0 {
		s.writeStore(s.storeBuf, s.storeBase) // a failure fails the store (store)
		s.storeBase += int64(len(s.storeBuf))
		s.storeBuf = s.storeBuf[:0]
	}
}

// writePieceBytes is how much writeOut writes under one writeTimeout.
const writePieceBytes = 1 << 20

func (s *Session) encodeGapFill(dst []byte, seq, newSeq int, now time.Time) []byte {
	var body Fields
	var buf [32]byte
	body.b = buf[:0]
	body.AddInt(tagNewSeqNo, int64(newSeq))
	body.AddChar(tagGapFillFlag, 'Y')
	ts := appendTimestamp(make([]byte, 0, 24), now)
	return s.encode(dst, "4", seq, now, ts, nil, body.b)
}

// encodeResent rebuilds stored message m for a resend.
func (s *Session) encodeResent(dst []byte, m *Message, now time.Time, ts []byte) []byte {
	orig := append(ts, m.idx(m.iSendingTime)...)
	header, body := storedParts(m)
	return s.encode(dst, string(m.MsgType()), m.seqNum, now, orig, header, body)
}

// fieldStart is where field i (its tag) begins in m.raw.
func fieldStart(m *Message, i int) int {
	return int(m.fields[i-1].end) + 1
}

// ResendRequests is how many ResendRequests the counterparty has sent on
// this session since the acceptor started.
func (s *Session) ResendRequests() int64 { return s.resendReqs.Load() }

// Throttled is how many application messages this session's throttle
// (ThrottleMsgsPerSec) refused with a BusinessMessageReject since the
// acceptor started: they never reached the application.
func (s *Session) Throttled() int64 { return s.throttled.Load() }
