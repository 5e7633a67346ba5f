package fix

import (
	"net"
	"time"
)

// A long resend is streamed: the messages a ResendRequest asks for (or a
// sequence reset carries over) are read from the store and encoded a
// piece at a time, each piece once the one before it is written, so that
// however much a broker asks for, the session holds at most one piece of
// it in memory and the slow-consumer bound (Config.OutQueueMaxBytes)
// never counts it.
//
// Order on the wire is the order things were queued: what the socket
// queue held when the resend began goes first (it may hold originals of
// MsgSeqNums the resend covers, which must not follow their PossDup
// copies), then the resent range, begin..end, then everything queued
// after the request (new reports, Heartbeats, a delivery probe, our
// Logout: all MsgSeqNums above end). Those wait in the socket queue
// behind the stream, and the slow-consumer bound judges them as ever: a
// broker that reads its resend keeps up, one that stops reading while
// reports keep coming passes the bound and is disconnected, the messages
// staying in the store for its next ResendRequest.
//
// The stream's state is the Session's stream field: its conn under mu,
// the rest under flushMu. The connection's reader starts it (resend;
// answerLogon for a carry-over), holding both; the session's writer alone
// advances it (flush, streamStep), holding flushMu: it reads and encodes
// a piece, and writes it, with mu released, taking mu only to look at
// the connection and to hand the piece over. So Send never waits on the
// stream, and gains no lock or allocation: what it queues waits in the
// socket queue. A stream ends when its range is written; when its
// connection closes or is replaced, or is closing (a slow consumer); when
// our Logout is queued (what it had encoded goes out before the Logout,
// the rest is not sent: the broker asks again on its next connection);
// at a sequence reset; and when a later ResendRequest starts another (the
// broker's newer word on what it lacks). No goroutine is started for it:
// a stream whose connection is gone holds at most one piece until the
// writer's next turn, which detach asks for.

// resendStream is a resend under way (see above); conn nil: none.
type resendStream struct {
	conn      net.Conn // the connection it goes to
	next, end int      // MsgSeqNums next..end are still to be read from the store
	gapStart  int      // MsgSeqNums gapStart..next-1 go as one GapFill, not queued yet (0: none)
	verbatim  bool     // send stored messages as stored (a carry-over), not as PossDup copies
	app       bool     // the session marks: resent application messages await confirmation
	noMerge   bool     // the last run in runs ends with a probe: the next begins another
	out       []byte   // encoded, not written: the socket queue the stream took over, then the range
	runs      []seqRun // out's MsgSeqNums
	mark      int64    // the last mark in out (the socket queue's it took over)
	torn      int      // out begins with this many bytes ending a message a cut write began
}

// streamSeqsMax bounds the MsgSeqNums one piece reads from the store, so
// that a long range of messages a resend gap-fills (market data, say) is
// read a bounded number at a time too, between looks at the connection.
const streamSeqsMax = 4096

// streamPiece is how many bytes a piece of a stream holds (one message
// more at most): half the slow-consumer bound, so that a session holds at
// most one and a half times the bound for its connection, and at most
// writePieceBytes, which writeOut writes under one writeTimeout. Its
// write returning is what lets the next be read.
func (s *Session) streamPiece() int {
	return min(s.a.cfg.OutQueueMaxBytes/2, writePieceBytes)
}

// startStreamLocked makes MsgSeqNums begin..end of the store a stream
// (see above) to the attached connection, after what its socket queue
// holds now (taken over) and before anything queued later; verbatim:
// as stored. A stream under way ends first. The store queue is written
// first, so that the stream finds every message in the store, and the
// socket queue it takes over reaches the socket only after its messages
// are stored. flushMu and mu are held; the caller signals the writer.
func (s *Session) startStreamLocked(begin, end int, verbatim bool) {
	s.endStreamLocked()
	s.writeStoreLocked()
	s.writeStoredMark(s.storeMark)
	st := &s.stream
	st.conn, st.next, st.end, st.gapStart = s.conn, begin, end, 0
	st.verbatim, st.app, st.noMerge = verbatim, s.storeMark > 0, s.pendProbe
	st.out, s.pending = s.pending, st.out[:0]
	st.runs, s.pendRuns = s.pendRuns, st.runs[:0]
	st.mark, s.pendMark = s.pendMark, 0
	st.torn, s.pendTorn = s.pendTorn, 0
	s.pendProbe = false
}

// endStreamLocked ends the stream under way, if any: what it encoded and
// did not write goes back at the head of the socket queue while its
// connection is attached (holdLocked), and is lost (delivery) otherwise;
// what it did not read from the store is not sent. flushMu and mu are
// held.
func (s *Session) endStreamLocked() {
	st := &s.stream
	if st.conn == nil {
		return
	}
	if len(st.out) > 0 {
		s.holdLocked(st.conn, st.out, 0, st.torn, st.mark, st.runs, nil)
		st.out, st.runs = nil, nil // the socket queue's now
	}
	st.conn, st.mark, st.torn, st.gapStart = nil, 0, 0, 0
}

// streamingLocked reports whether a stream is under way on the attached
// connection (confirming).
func (s *Session) streamingLocked() bool { return s.stream.conn != nil && s.stream.conn == s.conn }

// streamStep advances the stream under way, if any, by one piece: it
// writes the store queue (what Send queued behind the stream), encodes
// the next piece from the store and writes it to the socket, bounded by
// Config.MayDeliver. more: the stream goes on (the writer comes back at
// once, or, with held, when MayDeliver lets it); false once it has ended
// (see above), and flush then writes the socket queue. The writer's,
// flushMu held.
func (s *Session) streamStep() (more, held bool) {
	s.mu.Lock()
	st := &s.stream
	if st.conn == nil {
		s.mu.Unlock()
		return false, false
	}
	stored, base, storeMark := s.storeBuf, s.storeBase, s.storeMark
	s.storeBuf, s.storeSpare = s.storeSpare[:0], nil
	s.storeBase += int64(len(stored))
	s.mu.Unlock()
	if len(stored) > 0 {
		s.writeStore(stored, base)
	}
	s.writeStoredMark(storeMark)

	s.mu.Lock()
	if cap(stored) <= keepMax {
		s.storeSpare = stored[:0]
	}
	if !s.streamGoesOnLocked() {
		s.endStreamLocked()
		s.mu.Unlock()
		return false, false
	}
	// The store's entries up to end stay as they are while flushMu is
	// held (a sequence reset, which rewrites them, takes it): the piece
	// is read and encoded with mu released.
	index := s.st.index[:min(st.end, len(s.st.index))]
	s.mu.Unlock()
	s.fillStream(index)
	s.mu.Lock()
	if !s.streamGoesOnLocked() {
		s.endStreamLocked()
		s.mu.Unlock()
		return false, false
	}
	if len(st.out) == 0 {
		done := st.next > st.end
		if done {
			st.conn = nil
			if cap(st.out) > keepMax { // it held a large socket queue
				st.out, st.runs = nil, nil
			}
		}
		s.mu.Unlock()
		if !done {
			s.signal() // a piece that was all gap so far: read on
		}
		return !done, false
	}
	if !s.mayWrite() {
		s.mu.Unlock()
		return true, true
	}
	conn, out, runs, mark, torn := st.conn, st.out, st.runs, st.mark, st.torn
	st.out, st.runs, st.mark, st.torn = nil, nil, 0, 0
	s.mu.Unlock()

	n, cut, err := s.sendOut(conn, out, true, mark, runs)
	switch {
	case err != nil: // lost, and the connection closed
		s.mu.Lock()
		st.conn, st.gapStart = nil, 0
		s.mu.Unlock()
		return false, false
	case cut:
		// The rest goes first when MayDeliver lets it; nothing of out
		// counts as written until all of it is (hold).
		s.mu.Lock()
		st.out, st.runs, st.mark, st.torn = out[n:], runs, mark, tornAfter(out, torn, n)
		s.mu.Unlock()
		return true, true
	}
	s.mu.Lock()
	st.out, st.runs = out[:0], runs[:0]
	s.mu.Unlock()
	s.signal() // the next piece
	return true, false
}

// streamGoesOnLocked reports whether the stream under way may go on: its
// connection is attached and logged on, not closing (a slow consumer),
// without our Logout queued, and the store has not failed. mu is held.
func (s *Session) streamGoesOnLocked() bool {
	return s.stream.conn == s.conn && !s.closing && !s.loggedOut && !s.stopped && !s.storeFailed.Load()
}

// fillStream encodes the stream's next piece after what it holds: each
// stored application message again with PossDupFlag=Y and
// OrigSendingTime, or as stored (verbatim), and one SequenceReset-GapFill
// over each run of session messages, of messages the store does not
// have and of the types Config.NotResent names; at most streamPiece
// bytes (one message more) and streamSeqsMax MsgSeqNums, read from the
// store by index (the store's, taken under mu). The writer's, flushMu
// held and mu not: only flushMu's holders touch the stream's fields
// other than conn, and the store's file, its memory and index's entries.
func (s *Session) fillStream(index []msgPos) {
	st := &s.stream
	piece := s.streamPiece()
	now := time.Now()
	var ts [21]byte
	m := &s.resendMsg
	for read := 0; st.next <= st.end && len(st.out) < piece && read < streamSeqsMax; read++ {
		seq := st.next
		st.next++
		raw := s.st.readIn(index, seq, s.resendBuf)
		if raw != nil && s.st.msgs != nil {
			s.resendBuf = raw
		}
		if raw == nil || m.parse(raw) != nil || isAdminMsgType(m.MsgType()) || s.a.notResent(string(m.MsgType())) {
			if st.gapStart == 0 {
				st.gapStart = seq
			}
			continue
		}
		s.streamGapFill(seq, now)
		if st.verbatim {
			st.out = append(st.out, raw...)
		} else {
			st.out = s.encodeResent(st.out, m, now, ts[:0])
		}
		st.addRun(seq, seq, st.app)
	}
	if st.next > st.end {
		s.streamGapFill(st.end+1, now)
	}
}

// streamGapFill queues the GapFill the stream owes, if any, up to newSeq.
func (s *Session) streamGapFill(newSeq int, now time.Time) {
	st := &s.stream
	if st.gapStart == 0 {
		return
	}
	st.out = s.encodeGapFill(st.out, st.gapStart, newSeq, now)
	st.addRun(st.gapStart, newSeq-1, false)
	st.gapStart = 0
}

// addRun records MsgSeqNums lo..hi, just encoded into out (pendLocked's
// runs for the stream).
func (st *resendStream) addRun(lo, hi int, app bool) {
	st.runs = appendRun(st.runs, lo, hi, app, !st.noMerge)
	st.noMerge = false
}
