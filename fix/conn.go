package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// stashMax bounds the messages kept while a gap is being filled; beyond it
// they are dropped, and the gap they leave is asked for again once the
// first one is filled.
const (
	stashMax      = 4096
	stashBytesMax = 8 << 20
)

// reader serves one connection: it owns the read buffer and all inbound
// session state, and runs the application's callbacks. Outbound it goes
// through the Session's queue like everyone else.
type reader struct {
	a   *Acceptor
	nc  net.Conn
	s   *Session
	buf []byte
	r   int // buf[r:w] is read and not yet consumed
	w   int

	host string // the remote address, without port (logon back-off)

	msg, stashMsg Message
	seen          tagSet
	body, header  Fields // scratch for session messages

	nextIn         int
	heartBtInt     time.Duration
	lastRecv       time.Time
	testReqPending bool
	testReqAt      time.Time
	loggingOut     bool
	logoutAt       time.Time
	resending      bool
	resendEnd      int
	stash          map[int][]byte
	stashBytes     int
	closing        bool
	loggedOn       bool // OnLogon was called for this connection: OnLogout is owed
	deadline       time.Time
	tokens         float64
	tokensAt       time.Time
	persistedIn    int
	rejects        rejectLog
	heard          bool  // a message other than Logon and Logout was taken in sequence (delivery.refused)
	probeSkip      int64 // delivery.probeAt of a probe overdue while a Logout of ours was on its way: no deadline
}

// rejectLogEvery bounds the log lines about a connection's session-level
// Rejects: a broker whose engine sends the same malformed order all day
// costs a line per interval, not one per order.
const rejectLogEvery = 10 * time.Second

// rejectLog is what a connection has not logged yet of the Rejects it
// sent. A Reject after a quiet interval is logged at once, with its
// message; those that follow within rejectLogEvery are counted by reason
// and logged as counts when the interval ends (logRejects: the next
// Reject, the read deadline, or the connection's end).
type rejectLog struct {
	loggedAt time.Time
	unlogged [rejectSlots]int // by reason: slot reason, or rejectSlots-1 for ReasonOther
	pending  int              // sum of unlogged
}

const rejectSlots = ReasonIncorrectNumInGroup + 2

func (a *Acceptor) serve(nc net.Conn) {
	defer a.connDone(nc)
	pending := true // counted in a.pendingLogons
	defer func() {
		if pending {
			a.logonDone()
		}
	}()
	// Until the Logon is answered the buffer is small (MaxLogonBytes).
	r := &reader{a: a, nc: nc, buf: make([]byte, a.cfg.MaxLogonBytes), host: remoteHost(nc)}
	nc.SetReadDeadline(time.Now().Add(a.cfg.LogonTimeout))
	raw, err := r.first()
	readAt := time.Now()
	if err != nil {
		a.log.Info("connection closed before logon", "remote", nc.RemoteAddr().String(), "err", err)
		return
	}
	m := &r.msg
	if err := m.parse(raw); err != nil {
		a.log.Info("first message garbled; closing", "remote", nc.RemoteAddr().String())
		return
	}
	if string(m.MsgType()) != "A" {
		a.log.Warn("first message is not Logon; closing", "remote", nc.RemoteAddr().String(), "msg_type", string(m.MsgType()))
		return
	}
	s := r.session(m, readAt)
	if s == nil || !r.logon(s, m, readAt) {
		return
	}
	if !s.attach(nc) {
		text := "Logon refused: session already logged on"
		if a.isStopping() {
			text = "Logon refused: exchange stopping"
		}
		r.refuseLogon(m, text, slog.LevelWarn)
		return
	}
	r.s = s
	r.nextIn = s.st.nextIn
	r.persistedIn = r.nextIn
	r.lastRecv = time.Now()
	defer r.detach()
	if !r.acceptLogon(m, s.cfg.ResetOnLogon) {
		return
	}
	a.backoff.succeeded(s, r.host)
	pending = false
	a.logonDone()
	big := make([]byte, 2*a.cfg.MaxMessageSize+1024)
	r.w = copy(big, r.buf[r.r:r.w])
	r.r, r.buf = 0, big
	r.loop()
}

// session finds the session Logon m is for. A Logon no session takes, or
// one from a CompID or address in logon back-off, is refused with a
// Logout saying why (refuseLogon), and session returns nil.
func (r *reader) session(m *Message, readAt time.Time) *Session {
	a := r.a
	sender, _ := m.Get(tagSenderCompID)
	target, _ := m.Get(tagTargetCompID)
	begin := m.BeginString()
	s := a.sessions[sessionKey(string(begin), string(sender))]
	if until := a.backoff.refusedUntil(s, r.host, readAt); !until.IsZero() {
		// Logged once, when the back-off began (failedLogon), not per try.
		r.refuseLogon(m, "Logon refused: too many failed logons; retry after "+until.UTC().Format("15:04:05")+" UTC", slog.LevelDebug)
		return nil
	}
	var text string
	switch {
	case string(target) != a.cfg.SenderCompID:
		text = fmt.Sprintf("Logon refused: TargetCompID must be %s", a.cfg.SenderCompID)
		s = nil
	case s == nil && a.knownCompID(string(sender)):
		text = fmt.Sprintf("Logon refused: BeginString %s is not the one configured for %s", begin, sender)
	case s == nil:
		text = fmt.Sprintf("Logon refused: unknown SenderCompID %s", sender)
	default:
		return s
	}
	r.failedLogon(nil)
	r.refuseLogon(m, text, slog.LevelWarn)
	return nil
}

// knownCompID reports whether a session has TargetCompID id, under any
// BeginString. Cold path.
func (a *Acceptor) knownCompID(id string) bool {
	for _, s := range a.sessions {
		if s.cfg.TargetCompID == id {
			return true
		}
	}
	return false
}

// failedLogon counts a failed logon (backoff.go) for the connection's
// address and, when not nil, session s, and logs a refusal it starts.
func (r *reader) failedLogon(s *Session) {
	if until := r.a.backoff.failed(s, r.host, time.Now()); !until.IsZero() {
		id := ""
		if s != nil {
			id = s.id
		}
		r.a.log.Warn("logon back-off: refusing logons", "session", id, "remote", r.host, "until", until)
	}
}

// refuseLogonTimeout bounds the write of a refusal's Logout, and then the
// wait for the counterparty to close.
const refuseLogonTimeout = 2 * time.Second

// refuseLogon answers Logon m, which no session takes, with a Logout whose
// Text is text, when m's CompIDs can be read, and then closes the
// connection. The Logout is outside any session: MsgSeqNum 1, our CompID
// as m addressed it, not stored. The refusal is logged at level.
func (r *reader) refuseLogon(m *Message, text string, level slog.Level) {
	nc := r.nc
	r.a.log.Log(context.Background(), level, "logon refused", "remote", nc.RemoteAddr().String(), "text", text)
	sender, _ := m.Get(tagSenderCompID)
	target, _ := m.Get(tagTargetCompID)
	if len(sender) == 0 || len(target) == 0 {
		return
	}
	var body Fields
	body.AddString(tagText, text)
	out := appendMessage(nil, string(m.BeginString()), string(target), string(sender), "5", 1, time.Now(), nil, nil, body.b)
	lingerClose(nc, out, r.buf)
}

// lingerClose writes out, half-closes nc and reads (into buf) until the
// counterparty closes too, within refuseLogonTimeout: closing with its
// input unread would reset the connection, and a reset can discard out
// before the counterparty reads it.
func lingerClose(nc net.Conn, out, buf []byte) {
	deadline := time.Now().Add(refuseLogonTimeout)
	nc.SetWriteDeadline(deadline)
	if _, err := nc.Write(out); err != nil {
		return
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	nc.SetReadDeadline(deadline)
	for {
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

// remoteHost is nc's remote address without the port: what logon back-off
// counts by.
func remoteHost(nc net.Conn) string {
	addr := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// first reads until the first whole message; anything garbled before it
// ends the connection.
func (r *reader) first() ([]byte, error) {
	for {
		status, n, why := frame(r.buf[r.r:r.w], r.a.cfg.MaxMessageSize)
		switch status {
		case frameOK:
			raw := r.buf[r.r : r.r+n]
			r.r += n
			return raw, nil
		case frameGarbled:
			return nil, errors.New(why)
		}
		if r.w == len(r.buf) {
			return nil, fmt.Errorf("first message over MaxLogonBytes (%d)", len(r.buf))
		}
		n, err := r.nc.Read(r.buf[r.w:])
		r.w += n
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// loop reads and handles messages until the connection ends.
func (r *reader) loop() {
	for !r.closing {
		for !r.closing {
			status, n, why := frame(r.buf[r.r:r.w], r.a.cfg.MaxMessageSize)
			if status == frameNeedMore {
				break
			}
			if status == frameGarbled {
				r.a.log.Warn("garbled input ignored", "session", r.s.id, "bytes", n, "why", why)
				r.r += n
				continue
			}
			raw := r.buf[r.r : r.r+n]
			r.r += n
			r.handle(&r.msg, raw)
			r.drainStash()
		}
		r.persistIn()
		if r.closing {
			return
		}
		if r.r == r.w {
			r.r, r.w = 0, 0
		} else if r.r > 0 && len(r.buf)-r.w < r.a.cfg.MaxMessageSize {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		if r.w == len(r.buf) { // cannot happen with frame's bounds; never spin
			r.a.log.Error("read buffer full without a message; discarding", "session", r.s.id)
			r.r, r.w = 0, 0
		}
		r.setDeadline()
		n, err := r.nc.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.deadline = time.Time{}
				r.onTimer()
				continue
			}
			if n == 0 {
				return
			}
		}
	}
}

func (r *reader) persistIn() {
	if r.nextIn != r.persistedIn && !r.s.storeFailed.Load() { // see store: asked again after a restart
		if err := r.s.st.setNextIn(r.nextIn); err != nil {
			r.s.failStore(err)
		}
		r.persistedIn = r.nextIn
	}
}

// detach ends the connection: what is queued is written first (a Logout,
// say), then the connection stops taking messages, its inbound sequence is
// persisted and OnLogout runs; only then is the session free for the next
// connection, which therefore starts from this one's nextIn and gets its
// OnLogon after this one's OnLogout. The connection is the session's
// until here: attach took it, and only detach lets it go.
func (r *reader) detach() {
	s := r.s
	s.delivery.settle() // before a failed write closes the socket
	s.flush()
	s.mu.Lock()
	s.closing = true
	s.loggedOn = false
	s.dropPendingLocked()
	s.delivery.detach()
	s.persistAckedLocked()
	s.mu.Unlock()
	r.nc.Close()
	r.persistIn()
	r.logRejects(time.Now())
	if r.loggedOn {
		r.a.log.Info("logged out", "session", s.id)
		r.a.app.OnLogout(s)
	}
	s.mu.Lock()
	s.conn, s.closing = nil, false
	close(s.detached)
	s.mu.Unlock()
	s.signal() // the writer ends a stream to the connection (stream.go)
}

// attach makes nc the session's connection unless it has a live one. A
// connection on its way out (closing) is waited for, up to LogonTimeout:
// a broker that reconnects at once after a drop logs on as soon as the old
// connection's OnLogout (its cancel-on-disconnect, say) has run.
func (s *Session) attach(nc net.Conn) bool {
	wait := time.NewTimer(s.a.cfg.LogonTimeout)
	defer wait.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.conn != nil && s.closing && !s.a.isStopping() {
		detached := s.detached
		s.mu.Unlock()
		select {
		case <-detached:
		case <-s.a.stopping:
		case <-wait.C:
		}
		s.mu.Lock()
		if s.conn != nil && s.closing {
			return false // timed out, or stopping
		}
	}
	if s.conn != nil || s.stopped || s.a.isStopping() {
		return false
	}
	s.conn = nc
	s.loggedOut = false
	s.detached = make(chan struct{})
	s.loggedOn = false
	s.dropPendingLocked()
	s.delivery.attach(nc)
	s.lastSentNs.Store(time.Now().UnixNano())
	return true
}

// answerLogon resets both sequence numbers if asked, queues the Logon
// reply and marks the session logged on, in one step: a message the
// application sends meanwhile can neither take MsgSeqNum 1 ahead of a
// reset's reply nor, once the counterparty can have read the reply, miss
// the connection. A reset carries the application messages the
// counterparty has not had over to the new numbering, right after the
// reply, marked PossResend (undeliveredLocked); the reply and the carried
// messages are in the store, in place of what it held, before any of them
// reaches the socket (commitResetLocked), and the carried messages are
// streamed from it (stream.go). A store that has failed is not
// reset, and the connection is closed unanswered. It reports whether the
// session is logged on.
func (r *reader) answerLogon(body []byte, reset bool) bool {
	s := r.s
	s.flushMu.Lock()
	s.mu.Lock()
	var carried []byte
	if reset {
		if carried = s.undeliveredLocked(nil); s.storeFailed.Load() {
			s.mu.Unlock()
			s.flushMu.Unlock()
			r.nc.Close() // the store stays as it is for the restart (see store)
			return false
		}
		s.resetLocked()
	}
	if !s.stopped && !s.closing && !s.a.isStopping() {
		s.queueLocked("A", nil, body, true)
		s.loggedOn = !s.loggedOut // a reset answered after our Logout stays logged out
	}
	n := s.requeueLocked(carried)
	if reset {
		s.commitResetLocked()
	}
	if n > 0 {
		r.a.log.Info("sequence reset: carried over messages not acknowledged, PossResend=Y",
			"session", s.id, "messages", n, "seqs_to", s.nextOut-1)
	}
	switch {
	case s.storeFailed.Load():
		if reset && s.conn != nil && !s.closing {
			// What the store may lack must not reach the counterparty
			// (store): not even the reply.
			s.delivery.settle()
			s.conn.Close()
			s.dropPendingLocked()
		}
		s.loggedOn = false
	case n > 0 && s.loggedOn:
		// Streamed after the reply (stream.go), ahead of what Send
		// queues meanwhile, which the slow-consumer bound judges alone.
		s.startStreamLocked(s.nextOut-n, s.nextOut-1, true)
	}
	loggedOn := s.loggedOn
	s.mu.Unlock()
	s.flushMu.Unlock()
	s.signal()
	return loggedOn
}

// ---- timers ----

func (r *reader) setDeadline() {
	due := r.nextDue()
	if r.deadline.IsZero() || due.Before(r.deadline) {
		r.nc.SetReadDeadline(due)
		r.deadline = due
	}
}

func (r *reader) nextDue() time.Time {
	due := time.Now().Add(time.Hour)
	if r.loggingOut {
		due = minTime(due, r.logoutAt.Add(r.a.cfg.LogoutTimeout))
	}
	if r.rejects.pending > 0 {
		due = minTime(due, r.rejects.loggedAt.Add(rejectLogEvery))
	}
	// A probe the broker may not have read yet: look again soon, for where
	// its wait begins (delivery.reachedLocked).
	polling := r.s.delivery.probeEnd.Load() != 0 && !r.loggingOut && !r.testReqPending
	if polling {
		due = minTime(due, time.Now().Add(probePoll))
	}
	if at := r.s.delivery.probeAt.Load(); at != 0 && !r.loggingOut && !r.testReqPending && at != r.probeSkip {
		due = minTime(due, time.Unix(0, at).Add(probeWait(r.heartBtInt)))
	} else if !polling && r.heartBtInt <= 0 {
		// No heartbeat timer to come back to: look again for a probe the
		// writer sends meanwhile (probeWait) once in a while.
		due = minTime(due, time.Now().Add(probeWaitMin))
	}
	if hb := r.heartBtInt; hb > 0 {
		peer := hb * 6 / 5
		if r.testReqPending {
			due = minTime(due, r.testReqAt.Add(peer))
		} else {
			due = minTime(due, r.lastRecv.Add(peer))
			due = minTime(due, time.Unix(0, r.s.lastSentNs.Load()).Add(hb))
		}
	}
	return due
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// onTimer logs the Rejects counted over an interval that ended (rejectLog),
// sends heartbeats and test requests and ends a silent connection, as
// QuickFIX does: a heartbeat after HeartBtInt without sending, a
// TestRequest after 1.2 HeartBtInt without receiving, a disconnect after
// another 1.2 HeartBtInt without an answer. A broker that leaves the
// writer's probe unanswered for probeWait is logged out (probeOverdue).
func (r *reader) onTimer() {
	now := time.Now()
	if r.rejects.pending > 0 && !now.Before(r.rejects.loggedAt.Add(rejectLogEvery)) {
		r.logRejects(now)
	}
	if r.loggingOut && !now.Before(r.logoutAt.Add(r.a.cfg.LogoutTimeout)) {
		r.a.log.Info("no Logout response; disconnecting", "session", r.s.id)
		r.closing = true
		return
	}
	if r.probeOverdue(now) {
		return
	}
	hb := r.heartBtInt
	if hb <= 0 {
		return
	}
	peer := hb * 6 / 5
	switch {
	case r.testReqPending:
		if !now.Before(r.testReqAt.Add(peer)) {
			// No Logout, as QuickFIX does (the acceptance suite's 6_SendTestRequest).
			r.a.log.Warn("no answer to TestRequest; disconnecting", "session", r.s.id)
			r.closing = true
		}
	case !now.Before(r.lastRecv.Add(peer)):
		r.body.Reset()
		r.body.AddString(tagTestReqID, "TEST") // never a probe's (probeIDPrefix)
		r.s.sendAdmin("1", nil, r.body.b)
		r.testReqPending = true
		r.testReqAt = now
	case !now.Before(time.Unix(0, r.s.lastSentNs.Load()).Add(hb)):
		r.s.sendAdmin("0", nil, nil)
		r.s.lastSentNs.Store(now.UnixNano()) // the writer updates it again when written
	}
}

// probeOverdue logs the broker out, with a Logout whose Text names the
// probe and how long it has waited, when the writer's probe (delivery.go:
// confirmation) has stayed unanswered for probeWait since the broker's TCP
// stack acknowledged it (delivery.reachedLocked, which this begins: the
// reader looks every probePoll until then), and reports whether it did. Its reports stay unconfirmed: resent by a
// standby taking over, carried over by its next sequence reset. Not while
// a Logout of ours is on its way already (the reader's, Session.Logout,
// Stop), nor while the broker is silent and the TestRequest after the
// silence waits for its answer: those end the connection their own way
// (a silent broker is disconnected without a Logout, as QuickFIX does),
// and the probe's wait is looked at again once they have not.
func (r *reader) probeOverdue(now time.Time) bool {
	if r.loggingOut || r.testReqPending {
		return false
	}
	at := r.s.delivery.probeAt.Load()
	if at == 0 && r.s.delivery.probeEnd.Load() == 0 || at != 0 && at == r.probeSkip {
		return false
	}
	wait := probeWait(r.heartBtInt)
	id, waited, ok := r.s.delivery.overdue(now, wait) // begins the wait once the probe is acknowledged
	if !ok {
		return false
	}
	at = r.s.delivery.probeAt.Load()
	r.s.mu.Lock()
	loggedOut := r.s.loggedOut
	r.s.mu.Unlock()
	if loggedOut {
		r.probeSkip = at // not a deadline any more (nextDue)
		return false
	}
	text := fmt.Sprintf("TestRequest %s%d unanswered for %ds", probeIDPrefix, id, int64(waited/time.Second))
	r.a.log.Warn("delivery probe unanswered; logging out", "session", r.s.id,
		"test_req_id", probeIDPrefix+strconv.FormatInt(id, 10), "waited", waited.Round(time.Millisecond),
		"bound", wait, "text", text)
	r.initiateLogout(text)
	return true
}

// ---- logon ----

// maxHeartBtInt is the longest heartbeat interval a Logon may ask for, in
// seconds. Past it a silent broker, or one that leaves a delivery probe
// unanswered, would go unnoticed for hours.
const maxHeartBtInt = 3600

// logon checks Logon m, read at readAt, for session s before the
// connection is attached: SendingTime, the dictionary, HeartBtInt (0 to
// maxHeartBtInt), the password. A
// refusal is answered outside the session (refuseLogon): nothing stored,
// no MsgSeqNum used, so a Logon that names a broker's CompID without its
// password changes nothing of the broker's session and learns nothing of
// it. False when refused.
func (r *reader) logon(s *Session, m *Message, readAt time.Time) bool {
	text := ""
	if rej := r.checkSendingTime(m, readAt); rej.reason >= 0 {
		text = "Logon refused: SendingTime(52): " + reasonText(rej.reason)
	} else if rej := s.dict.validate(m, s.dict.messages["A"], &r.seen); rej.reason >= 0 {
		text = "Logon refused: " + reasonText(rej.reason)
		if rej.hasTag {
			text += fmt.Sprintf(" (tag %d)", rej.tag)
		}
	} else if hb, ok := m.GetInt(tagHeartBtInt); !ok || hb < 0 || hb > maxHeartBtInt {
		v, _ := m.Get(tagHeartBtInt)
		text = fmt.Sprintf("Logon refused: HeartBtInt(108) must be 0 to %d seconds, got %q", maxHeartBtInt, v)
	} else if pw, _ := m.Get(tagPassword); s.cfg.Password != "" && string(pw) != s.cfg.Password {
		r.failedLogon(s)
		text = "Logon refused: wrong or missing Password(554)"
	}
	if text == "" {
		return true
	}
	r.refuseLogon(m, text, slog.LevelWarn)
	return false
}

// acceptLogon resets if asked, checks MsgSeqNum and answers the Logon.
func (r *reader) acceptLogon(m *Message, reset bool) bool {
	s := r.s
	hb, _ := m.GetInt(tagHeartBtInt)
	resetFlag := false
	if v, ok := m.Get(tagResetSeqNumFlag); ok && string(v) == "Y" {
		resetFlag = true
	}
	expect := r.nextIn
	if reset || resetFlag {
		expect = 1
	}
	if seq := m.SeqNum(); seq < expect { // before any state changes
		r.logoutAndClose(fmt.Sprintf("MsgSeqNum too low, expecting %d but received %d", expect, seq))
		return false
	}
	if reset || resetFlag {
		r.nextIn = 1
		r.resending = false
		clear(r.stash)
		r.stashBytes = 0
	}
	r.body.Reset()
	r.body.AddChar(tagEncryptMethod, '0')
	r.body.AddInt(tagHeartBtInt, int64(hb))
	if resetFlag {
		r.body.AddChar(tagResetSeqNumFlag, 'Y')
	}
	loggedOn := r.answerLogon(r.body.b, reset || resetFlag)
	r.heartBtInt = time.Duration(hb) * time.Second
	if loggedOn && !r.loggedOn {
		r.loggedOn = true
		r.a.log.Info("logged on", "session", s.id, "remote", r.nc.RemoteAddr().String(), "heartbt_int_s", hb)
		r.a.app.OnLogon(s)
	}
	if seq := m.SeqNum(); seq > r.nextIn {
		r.sendResendRequest(seq)
	} else {
		r.nextIn++
	}
	return true
}

// ---- in session ----

func (r *reader) handle(m *Message, raw []byte) {
	if err := m.parse(raw); err != nil {
		r.a.log.Warn("garbled message ignored", "session", r.s.id)
		return
	}
	r.lastRecv = time.Now()
	r.testReqPending = false
	if string(m.BeginString()) != r.s.cfg.BeginString {
		r.initiateLogout("Incorrect BeginString")
		return
	}
	mt := m.MsgType()
	if len(mt) == 1 {
		switch mt[0] {
		case 'A':
			r.onLogon(m)
			return
		case '5':
			r.onLogout(m)
			return
		case '2':
			r.onResendRequest(m)
			return
		case '4':
			r.onSequenceReset(m)
			return
		case '1':
			if r.verify(m, true, true) {
				r.body.Reset()
				if id, ok := m.Get(tagTestReqID); ok {
					r.body.AddBytes(tagTestReqID, id)
				}
				r.s.sendAdmin("0", nil, r.body.b)
				r.incr()
			}
			return
		case '0', '3':
			if r.verify(m, true, true) {
				if mt[0] == '3' {
					r.a.log.Info("Reject received", "session", r.s.id, "ref_seq_num", getString(m, tagRefSeqNum), "text", getString(m, tagText))
				} else if id, ok := m.Get(tagTestReqID); ok && r.s.delivery.answered(id) {
					r.s.signal() // the writer sends the next probe when one is due
				}
				r.incr()
			}
			return
		}
	}
	if r.verify(m, true, true) {
		r.deliver(m)
		r.incr()
	}
}

func getString(m *Message, tag int) string {
	v, _ := m.Get(tag)
	return string(v)
}

func (r *reader) incr() { r.nextIn++; r.heard = true }

// deliver hands an application message to the application, or answers it
// with BusinessMessageReject when the dictionary does not define its type or
// the session's throttle is exceeded.
func (r *reader) deliver(m *Message) {
	s := r.s
	if s.dict.messages[string(m.MsgType())] == nil {
		r.businessReject(m, 3, "Unsupported Message Type")
		return
	}
	if rate := s.cfg.ThrottleMsgsPerSec; rate > 0 {
		now := time.Now()
		if r.tokensAt.IsZero() {
			r.tokens = float64(rate)
		} else {
			r.tokens = min(float64(rate), r.tokens+now.Sub(r.tokensAt).Seconds()*float64(rate))
		}
		r.tokensAt = now
		if r.tokens < 1 {
			s.throttled.Add(1) // the application never sees it: counted here (Throttled)
			r.businessReject(m, 0, "Throttle limit exceeded")
			return
		}
		r.tokens--
	}
	r.a.app.FromApp(s, m)
}

// verify runs QuickFIX's checks on an inbound message, in its order: CompIDs,
// SendingTime (not while a resend is outstanding), MsgSeqNum too low or too
// high (when asked), then the dictionary. It answers any problem itself and
// reports whether the message should be processed.
func (r *reader) verify(m *Message, checkTooHigh, checkTooLow bool) bool {
	s := r.s
	switch {
	case m.iSender < 0:
		return r.rejectIncr(m, rejectTag(ReasonRequiredTagMissing, tagSenderCompID))
	case m.iTarget < 0:
		return r.rejectIncr(m, rejectTag(ReasonRequiredTagMissing, tagTargetCompID))
	case len(m.idx(m.iTarget)) == 0:
		return r.rejectIncr(m, rejectTag(ReasonTagWithoutValue, tagTargetCompID))
	case len(m.idx(m.iSender)) == 0:
		return r.rejectIncr(m, rejectTag(ReasonTagWithoutValue, tagSenderCompID))
	case string(m.idx(m.iSender)) != s.cfg.TargetCompID || string(m.idx(m.iTarget)) != s.sender:
		r.reject(m, reject{reason: ReasonCompIDProblem})
		r.initiateLogout("")
		return false
	}
	if !r.resending {
		if rej := r.checkSendingTime(m, r.lastRecv); rej.reason == ReasonSendingTimeAccuracy {
			r.reject(m, rej)
			r.initiateLogout("")
			return false
		} else if rej.reason >= 0 {
			return r.rejectIncr(m, rej)
		}
	}
	if checkTooHigh || checkTooLow {
		if m.iSeq < 0 {
			return r.rejectIncr(m, rejectTag(ReasonRequiredTagMissing, tagMsgSeqNum))
		}
		if m.seqNum < 0 {
			return r.rejectIncr(m, rejectTag(ReasonIncorrectDataFormat, tagMsgSeqNum))
		}
	}
	if checkTooLow && m.seqNum < r.nextIn {
		r.tooLow(m)
		return false
	}
	if checkTooHigh && m.seqNum > r.nextIn {
		r.tooHigh(m)
		return false
	}
	if !s.dict.msgTypes[string(m.MsgType())] {
		return r.rejectIncr(m, reject{reason: ReasonInvalidMsgType})
	}
	if rej := s.dict.validate(m, s.dict.messages[string(m.MsgType())], &r.seen); rej.reason >= 0 {
		return r.rejectIncr(m, rej)
	}
	return true
}

func (r *reader) checkSendingTime(m *Message, now time.Time) reject {
	if m.iSendingTime < 0 {
		return rejectTag(ReasonRequiredTagMissing, tagSendingTime)
	}
	t, ok := parseTimestamp(m.idx(m.iSendingTime))
	if !ok {
		return rejectTag(ReasonIncorrectDataFormat, tagSendingTime)
	}
	d := now.UnixNano() - t
	if maxNs := int64(r.a.cfg.MaxLatency); d >= maxNs || d <= -maxNs {
		return reject{reason: ReasonSendingTimeAccuracy}
	}
	return noReject
}

func (r *reader) rejectIncr(m *Message, rej reject) bool {
	r.reject(m, rej)
	r.incr()
	return false
}

// tooLow: a PossDup copy of something already received is ignored, once its
// OrigSendingTime checks out; anything else ends the session.
func (r *reader) tooLow(m *Message) {
	if !m.PossDup() {
		r.logoutAndClose(fmt.Sprintf("MsgSeqNum too low, expecting %d but received %d", r.nextIn, m.seqNum))
		return
	}
	if m.iOrigTime < 0 {
		r.reject(m, rejectTag(ReasonRequiredTagMissing, tagOrigSendingTime))
		return
	}
	orig, ok := parseTimestamp(m.idx(m.iOrigTime))
	if !ok {
		r.reject(m, rejectTag(ReasonIncorrectDataFormat, tagOrigSendingTime))
		return
	}
	if sent, _ := parseTimestamp(m.idx(m.iSendingTime)); sent < orig {
		r.reject(m, reject{reason: ReasonSendingTimeAccuracy})
		r.initiateLogout("")
	}
}

// tooHigh asks for the gap (once) and keeps the message until it is filled.
func (r *reader) tooHigh(m *Message) {
	if !r.resending {
		r.sendResendRequest(m.seqNum)
	}
	if r.stash == nil {
		r.stash = make(map[int][]byte)
	}
	if _, dup := r.stash[m.seqNum]; !dup && len(r.stash) < stashMax && r.stashBytes+len(m.raw) <= stashBytesMax {
		r.stash[m.seqNum] = bytes.Clone(m.raw)
		r.stashBytes += len(m.raw)
	}
}

func (r *reader) sendResendRequest(received int) {
	r.a.log.Info("MsgSeqNum too high; ResendRequest", "session", r.s.id, "expected", r.nextIn, "received", received)
	r.body.Reset()
	r.body.AddInt(tagBeginSeqNo, int64(r.nextIn))
	r.body.AddInt(tagEndSeqNo, 0)
	r.s.sendAdmin("2", nil, r.body.b)
	r.resending = true
	r.resendEnd = received - 1
}

// drainStash leaves the resend state once the gap is filled and processes
// the kept messages that are now in sequence.
func (r *reader) drainStash() {
	for r.resending && r.nextIn > r.resendEnd && !r.closing {
		r.resending = false
		for !r.closing && !r.resending {
			raw, ok := r.stash[r.nextIn]
			if !ok {
				break
			}
			delete(r.stash, r.nextIn)
			r.stashBytes -= len(raw)
			r.handle(&r.stashMsg, raw)
		}
	}
	if !r.resending && len(r.stash) > 0 {
		for seq, raw := range r.stash {
			if seq < r.nextIn {
				delete(r.stash, seq)
				r.stashBytes -= len(raw)
			}
		}
	}
}

func (r *reader) onLogon(m *Message) {
	if !r.verify(m, false, false) {
		return
	}
	if v, ok := m.Get(tagResetSeqNumFlag); !ok || string(v) != "Y" {
		r.logoutAndClose("Logon received while logged on")
		return
	}
	r.acceptLogon(m, true)
}

func (r *reader) onLogout(m *Message) {
	if !r.verify(m, false, false) {
		return
	}
	r.s.mu.Lock()
	answering := r.loggingOut || r.s.loggedOut // our Logout went first
	r.s.mu.Unlock()
	if !r.heard && !answering {
		r.s.delivery.refused() // it may have refused the stream (delivery.go)
	}
	if !r.loggingOut {
		r.s.sendLogout(nil)
	}
	if m.seqNum == r.nextIn {
		r.incr()
	}
	r.closing = true
}

func (r *reader) onResendRequest(m *Message) {
	if !r.verify(m, false, false) {
		return
	}
	begin, _ := m.GetInt(tagBeginSeqNo)
	end, _ := m.GetInt(tagEndSeqNo)
	r.a.log.Info("ResendRequest received", "session", r.s.id, "begin", begin, "end", end)
	r.s.resendReqs.Add(1)
	r.heard = true // it took the stream up to its gap
	r.s.resend(begin, end)
	if m.seqNum == r.nextIn {
		r.incr()
	}
}

func (r *reader) onSequenceReset(m *Message) {
	gapFill := false
	if v, ok := m.Get(tagGapFillFlag); ok && string(v) == "Y" {
		gapFill = true
	}
	if !r.verify(m, gapFill, gapFill) {
		return
	}
	newSeq, _ := m.GetInt(tagNewSeqNo)
	switch {
	case newSeq > r.nextIn:
		r.nextIn = newSeq
	case newSeq < r.nextIn:
		r.reject(m, reject{reason: ReasonValueOutOfRange})
	}
}

// initiateLogout sends Logout and waits LogoutTimeout for the answer.
func (r *reader) initiateLogout(text string) {
	r.body.Reset()
	if text != "" {
		r.body.AddString(tagText, text)
	}
	r.s.sendLogout(r.body.b)
	r.loggingOut = true
	r.logoutAt = time.Now()
	r.deadline = time.Time{}
}

// logoutAndClose sends Logout and disconnects once it is written.
func (r *reader) logoutAndClose(text string) {
	r.a.log.Warn("logout", "session", r.s.id, "text", text)
	r.body.Reset()
	r.body.AddString(tagText, text)
	r.s.sendLogout(r.body.b)
	r.closing = true
}

// reverseRoute writes the routing fields of m swapped, for a reply.
func reverseRoute(h *Fields, m *Message) {
	h.Reset()
	var v [6][]byte
	pairs := [...][2]int{
		{tagOnBehalfOfCompID, tagDeliverToCompID}, {tagOnBehalfOfSubID, tagDeliverToSubID},
		{tagDeliverToCompID, tagOnBehalfOfCompID}, {tagDeliverToSubID, tagOnBehalfOfSubID},
		{tagOnBehalfOfLocID, tagDeliverToLocID}, {tagDeliverToLocID, tagOnBehalfOfLocID},
	}
	out := [...]int{tagOnBehalfOfCompID, tagOnBehalfOfSubID, tagDeliverToCompID, tagDeliverToSubID, tagOnBehalfOfLocID, tagDeliverToLocID}
	for _, p := range pairs {
		if val, ok := m.Get(p[0]); ok && len(val) > 0 {
			for i, t := range out {
				if t == p[1] {
					v[i] = val
				}
			}
		}
	}
	for i, t := range out { // ascending tag order: 115 116 128 129 144 145
		if v[i] != nil {
			h.AddBytes(t, v[i])
		}
	}
}

// reject sends a session-level Reject for m.
func (r *reader) reject(m *Message, rej reject) {
	s := r.s
	r.noteReject(m, rej)
	reverseRoute(&r.header, m)
	r.body.Reset()
	if m.iSeq >= 0 {
		r.body.AddBytes(tagRefSeqNum, m.idx(m.iSeq))
	}
	r.body.AddString(tagText, reasonText(rej.reason))
	if rej.hasTag {
		r.body.AddInt(tagRefTagID, int64(rej.tag))
	}
	r.body.AddBytes(tagRefMsgType, m.MsgType())
	if s.cfg.BeginString != "FIX.4.2" || rej.reason <= ReasonInvalidMsgType {
		r.body.AddInt(tagSessionRejReason, int64(rej.reason))
	}
	s.sendAdmin("3", r.header.b, r.body.b)
}

// noteReject logs the Reject of m at once after a quiet interval, and
// otherwise counts it for the next summary (rejectLog).
func (r *reader) noteReject(m *Message, rej reject) {
	l, now := &r.rejects, time.Now()
	if l.pending == 0 && now.Sub(l.loggedAt) >= rejectLogEvery {
		l.loggedAt = now
		r.a.log.Warn("message rejected", "session", r.s.id, "seq", m.seqNum, "msg_type", string(m.MsgType()),
			"reason", reasonText(rej.reason), "tag", rej.tag, "then", fmt.Sprintf("more within %v are logged as counts", rejectLogEvery))
		return
	}
	slot := rej.reason
	if slot < 0 || slot >= rejectSlots-1 {
		slot = rejectSlots - 1
	}
	l.unlogged[slot]++
	l.pending++
	if now.Sub(l.loggedAt) >= rejectLogEvery {
		r.logRejects(now)
	}
}

// logRejects logs the Rejects counted since the last line, one line per
// reason, and starts a new interval.
func (r *reader) logRejects(now time.Time) {
	l := &r.rejects
	if l.pending == 0 {
		return
	}
	over := now.Sub(l.loggedAt).Round(time.Millisecond)
	for slot, n := range l.unlogged {
		if n == 0 {
			continue
		}
		reason := slot
		if slot == rejectSlots-1 {
			reason = ReasonOther
		}
		r.a.log.Warn("messages rejected", "session", r.s.id, "reason", reasonText(reason), "count", n, "over", over)
		l.unlogged[slot] = 0
	}
	l.pending, l.loggedAt = 0, now
}

// businessReject sends BusinessMessageReject for m.
func (r *reader) businessReject(m *Message, reason int, text string) {
	reverseRoute(&r.header, m)
	r.body.Reset()
	if m.iSeq >= 0 {
		r.body.AddBytes(tagRefSeqNum, m.idx(m.iSeq))
	}
	r.body.AddString(tagText, text)
	r.body.AddBytes(tagRefMsgType, m.MsgType())
	r.body.AddInt(tagBusinessRejReas, int64(reason))
	r.s.sendAdmin("j", r.header.b, r.body.b)
}
