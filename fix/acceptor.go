package fix

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Application is what the exchange's gateway implements. Every callback for
// a session runs on that session's reader goroutine, one at a time.
type Application interface {
	// OnLogon is called when the counterparty has logged on.
	OnLogon(s *Session)
	// OnLogout is called when a logged-on connection ends, for whatever
	// reason (Logout, disconnect, timeout, slow consumer, Stop), before the
	// session takes its next connection.
	OnLogout(s *Session)
	// FromApp is called with each application message that passed the
	// session layer's checks and the dictionary, in MsgSeqNum order,
	// exactly once per MsgSeqNum. PossDup copies of messages already
	// received never reach it; a PossResend(97)=Y message does, with
	// m.PossResend() set. m and every slice it returns are valid only
	// during the call. Answer with s.Send, here or from any goroutine.
	FromApp(s *Session, m *Message)
}

// SessionConfig is one counterparty.
type SessionConfig struct {
	BeginString  string // "FIX.4.2" or "FIX.4.4"
	TargetCompID string // the counterparty's SenderCompID
	// Password, when set, must arrive in Logon Password(554), else the
	// Logon is answered with Logout and the connection closed.
	Password string
	// ThrottleMsgsPerSec, when positive, bounds application messages per
	// second (a token bucket with a one-second burst); one over the bound
	// is answered with BusinessMessageReject (380=0, "Throttle limit
	// exceeded") and not delivered.
	ThrottleMsgsPerSec int
	// ResetOnLogon starts both sequence numbers at 1 on every Logon.
	// Otherwise they continue from the store, across reconnects and
	// restarts, and a counterparty resets them with ResetSeqNumFlag(141)=Y.
	ResetOnLogon bool
	// Dictionary validates inbound messages; nil: NewDictionary(BeginString).
	Dictionary *Dictionary
}

// Config configures an Acceptor. Zero durations and sizes take the defaults
// given.
type Config struct {
	Addr         string // listen address, "127.0.0.1:0" for tests
	SenderCompID string // ours
	Sessions     []SessionConfig
	// StoreDir holds each session's store (see the package comment); empty
	// keeps stores in memory, so nothing survives a restart.
	StoreDir string
	// TLS, when set, makes the listener TLS. Alternatively CertFile and
	// KeyFile (PEM) are loaded into one.
	TLS               *tls.Config
	CertFile, KeyFile string
	// MaxLatency bounds |SendingTime - now| of inbound messages. Default 120 s.
	MaxLatency time.Duration
	// LogonTimeout bounds the wait for the first message. Default 10 s.
	LogonTimeout time.Duration
	// LogoutTimeout bounds the wait for the answer to our Logout. Default 2 s.
	LogoutTimeout time.Duration
	// MaxMessageSize bounds an inbound BodyLength. Default 64 KiB.
	MaxMessageSize int
	// OutQueueMaxBytes bounds one session's unsent output before it is
	// disconnected as a slow consumer. Default 8 MiB.
	OutQueueMaxBytes int
	// MaxPendingLogons bounds the connections accepted and not yet logged
	// on (or refused); one more is closed at once. Default 1024.
	MaxPendingLogons int
	// MaxLogonBytes bounds what a connection reads before its Logon is
	// answered: its read buffer until then, so a Logon larger is refused.
	// With MaxPendingLogons it bounds the memory of connections waiting
	// to log on (8 MiB by default). Default 8 KiB.
	MaxLogonBytes int
	// LogonBackoff is how long logons are refused, per remote address and
	// per (CompID, address), after the first failed logon past the free ones
	// (see backoff.go); it doubles with each further failure. Default 1 s.
	LogonBackoff time.Duration
	// Log receives connection and session events (never one per
	// ordinary message), with component=fix. nil: slog.Default().
	Log *slog.Logger
	// OnStoreError, when set, is called once, with the first failed write
	// of any session's store (see store.go: that session sends nothing
	// more). It runs on the session's writer and must not block or call
	// back into the session.
	OnStoreError func(err error)
	// NotResent lists application MsgTypes that a resend replaces with
	// SequenceReset-GapFill, as it does session messages: market data,
	// stale once missed. The store keeps a Heartbeat in place of each,
	// which holds its MsgSeqNum without its bytes.
	NotResent []string
	// MayDeliver, when set, says until when the sessions' writers may
	// write queued messages to sockets (after they are in the store). The
	// writer asks it right before each socket write: a time not after now
	// holds the queue, in order, admin messages included, and the writer
	// asks again every millisecond; otherwise no write goes on past that
	// time (its deadline is bounded by it), and a write it cuts short puts
	// what it did not write back at the head of the queue, to go out when
	// allowed again (over TLS, whose stream a cut write breaks, the
	// connection closes instead and the broker gets it by resend). Only our
	// Logout goes out while it says no: what was queued before it is then
	// kept back (stored, for resend) and the connection closes; when a cut
	// write left a message unfinished, the Logout does not go out either
	// (it could only follow that message's end). A write under way learns
	// of a deadline moved back (a term that ended) only by CutWrites. Nil
	// costs nothing. A leader under an etcd lease sets it to its guard's
	// deadline, so that no byte of a report reaches a broker's socket after
	// the lease may have run out. It runs on the writer: one atomic load,
	// no blocking.
	MayDeliver func() (until time.Time)
}

// An Acceptor listens for FIX connections and runs the configured sessions.
type Acceptor struct {
	cfg      Config
	app      Application
	log      *slog.Logger
	sessions map[string]*Session // by sessionKey
	cuts     atomic.Uint64       // calls to CutWrites: a writer that sees it move asks MayDeliver again

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	stopped  bool
	stopping chan struct{} // closed when Stop begins: no session takes a connection after
	wg       sync.WaitGroup
	// Connections waiting to log on (Config.MaxPendingLogons), and those
	// closed at the bound since it was last logged.
	pendingLogons, pendingRefused int
	pendingLoggedAt               time.Time

	backoff *logonBackoff

	storeFails storeFailures
}

func sessionKey(beginString, targetCompID string) string { return beginString + "\x00" + targetCompID }

// NewAcceptor opens every session's store and starts its writer; Start
// listens.
func NewAcceptor(cfg Config, app Application) (*Acceptor, error) {
	if cfg.SenderCompID == "" || len(cfg.Sessions) == 0 || app == nil {
		return nil, errors.New("fix: Config needs SenderCompID, Sessions and an Application")
	}
	if cfg.MaxLatency <= 0 {
		cfg.MaxLatency = 120 * time.Second
	}
	if cfg.LogonTimeout <= 0 {
		cfg.LogonTimeout = 10 * time.Second
	}
	if cfg.LogoutTimeout <= 0 {
		cfg.LogoutTimeout = 2 * time.Second
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = 64 << 10
	}
	if cfg.OutQueueMaxBytes <= 0 {
		cfg.OutQueueMaxBytes = 8 << 20
	}
	if cfg.MaxPendingLogons <= 0 {
		cfg.MaxPendingLogons = 1024
	}
	if cfg.MaxLogonBytes <= 0 {
		cfg.MaxLogonBytes = 8 << 10
	}
	if cfg.LogonBackoff <= 0 {
		cfg.LogonBackoff = time.Second
	}
	a := &Acceptor{cfg: cfg, app: app, log: cfg.Log, sessions: map[string]*Session{}, conns: map[net.Conn]struct{}{},
		stopping: make(chan struct{}), backoff: newLogonBackoff(cfg.LogonBackoff)}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("component", "fix")
	for _, sc := range cfg.Sessions {
		if sc.TargetCompID == "" {
			a.closeSessions()
			return nil, errors.New("fix: session without TargetCompID")
		}
		key := sessionKey(sc.BeginString, sc.TargetCompID)
		if a.sessions[key] != nil {
			a.closeSessions()
			return nil, fmt.Errorf("fix: session %s %s configured twice", sc.BeginString, sc.TargetCompID)
		}
		dict := sc.Dictionary
		if dict == nil {
			var err error
			if dict, err = NewDictionary(sc.BeginString); err != nil {
				a.closeSessions()
				return nil, err
			}
		} else if dict.BeginString() != sc.BeginString {
			a.closeSessions()
			return nil, fmt.Errorf("fix: session %s %s: dictionary is for %s", sc.BeginString, sc.TargetCompID, dict.BeginString())
		}
		name := storeName(sc.BeginString, cfg.SenderCompID, sc.TargetCompID)
		st, nextOut, err := openStore(cfg.StoreDir, name)
		if err != nil {
			a.closeSessions()
			return nil, err
		}
		ackFile, acked, ackedMark, err := openAcked(cfg.StoreDir, name, st)
		if err != nil {
			st.close()
			a.closeSessions()
			return nil, err
		}
		s := &Session{
			a: a, cfg: sc, dict: dict, sender: cfg.SenderCompID, log: a.log,
			id:      sc.BeginString + ":" + cfg.SenderCompID + "->" + sc.TargetCompID,
			nextOut: nextOut, st: st, storeBase: st.size,
			wake: make(chan struct{}, 1), done: make(chan struct{}), writerDone: make(chan struct{}),
		}
		s.delivery.ackFile, s.delivery.ackWritten, s.delivery.ackMark = ackFile, acked, ackedMark
		if ackFile != nil && acked == nextOut-1 {
			ackedMark = max(ackedMark, st.markVal) // every message stored was acknowledged
		}
		s.delivery.reopen(ackedMark, int64(acked), int64(nextOut-1))
		a.sessions[key] = s
		go s.writeLoop()
	}
	return a, nil
}

func (a *Acceptor) closeSessions() {
	for _, s := range a.sessions {
		close(s.done)
		<-s.writerDone
		s.st.close()
		if f := s.delivery.ackFile; f != nil {
			f.Close()
		}
	}
}

// Session returns the configured session, or nil.
func (a *Acceptor) Session(beginString, targetCompID string) *Session {
	return a.sessions[sessionKey(beginString, targetCompID)]
}

// Start listens on Config.Addr and accepts connections until Stop.
func (a *Acceptor) Start() error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	ln = wireListener{ln}
	conf := a.cfg.TLS
	if conf == nil && a.cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(a.cfg.CertFile, a.cfg.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("fix: TLS certificate: %w", err)
		}
		conf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	a.mu.Lock()
	if a.stopped || a.ln != nil {
		a.mu.Unlock()
		ln.Close()
		return errors.New("fix: acceptor already started or stopped")
	}
	a.ln = ln
	a.wg.Add(1)
	a.mu.Unlock()
	go a.acceptLoop(ln)
	return nil
}

// Addr is the listening address (for a listener on port 0).
func (a *Acceptor) Addr() net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

func (a *Acceptor) acceptLoop(ln net.Listener) {
	defer a.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			a.mu.Lock()
			stopped := a.stopped
			a.mu.Unlock()
			if stopped {
				return
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			a.log.Error("accept failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		a.mu.Lock()
		if a.stopped {
			a.mu.Unlock()
			nc.Close()
			return
		}
		if a.pendingLogons >= a.cfg.MaxPendingLogons {
			a.refusePendingLocked()
			a.mu.Unlock()
			nc.Close()
			continue
		}
		a.pendingLogons++
		a.conns[nc] = struct{}{}
		a.wg.Add(1)
		a.mu.Unlock()
		go a.serve(nc)
	}
}

// refusePendingLocked counts a connection closed because
// MaxPendingLogons wait to log on, and logs the count at most once a
// second. Under mu.
func (a *Acceptor) refusePendingLocked() {
	a.pendingRefused++
	if now := time.Now(); now.Sub(a.pendingLoggedAt) >= time.Second {
		a.log.Warn("connections waiting to log on at the bound; closing new ones",
			"max_pending_logons", a.cfg.MaxPendingLogons, "closed", a.pendingRefused)
		a.pendingRefused, a.pendingLoggedAt = 0, now
	}
}

// logonDone: a connection no longer waits to log on.
func (a *Acceptor) logonDone() {
	a.mu.Lock()
	a.pendingLogons--
	a.mu.Unlock()
}

func (a *Acceptor) connDone(nc net.Conn) {
	nc.Close()
	a.mu.Lock()
	delete(a.conns, nc)
	a.mu.Unlock()
	a.wg.Done()
}

// CutWrites says that Config.MayDeliver's deadline has moved back (a
// leader's term ended: its guard was fenced); call it once MayDeliver
// answers with the new deadline. A socket write under way
// ends now, as that deadline would have ended it: over TCP what it did not
// write goes back to the head of its session's queue, over TLS the
// connection closes; none of it counts as delivered. Every writer asks
// MayDeliver again before it writes more. Without it, a write to a broker
// that does not read goes on under the deadline it started with. Cold
// path: it does not block; a writer pays two atomic loads per socket
// write for it (no lock, no clock read).
func (a *Acceptor) CutWrites() {
	a.cuts.Add(1) // before the deadlines: a writer that sets its own after them sees it (writeOut)
	now := time.Now()
	a.mu.Lock()
	for nc := range a.conns {
		nc.SetWriteDeadline(now)
	}
	a.mu.Unlock()
}

// Stop sends Logout on every logged-on session, waits (stopWriteTimeout
// in all) for those writes and for the brokers' TCP stacks to acknowledge
// them, closes every connection and the listener, waits for the readers,
// writes what is queued to the stores and fsyncs them. Send returns
// ErrStopped afterwards.
//
// A clean stop first asks each broker's engine to confirm its last
// reports (confirmBeforeStop), so that the next start carries over only
// what a broker may lack.
func (a *Acceptor) Stop() { a.stop("", true) }

// StopWith is Stop with Text(58) in each Logout, saying why the sessions
// end (for example that this node no longer leads its shard, so brokers
// go to the other address at once). It asks for no confirmation: a node
// that no longer leads may deliver nothing more, the probe included.
func (a *Acceptor) StopWith(text string) { a.stop(text, false) }

func (a *Acceptor) stop(text string, confirm bool) {
	var why Fields
	if text != "" {
		why.AddString(tagText, text)
	}
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	close(a.stopping)
	if a.ln != nil {
		a.ln.Close()
	}
	conns := make([]net.Conn, 0, len(a.conns))
	for nc := range a.conns {
		conns = append(conns, nc)
	}
	a.mu.Unlock()
	if confirm {
		a.confirmBeforeStop(time.Now().Add(stopWriteTimeout))
	}
	for _, s := range a.sessions {
		s.mu.Lock()
		if s.loggedOn && s.conn != nil {
			s.queueLogoutLocked(why.b)
		}
		s.mu.Unlock()
	}
	// Every session's Logout goes out at once; a broker that does not
	// read holds Stop for stopWriteTimeout, not writeTimeout per session.
	deadline := time.Now().Add(stopWriteTimeout)
	flushed := make(chan struct{})
	go func() {
		var each sync.WaitGroup
		for _, s := range a.sessions {
			each.Go(func() { s.flush() })
		}
		each.Wait()
		close(flushed)
	}()
	select {
	case <-flushed:
		a.awaitAcks(deadline)
	case <-time.After(stopWriteTimeout):
	}
	for _, s := range a.sessions {
		s.delivery.settle() // while the sockets can still say
	}
	for _, nc := range conns {
		nc.Close() // ends a write still waiting on its broker
	}
	<-flushed
	a.wg.Wait()
	for _, s := range a.sessions {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
	}
	a.closeSessions()
}

// confirmBeforeStop has each logged-on session's broker confirm its last
// reports before the Logouts: until deadline it wakes each writer (what
// is queued goes out; the writer alone writes, so a broker that does not
// read holds no one but its own writer), sends a probe where one is due
// now, not confirmDelay later (delivery.go: confirmation), again after
// an answer that left later reports unconfirmed, and waits for the
// answers. A broker that answers in time has its marks where its engine
// is, so a restart resends it nothing it processed; one that does not
// keeps them unconfirmed, and gets them again (PossResend=Y). Cold path:
// a clean stop, at most until deadline for all the sessions together.
func (a *Acceptor) confirmBeforeStop(deadline time.Time) {
	for time.Now().Before(deadline) {
		waiting := false
		for _, s := range a.sessions {
			s.signal()
			s.sendProbe()
			waiting = waiting || s.confirming()
		}
		if !waiting {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stopWriteTimeout bounds how long Stop waits for the sessions' last
// writes (their Logouts), and for their acknowledgement, before it closes
// the connections.
const stopWriteTimeout = 2 * time.Second

// awaitAcks waits, until deadline, for every session's counterparty to
// acknowledge what was written to it, so that the acknowledged watermark
// kept for the next start (delivery.go) does not leave out the last
// reports, whose acknowledgement a broker's TCP stack may delay.
func (a *Acceptor) awaitAcks(deadline time.Time) {
	for time.Now().Before(deadline) {
		waiting := false
		for _, s := range a.sessions {
			waiting = waiting || s.delivery.awaiting()
		}
		if !waiting {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// isStopping reports whether Stop has begun.
// notResent reports whether a resend gap-fills messages of type t.
func (a *Acceptor) notResent(t string) bool {
	for _, n := range a.cfg.NotResent {
		if t == n {
			return true
		}
	}
	return false
}

func (a *Acceptor) isStopping() bool {
	select {
	case <-a.stopping:
		return true
	default:
		return false
	}
}
