package fix

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery marks: how far a session's messages have reached the
// counterparty, for what must survive the loss of this process (a hot
// standby taking over resends what the counterparty may lack).
//
// The application tags a message with a mark (SendMarked), a number that
// only grows within a session. A mark is delivered once the counterparty's
// engine has processed its message, as far as FIX shows it: a TestRequest
// sent after it has been answered (confirmation, below), and every byte
// up to the end of its message has been acknowledged by the
// counterparty's TCP stack. Written to the socket is not enough, since the
// kernel drops what it still holds when the machine dies, and a killed
// process's socket may be reset before its send queue drains; acknowledged
// by the kernel is not enough either, since the broker's process can die
// before its engine reads what its kernel took. Acknowledged bytes are the
// bytes written to the socket (wireConn counts them, below any TLS) less
// those still in its send queue (the kernel's unacknowledged count, outq);
// without that count (not Linux) what is written counts as acknowledged.
// The kernel's count is kept as a lower bound: it costs one system call
// per settle, and Stop waits on it (awaitAcks) before it closes a socket.
//
// Confirmation is FIX's own round trip. A FIX engine processes what it
// receives in MsgSeqNum order (a message past a gap waits for the gap to
// be filled) and must answer a TestRequest(1) with a Heartbeat(0) that
// carries its TestReqID(112): the Heartbeat answering our TestRequest at
// MsgSeqNum t says its engine has processed every MsgSeqNum up to t of
// the current numbering. So a write that carries a mark, or application
// messages of a session that marks them (a report, a resend, a
// carry-over), counts only once a TestRequest at or after the highest
// MsgSeqNum written with it has been answered (seqTop, confirmed). The
// writer sends one (a probe, TestReqID probeIDPrefix and a number)
// confirmDelay after such a write that no answer covers, when none is
// outstanding: at most one per session is, and none while nothing waits
// for one. A session that never marks (market data, a test's echo)
// sends no probe, and its messages count as acknowledged by the kernel.
// The reader's own TestRequest after a silence (onTimer, TestReqID TEST)
// is not a probe: its answer confirms nothing. A broker that never
// answers is disconnected by that TestRequest's timeout when it is
// silent. One that goes on sending (orders, heartbeats of its own) but
// leaves a probe unanswered for probeWait after it was written is logged
// out by the reader (onTimer), with a Logout whose Text names the probe
// and the wait: FIX wants every TestRequest answered, and until it is the
// marks cannot move. Either way its reports are never lost: unconfirmed,
// they are resent by a standby taking over and carried over by its next
// sequence reset (PossResend=Y).
//
// A marked message can miss the connection it was meant for: queued while
// no connection was logged on, dropped from the socket queue (a slow
// consumer, a connection ending), lost with a failed write, or written and
// not acknowledged before its connection ended. It then reaches the
// counterparty only by a resend (ResendRequest) or a sequence reset's
// carry-over, and a later mark acknowledged on a later connection says
// nothing of it. So it leaves a hole (hole): no mark above the hole's
// ceiling is delivered until every MsgSeqNum of the hole has been
// acknowledged. The ceiling is the highest mark that can come before the missed ones: a
// message queued while away, its own mark less one; otherwise the highest
// mark handed to the socket before them (marks are written in the order
// they grow, so none lies between). A hole whose messages the counterparty
// did get, while the end of its connection hid the acknowledgement, is
// filled by its next ResendRequest, which asks from the first message it
// lacks (hadBefore); without one, it holds the mark until the next
// sequence reset, which costs a standby taking over meanwhile PossResend
// copies, never a report.
//
// An acknowledgement counts only on a connection whose stream the
// counterparty accepted. FIX has a counterparty that finds the Logon
// reply's MsgSeqNum too low log out without processing anything after it
// (and then, typically, log on again with ResetSeqNumFlag=Y, having lost
// its view of the stream): its kernel acknowledged bytes its engine threw
// away. So a connection on which the counterparty logs out, of its own
// accord (not answering this side's Logout), before it has sent any other
// message after its Logon (refused) counts nothing it acknowledged: the
// marks go back to where they stood when it was attached, and its messages
// are a hole, resent by a standby taking over or carried over by the next
// sequence reset (PossResend). Any other message it sent first (a
// Heartbeat, a TestRequest, a ResendRequest, an order) shows that its
// engine took the Logon reply, and from there it processes what it receives
// in order.

// wireListener hands out accepted TCP connections as wireConns, with
// Nagle off. It sits below the TLS listener, so that wireConn counts the
// bytes on the wire.
type wireListener struct{ net.Listener }

func (l wireListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		return &wireConn{TCPConn: tc}, nil
	}
	return c, err
}

// wireConn counts the bytes written to a TCP connection.
type wireConn struct {
	*net.TCPConn
	written atomic.Int64
}

func (c *wireConn) Write(b []byte) (int, error) {
	n, err := c.TCPConn.Write(b)
	c.written.Add(int64(n))
	return n, err
}

// acked is how many of the bytes written the counterparty's TCP stack has
// acknowledged. written is read before the send queue, so a write between
// the two can only make the answer smaller than the truth.
// ok is false when the socket cannot say (closed).
func (c *wireConn) acked() (n int64, ok bool) {
	w := c.written.Load()
	q, err := outq(c.TCPConn)
	if err != nil {
		return 0, false
	}
	return w - q, true
}

// wireOf finds the wireConn under nc; nil when there is none (a connection
// handed to the session by a test, say), and then what is written counts
// as delivered.
func wireOf(nc net.Conn) *wireConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	w, _ := nc.(*wireConn)
	return w
}

// The same accounting follows MsgSeqNums: which of the messages stored
// since the last sequence reset the counterparty's TCP stack has
// acknowledged, in a first send or a resend. A sequence reset carries the
// stored application messages that it has not over to the new numbering
// (Session.undeliveredLocked), so a reset never drops what a broker has not
// had. What is acknowledged survives a restart as a watermark (below).

// delivery follows one session's marks and MsgSeqNums from the socket to
// the counterparty. The writer (flush; streamStep for a resend) records
// each write; Delivered, called now and then (a replication heartbeat),
// the end of a connection and a sequence reset ask the socket what has
// been acknowledged.
type delivery struct {
	mu         sync.Mutex
	conn       net.Conn  // the connection followed; nil: none
	wire       *wireConn // conn's; nil: none, or not a wireConn
	direct     bool      // a connection with no wireConn: written counts as delivered
	sent       [sentMax]sentMark
	head, n    int      // sent[head], ... n entries, oldest first
	delivered  int64    // the highest mark acknowledged on a connection
	written    int64    // the highest mark handed to a connection's socket
	acked      []uint64 // bit seq: MsgSeqNum seq (since the last reset) acknowledged
	floor      int      // and every MsgSeqNum up to floor
	ackFile    *os.File // the watermark's file; nil: a memory store
	ackWritten int      // the watermark in ackFile
	ackMark    int64    // the delivered mark in ackFile
	holes      [holeMax]hole
	nHoles     int   // holes[:nHoles]: marked messages that missed their connection
	base       int64 // Delivered when conn was attached (refused)
	connLo     int64 // MsgSeqNums connLo..connHi acknowledged on conn (0: none)
	connHi     int64
	// Confirmation (see above), on the current numbering: every MsgSeqNum
	// up to confirmed is processed by the counterparty's engine; seqTop is
	// the highest MsgSeqNum written, appTop the highest that a write of
	// application messages reached. probeSeq is the outstanding probe's
	// MsgSeqNum (0: none), probeID its TestReqID's number; probes counts
	// the probes sent, for their TestReqIDs.
	confirmed, seqTop, appTop int64
	probeSeq, probeID, probes int64
	// probeAt: when the outstanding probe's wait began (probeWait), in
	// Unix nanoseconds: when the counterparty's TCP stack was first seen
	// to have acknowledged the end of the write that carried it
	// (reachedLocked); where the wire cannot say (direct), when that write
	// returned. 0 while none is outstanding, or it is not written yet
	// (Config.MayDeliver holding it), or not acknowledged yet. probeEnd:
	// that write's end on the wire while it waits for its
	// acknowledgement, 0 otherwise. Written under mu, read by the
	// reader's timer without it.
	probeAt, probeEnd atomic.Int64
}

// confirmDelay is how long after a write of application messages that no
// answer covers the writer sends its probe. Long enough that a burst of
// reports (thousands at full load) shares one round trip, and that a
// session sending one report now and then costs one TestRequest and one
// Heartbeat for each; short enough that the marks reach the standby (the
// replication heartbeat carries them) a round trip plus 200 ms after the
// broker processed the reports, far below what a failover takes.
const confirmDelay = 200 * time.Millisecond

// probeWaitMin is the least probeWait. A FIX engine answers a
// TestRequest once it has processed what came before it; at a short
// HeartBtInt (1 s in tests, a few venues) twice that would log out a
// broker whose engine is a few seconds behind on a burst of reports.
const probeWaitMin = 5 * time.Second

// probeWait is how long a probe may stay unanswered, from when the
// broker's TCP stack acknowledged it (delivery.reached), before the reader
// logs its broker out: twice the HeartBtInt
// it logged on with, at least probeWaitMin. Twice, where QuickFIX gives
// its own TestRequest after a silence 1.2 HeartBtInt: the probe follows
// reports, which the broker's engine processes first; the silent broker's
// path (onTimer) stays as it is. A broker logged on with HeartBtInt 0 gets
// probeWaitMin.
func probeWait(heartBtInt time.Duration) time.Duration {
	return max(2*heartBtInt, probeWaitMin)
}

// probePoll is how often the reader asks the socket whether a probe that
// is written has been acknowledged (delivery.reached): its wait begins
// at most this long after the broker's TCP stack took it.
const probePoll = 100 * time.Millisecond

// probeIDPrefix begins the TestReqID of every TestRequest this side sends:
// probeIDPrefix and the probe's number in decimal.
const probeIDPrefix = "C"

// sentMark: mark's message (mark 0: none), and the messages lo..hi (lo 0:
// none), ended at byte end of the connection. untracked: MsgSeqNums up to
// top went with it that lo..hi leaves out (sentMax). app: it carries
// application messages, and counts only once a probe at or after seqTop,
// the highest MsgSeqNum written up to it, is answered (confirmation).
type sentMark struct {
	end, mark, lo, hi, top, seqTop int64
	untracked, app                 bool
}

// hole: marked messages at MsgSeqNums lo..hi (lo 0: the MsgSeqNums a
// sequence reset is about to carry them over to) that missed their
// connection; no mark above ceil is delivered until all of lo..hi are
// acknowledged.
type hole struct{ ceil, lo, hi int64 }

// holeMax bounds the holes kept; past it, a hole joins the newest, which
// then spans both (its mark is held longer than needed, never released
// earlier).
const holeMax = 64

// seqRun is the MsgSeqNums lo..hi, written one after another; app: some
// of them are application messages (confirmation).
type seqRun struct {
	lo, hi int64
	app    bool
}

// sentMax bounds the writes awaiting acknowledgement; past it, a write's
// mark replaces the newest one's, which then waits for the later end
// (later than needed, never earlier), and its MsgSeqNums join the newest
// one's when they follow on, else are not followed (not known to be
// acknowledged: a reset carries them over again, marked PossResend).
const sentMax = 256

// attach follows nc from now on; marks still waiting on the previous
// connection are dropped (not known to be delivered: a hole).
func (d *delivery) attach(nc net.Conn) {
	d.mu.Lock()
	d.dropSentLocked()
	d.conn = nc
	d.wire = wireOf(nc)
	d.direct = d.wire == nil
	d.base, d.connLo, d.connHi = min(d.delivered, d.capLocked()), 0, 0
	d.probeSeq = 0 // a probe sent on an earlier connection is not answered on this one
	d.probeAt.Store(0)
	d.probeEnd.Store(0)
	d.mu.Unlock()
}

// refused says that the counterparty logs out of the connection followed
// before it showed that it accepted the stream on it (see above): what it
// acknowledged on the connection counts for nothing (a hole under what
// was delivered when it was attached), and what is written to it from
// here on is not followed. Cold path.
func (d *delivery) refused() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return
	}
	d.settleLocked()
	// What awaits acknowledgement is a hole under base; what was
	// acknowledged is one too (below): delivered keeps its marks, which
	// count again once those MsgSeqNums are (a carry-over, a resend).
	delivered := d.delivered
	d.delivered = d.base
	d.dropSentLocked()
	d.delivered = delivered
	if d.connLo > 0 {
		for seq := d.connLo; seq <= d.connHi && seq/64 < int64(len(d.acked)); seq++ {
			d.acked[seq/64] &^= 1 << (seq % 64)
		}
		d.floor = min(d.floor, int(d.connLo-1))
		// Also when none of them is marked: they may have filled an older
		// hole (a reset's carry-over, a resend), which capLocked dropped.
		d.missedLocked(d.base, d.connLo, d.connHi)
	} else if delivered > d.base {
		d.missedLocked(d.base, 0, 0) // no MsgSeqNum to wait for: the next reset
	}
	d.connLo, d.connHi = 0, 0
	d.wire, d.direct = nil, false
}

// detach settles what the connection's peer has acknowledged before it
// closes, then stops following it; what it has not acknowledged leaves a
// hole.
func (d *delivery) detach() {
	d.mu.Lock()
	d.settleLocked()
	d.dropSentLocked()
	d.conn, d.wire, d.direct = nil, nil, false
	d.probeSeq = 0
	d.probeAt.Store(0)
	d.probeEnd.Store(0)
	d.mu.Unlock()
}

// dropSentLocked forgets the writes awaiting acknowledgement, whose
// connection ends; when they carry marks, their MsgSeqNums are a hole
// whose ceiling is what is delivered.
func (d *delivery) dropSentLocked() {
	marked := false
	for i := range d.n {
		marked = marked || d.sent[(d.head+i)%sentMax].mark > 0
	}
	for i := 0; marked && i < d.n; i++ {
		e := &d.sent[(d.head+i)%sentMax]
		if e.untracked {
			d.missedLocked(d.delivered, 1, e.top)
		} else if e.lo > 0 {
			d.missedLocked(d.delivered, e.lo, e.hi)
		}
	}
	d.head, d.n = 0, 0
}

// reopen starts from what the store shows of the connections before this
// process: every MsgSeqNum up to acked (the watermark) acknowledged, and
// every mark up to mark delivered. The messages stored after the watermark,
// up to last, are a hole under mark: whatever marks they carry (the store
// does not say) count as delivered only once they are acknowledged again,
// by a resend or a sequence reset's carry-over. Cold path: NewAcceptor.
func (d *delivery) reopen(mark, acked, last int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delivered, d.written, d.floor = mark, mark, int(acked)
	if last > acked {
		d.missedLocked(mark, acked+1, last)
	}
}

// missed records that the marked message at MsgSeqNum seq, mark's, was
// not queued for a connection (none was logged on). Cold path.
func (d *delivery) missed(mark, seq int64) {
	d.mu.Lock()
	d.missedLocked(mark-1, seq, seq)
	d.mu.Unlock()
}

// lost records that the messages runs, marked up to mark (0: none of them
// marked), were queued for a connection and did not reach it: dropped
// from the socket queue, or their write failed.
func (d *delivery) lost(mark int64, runs []seqRun) {
	if mark == 0 {
		return
	}
	d.mu.Lock()
	d.lostLocked(runs)
	d.mu.Unlock()
}

func (d *delivery) lostLocked(runs []seqRun) {
	for _, r := range runs {
		d.missedLocked(d.written, r.lo, r.hi)
	}
}

// missedLocked records a hole (see hole).
func (d *delivery) missedLocked(ceil, lo, hi int64) {
	if d.nHoles < holeMax {
		d.holes[d.nHoles] = hole{ceil, lo, hi}
		d.nHoles++
		return
	}
	last := &d.holes[holeMax-1]
	last.ceil = min(last.ceil, ceil)
	last.lo, last.hi = min(last.lo, lo), max(last.hi, hi)
}

// capLocked drops the holes whose MsgSeqNums are all acknowledged and
// returns the lowest ceil of those left; MaxInt64 when none is.
func (d *delivery) capLocked() int64 {
	c, kept := int64(math.MaxInt64), 0
	for i := range d.nHoles {
		h := d.holes[i]
		for h.lo > 0 && h.lo <= h.hi && d.ackedLocked(int(h.lo)) {
			h.lo++
		}
		if h.lo > h.hi {
			continue // filled (a hole waiting for a carry-over has lo 0, hi 0)
		}
		d.holes[kept] = h
		kept++
		c = min(c, h.ceil)
	}
	d.nHoles = kept
	return c
}

// wrote records that a write to nc, of the messages runs and ending with
// mark's message (0: none), has returned. A write to a connection no
// longer followed (one that returned after its connection detached)
// counts for nothing.
func (d *delivery) wrote(nc net.Conn, mark int64, runs []seqRun) {
	if mark == 0 && len(runs) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case nc != d.conn:
		if mark > 0 {
			d.lostLocked(runs) // returned after its connection ended
		}
	case d.wire == nil && !d.direct:
	default:
		d.written = max(d.written, mark)
		end := int64(0) // direct: what is written counts as acknowledged (not as confirmed)
		if !d.direct {
			end = d.wire.written.Load()
		}
		if len(runs) == 0 {
			d.pushLocked(sentMark{end: end, mark: mark, seqTop: d.seqTop, app: mark > 0})
		}
		for i, r := range runs {
			d.seqTop = max(d.seqTop, r.hi)
			e := sentMark{end: end, lo: r.lo, hi: r.hi, seqTop: d.seqTop, app: r.app || mark > 0}
			if e.app {
				d.appTop = max(d.appTop, d.seqTop)
			}
			if i == len(runs)-1 {
				e.mark = mark
			}
			d.pushLocked(e)
		}
	}
	if nc == d.conn && d.probeSeq > 0 && d.probeAt.Load() == 0 && d.probeEnd.Load() == 0 {
		for _, r := range runs {
			if r.lo <= d.probeSeq && d.probeSeq <= r.hi {
				if d.wire != nil {
					// Its wait begins once the broker's TCP stack has it
					// (reached): behind a burst of reports it may sit in
					// the socket buffers for as long as the broker takes to
					// read them, which is OutQueueMaxBytes's to judge.
					d.probeEnd.Store(d.wire.written.Load())
				} else {
					d.probeAt.Store(time.Now().UnixNano()) // direct: no acknowledgement to wait for
				}
				break
			}
		}
	}
}

// pushLocked appends e to the writes awaiting acknowledgement; when they
// are sentMax, it joins the newest (see sentMax).
func (d *delivery) pushLocked(e sentMark) {
	if d.n < sentMax {
		d.sent[(d.head+d.n)%sentMax] = e
		d.n++
		return
	}
	last := &d.sent[(d.head+d.n-1)%sentMax]
	last.end = e.end
	last.mark = max(last.mark, e.mark)
	last.seqTop = max(last.seqTop, e.seqTop)
	last.app = last.app || e.app
	last.top = max(last.top, last.hi, e.hi)
	switch {
	case e.lo == 0:
	case last.lo == 0:
		last.lo, last.hi = e.lo, e.hi
	case last.hi+1 == e.lo:
		last.hi = e.hi
	default:
		last.untracked = true
	}
}

// awaiting reports whether writes to the connection followed are not yet
// all acknowledged by the counterparty's TCP stack (confirmed or not).
func (d *delivery) awaiting() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	if d.wire == nil || d.n == 0 {
		return false
	}
	acked, ok := d.wire.acked()
	return ok && d.sent[(d.head+d.n-1)%sentMax].end > acked
}

// settle takes in what the socket says has been acknowledged; called
// before the connection is closed, after which it cannot say.
func (d *delivery) settle() {
	d.mu.Lock()
	d.settleLocked()
	d.mu.Unlock()
}

func (d *delivery) settleLocked() {
	if d.wire == nil && !d.direct || d.n == 0 {
		return
	}
	if e := &d.sent[d.head]; e.app && e.seqTop > d.confirmed {
		return // the oldest write is not confirmed: no system call
	}
	acked, ok := int64(math.MaxInt64), true
	if !d.direct {
		acked, ok = d.wire.acked()
	}
	for ok && d.n > 0 && d.sent[d.head].end <= acked && (!d.sent[d.head].app || d.sent[d.head].seqTop <= d.confirmed) {
		e := &d.sent[d.head]
		d.delivered = max(d.delivered, e.mark)
		if e.lo > 0 {
			d.ackConnLocked(e.lo, e.hi)
		}
		d.head = (d.head + 1) % sentMax
		d.n--
	}
}

// hadBefore takes a ResendRequest's BeginSeqNo, seq (at most the next
// MsgSeqNum; one past it is a broker's bug and tells nothing): a counterparty asks from the first one it lacks, so it has
// every one before, which is more than its TCP stack's acknowledgement
// says. It fills the holes of messages it got while the end of their
// connection hid the acknowledgement. Cold path.
func (d *delivery) hadBefore(seq int64) {
	d.mu.Lock()
	d.floor = max(d.floor, int(seq-1))
	d.mu.Unlock()
}

// ackLocked marks MsgSeqNums lo..hi acknowledged.
func (d *delivery) ackLocked(lo, hi int64) {
	for int64(len(d.acked))*64 <= hi {
		d.acked = append(d.acked, 0)
	}
	for seq := lo; seq <= hi; seq++ {
		d.acked[seq/64] |= 1 << (seq % 64)
	}
}

// ackConnLocked marks MsgSeqNums lo..hi acknowledged on the connection
// followed (refused takes them back).
func (d *delivery) ackConnLocked(lo, hi int64) {
	d.ackLocked(lo, hi)
	if d.connLo == 0 {
		d.connLo = lo
	}
	d.connLo, d.connHi = min(d.connLo, lo), max(d.connHi, hi)
}

// ackedLocked reports whether MsgSeqNum seq is acknowledged.
func (d *delivery) ackedLocked(seq int) bool {
	return seq <= d.floor || seq/64 < len(d.acked) && d.acked[seq/64]&(1<<(seq%64)) != 0
}

// reset forgets every MsgSeqNum, for a sequence reset: writes still
// awaiting acknowledgement keep their marks but no longer count for
// MsgSeqNums, which from here on number other messages. The messages not
// acknowledged, the holes' among them, are carried over to new ones
// (Session.undeliveredLocked): the holes, and the marked writes still
// awaiting acknowledgement, become one hole that waits for those (carried).
func (d *delivery) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	c, held := d.capLocked(), d.nHoles > 0
	for i := range d.n {
		e := &d.sent[(d.head+i)%sentMax]
		if e.mark > 0 {
			c, held = min(c, d.delivered), true
		}
		// Its marks count once acknowledged, as before the reset: the
		// hole above waits for the carry-over's confirmation.
		e.lo, e.hi, e.top, e.untracked, e.seqTop, e.app = 0, 0, 0, false, 0, false
	}
	d.nHoles = 0
	if held {
		d.missedLocked(c, 0, 0)
	}
	clear(d.acked)
	d.acked = d.acked[:0]
	d.floor = 0
	d.connLo, d.connHi = 0, 0
	d.confirmed, d.seqTop, d.appTop, d.probeSeq = 0, 0, 0, 0
	d.probeAt.Store(0)
	d.probeEnd.Store(0)
}

// unconfirmed reports whether a probe is due: application messages were
// written to the connection followed that no answer covers, and no probe
// is outstanding.
func (d *delivery) unconfirmed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn != nil && d.probeSeq == 0 && d.appTop > d.confirmed
}

// confirming reports whether a connection has a probe outstanding, or
// application messages written that no answer confirmed.
func (d *delivery) confirming() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn != nil && (d.probeSeq != 0 || d.appTop > d.confirmed)
}

// probe records a TestRequest at MsgSeqNum seq, queued for the connection
// followed, as the outstanding probe, and returns its number for its
// TestReqID (probeIDPrefix).
func (d *delivery) probe(seq int64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.probes++
	d.probeSeq, d.probeID = seq, d.probes
	d.probeAt.Store(0) // its wait begins once it is written and acknowledged (wrote, reached)
	d.probeEnd.Store(0)
	return d.probes
}

// resent says that a resend goes over MsgSeqNums lo..hi, where our
// session messages, the outstanding probe among them, go as a GapFill: a
// probe there may never be processed (an engine that asked from before
// it moves past the copy it kept with the GapFill, as the reader's
// drainStash does), so it is outstanding no more, and the writer sends
// another (unconfirmed); an answer to it comes to nothing (answered).
// Else the marks would stall, and the broker be logged out (probeWait),
// for a probe it could not answer. Cold path: a ResendRequest.
func (d *delivery) resent(lo, hi int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.probeSeq >= lo && d.probeSeq <= hi {
		d.probeSeq = 0
		d.probeAt.Store(0)
		d.probeEnd.Store(0)
	}
}

// overdue reports whether the outstanding probe has stayed unanswered
// for wait or more since the counterparty's TCP stack acknowledged it
// (reached), with its number (its TestReqID's) and how long it has
// waited. Cold path: the reader's timer.
func (d *delivery) overdue(now time.Time, wait time.Duration) (id int64, waited time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reachedLocked(now)
	at := d.probeAt.Load()
	if d.probeSeq == 0 || at == 0 {
		return 0, 0, false
	}
	waited = now.Sub(time.Unix(0, at))
	return d.probeID, waited, waited >= wait
}

// reachedLocked begins the outstanding probe's wait, at now, once the
// counterparty's TCP stack has acknowledged every byte up to the end of
// the write that carried it (probeEnd): until then the probe is in the
// socket buffers, behind what was written before it, and the broker
// cannot have it. From there it still waits behind what the broker's
// kernel holds unread, which this side cannot see (its advertised window
// does not shrink with it); a broker that far behind is a slow consumer.
// Without the kernel's count (outq, not Linux) what is written counts as
// acknowledged, and the wait begins at the reader's first look
// (probePoll) after the write. Cold path: the reader's timer, every
// probePoll while probeEnd is set.
func (d *delivery) reachedLocked(now time.Time) {
	end := d.probeEnd.Load()
	if d.probeSeq == 0 || end == 0 {
		return
	}
	if d.wire != nil {
		if acked, ok := d.wire.acked(); !ok || acked < end {
			return // not yet; or the socket is closed, and the reader ends
		}
	} // else refused: the connection's acknowledgements count no more
	d.probeEnd.Store(0)
	d.probeAt.Store(now.UnixNano())
}

// answered takes a Heartbeat's TestReqID, id: when it answers the
// outstanding probe, every MsgSeqNum up to the probe's is confirmed. It
// reports whether it did. Any other id (the counterparty's own, an older
// probe's) confirms nothing.
func (d *delivery) answered(id []byte) bool {
	if len(id) <= len(probeIDPrefix) || string(id[:len(probeIDPrefix)]) != probeIDPrefix {
		return false
	}
	n := int64(0)
	for _, c := range id[len(probeIDPrefix):] {
		if c < '0' || c > '9' || n > math.MaxInt64/10-1 {
			return false
		}
		n = n*10 + int64(c-'0')
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.probeSeq == 0 || n != d.probeID {
		return false
	}
	d.confirmed = max(d.confirmed, d.probeSeq)
	d.probeSeq = 0
	d.probeAt.Store(0)
	d.probeEnd.Store(0)
	d.settleLocked()
	return true
}

// carried says that a sequence reset carried the messages not
// acknowledged over to MsgSeqNums lo..hi (none when hi < lo): the hole
// that waits for them (reset) now waits for their acknowledgement.
func (d *delivery) carried(lo, hi int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := 0
	for i := range d.nHoles {
		h := &d.holes[i]
		if h.lo == 0 && h.hi == 0 {
			if hi < lo {
				continue // nothing was carried: nothing is missing
			}
			h.lo, h.hi = lo, hi
		}
		d.holes[kept] = *h
		kept++
	}
	d.nHoles = kept
}

// Delivered is the highest mark (SendMarked) whose message, and every
// marked message before it, the counterparty's engine has processed (its
// TCP stack acknowledged it, and a TestRequest sent after it was answered),
// in a first send, a resend or a sequence reset's carry-over; 0 when none.
// Any goroutine; one system call per call while marks are waiting.
func (s *Session) Delivered() int64 {
	d := &s.delivery
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	return min(d.delivered, d.capLocked())
}

// What is acknowledged survives a restart as a watermark, in a third file
// beside the store's two (StoreDir, the store's name + ".acked"), 24
// bytes rewritten in place:
//
//	| N uint64 LE | crc32c of stored message N | M uint64 LE | crc32c of the 20 bytes before |
//
// Every MsgSeqNum up to N since the last sequence reset was acknowledged,
// and every marked message up to mark M (Delivered when it was written).
// The checksum of message N ties the watermark to the store it counts: a
// watermark that does not match the store read back (a reset since)
// counts for nothing, so nothing stored counts as acknowledged; M, a fact
// about the broker whatever the store holds, still counts, up to the
// store's own mark (storemark.go; 0 without one). A record whose
// own checksum fails (a torn write) counts for nothing. A 16-byte record,
// | N | crc32c of message N | crc32c of the 12 bytes before |, gives N and
// no mark. On open, what is
// stored after N is a hole under M (delivery.reopen): a crash or a stop
// between a report's store write and its acknowledgement leaves it
// undelivered, and a standby taking over resends it. The record is
// written when a connection ends and at most once a second while one is
// up, never fsynced: a stale record is a lower one, and costs only
// PossResend copies of what the broker had.

const ackedRecordSize = 24

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// openAcked opens the session's watermark file next to its store and
// returns the watermark and the delivered mark it holds, checked against
// st; nil and 0s for a memory store.
func openAcked(dir, name string, st *store) (f *os.File, seq int, mark int64, err error) {
	if dir == "" {
		return nil, 0, 0, nil
	}
	path := filepath.Join(dir, name+".acked")
	if f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return nil, 0, 0, fmt.Errorf("fix: open %s: %w", path, err)
	}
	var b [ackedRecordSize]byte
	n, _ := f.ReadAt(b[:], 0)
	switch {
	case n == ackedRecordSize && crc32.Checksum(b[:20], crc32c) == binary.LittleEndian.Uint32(b[20:]):
		mark = int64(binary.LittleEndian.Uint64(b[12:20]))
	case n == 16 && crc32.Checksum(b[:12], crc32c) == binary.LittleEndian.Uint32(b[12:]):
	default:
		return f, 0, 0, nil
	}
	mark = max(mark, 0) // a mark over MaxInt64 is none ever written
	// ... but never beyond the store's own mark, which the writer records
	// before any socket write: a mark past it (disk damage, a file from
	// elsewhere, an OS crash that lost .mark's tail) reads as the store's,
	// which costs PossResend copies, never a report.
	mark = min(mark, st.markVal)
	u := binary.LittleEndian.Uint64(b[:8])
	if u == 0 || u > uint64(len(st.index)) {
		return f, 0, mark, nil
	}
	msg := st.read(int(u), nil)
	if msg == nil || crc32.Checksum(msg, crc32c) != binary.LittleEndian.Uint32(b[8:12]) {
		return f, 0, mark, nil
	}
	return f, int(u), mark, nil
}

// persistAckedLocked writes the watermark and the delivered mark when
// either has moved: the highest N such that every MsgSeqNum up to N is
// acknowledged, and Delivered. mu is held (the store's index is read).
func (s *Session) persistAckedLocked() {
	d := &s.delivery
	d.mu.Lock()
	if d.ackFile == nil {
		d.mu.Unlock()
		return
	}
	seq := d.floor
	for d.ackedLocked(seq + 1) {
		seq++
	}
	d.floor = seq // the bits below it are no longer needed, but cost little
	mark := min(d.delivered, d.capLocked())
	moved := seq != d.ackWritten || mark != d.ackMark
	d.mu.Unlock()
	if !moved {
		return
	}
	var b [ackedRecordSize]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(seq))
	if seq > 0 {
		msg := s.st.read(seq, s.ackBuf)
		if msg == nil {
			return
		}
		if s.st.msgs != nil {
			s.ackBuf = msg
		}
		binary.LittleEndian.PutUint32(b[8:12], crc32.Checksum(msg, crc32c))
	}
	binary.LittleEndian.PutUint64(b[12:20], uint64(mark))
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], crc32c))
	if _, err := d.ackFile.WriteAt(b[:], 0); err != nil {
		s.log.Error("acknowledged watermark write failed", "session", s.id, "err", err)
		return
	}
	d.mu.Lock()
	d.ackWritten, d.ackMark = seq, mark
	d.mu.Unlock()
}
