// Package gateway is the exchange's FIX edge: it runs the acceptor, turns
// brokers' order messages into fixed-size matcher.Commands for the ring, and
// turns the matcher's events back into ExecutionReports and
// OrderCancelRejects. It owns FIX: sessions, field validation, decimal
// conversion against tick and lot sizes, rejects. It refuses to know how
// commands are sequenced, journaled or matched; it hands each valid command to
// a Submitter and writes whatever events it is given.
//
// Input that cannot become a valid command is answered here, at once, and
// never reaches the ring: a session Reject for a malformed message, a
// BusinessMessageReject for an unsupported type, an ExecutionReport Rejected
// or an OrderCancelReject for a bad value.
package gateway

import (
	"errors"
	"fmt"
	"log"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"github.com/ringex/ringex/matcher"
)

// Symbol is one listed instrument; its id is its 1-based position in
// Options.Symbols.
type Symbol struct {
	Name string
	Tick Scale // prices are whole ticks
	Lot  Scale // quantities are whole lots
}

// Session is one broker's FIX session; its account id is its 1-based
// position in Options.Sessions.
type Session struct {
	BeginString  string // quickfix.BeginStringFIX44 or quickfix.BeginStringFIX42
	TargetCompID string
}

// Options configure a Gateway.
type Options struct {
	Listen       string // host:port
	SenderCompID string
	HeartbeatSec int
	Sessions     []Session
	Symbols      []Symbol
	Logf         func(format string, args ...any) // one line per session event; nil = log.Printf
}

// Submitter takes a validated command into the exchange. The gateway fills
// every field but Seq; Submit sets Seq and TimeNs when it sequences it. An
// error means the exchange is not accepting input (stopping or failed).
type Submitter interface {
	Submit(cmd *matcher.Command) error
}

// Gateway is the FIX acceptor and its translation in both directions.
type Gateway struct {
	opts      Options
	submit    Submitter
	acceptor  *quickfix.Acceptor
	symbolIDs map[string]uint32
	accounts  map[quickfix.SessionID]uint32
	sessions  []quickfix.SessionID // by account id; [0] unused
	rejectSeq atomic.Int64         // ExecIDs of gateway rejects, which never reach the journal
	logf      func(format string, args ...any)
}

// New checks opts and builds the acceptor; Start opens the port.
func New(opts Options, submit Submitter) (*Gateway, error) {
	if submit == nil {
		return nil, errors.New("gateway: nil submitter")
	}
	g := &Gateway{
		opts:      opts,
		submit:    submit,
		symbolIDs: make(map[string]uint32, len(opts.Symbols)),
		accounts:  make(map[quickfix.SessionID]uint32, len(opts.Sessions)),
		sessions:  make([]quickfix.SessionID, len(opts.Sessions)+1),
		logf:      opts.Logf,
	}
	if g.logf == nil {
		g.logf = log.Printf
	}
	g.rejectSeq.Store(time.Now().UnixNano())
	for i, s := range opts.Symbols {
		g.symbolIDs[s.Name] = uint32(i + 1)
	}
	host, port, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen address %q: %w", opts.Listen, err)
	}
	settings := quickfix.NewSettings()
	global := settings.GlobalSettings()
	global.Set(config.SocketAcceptHost, host)
	global.Set(config.SocketAcceptPort, port)
	global.Set(config.SenderCompID, opts.SenderCompID)
	global.Set(config.HeartBtInt, strconv.Itoa(opts.HeartbeatSec))
	// Sequence numbers restart at every logon until the session store is
	// durable and orders are de-duplicated against the journal (issue 6).
	global.Set(config.ResetOnLogon, "Y")
	for i, s := range opts.Sessions {
		ss := quickfix.NewSessionSettings()
		ss.Set(config.BeginString, s.BeginString)
		ss.Set(config.TargetCompID, s.TargetCompID)
		sid, err := settings.AddSession(ss)
		if err != nil {
			return nil, fmt.Errorf("gateway: session %s: %w", s.TargetCompID, err)
		}
		g.accounts[sid] = uint32(i + 1)
		g.sessions[i+1] = sid
	}
	g.acceptor, err = quickfix.NewAcceptor(g, quickfix.NewMemoryStoreFactory(), settings, eventLogFactory{g.logf})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return g, nil
}

// Start opens the FIX port.
func (g *Gateway) Start() error {
	if err := g.acceptor.Start(); err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", g.opts.Listen, err)
	}
	return nil
}

// Stop logs every session out and closes the port.
func (g *Gateway) Stop() { g.acceptor.Stop() }

// OnCreate implements quickfix.Application.
func (g *Gateway) OnCreate(quickfix.SessionID) {}

// OnLogon implements quickfix.Application.
func (g *Gateway) OnLogon(sid quickfix.SessionID) { g.logf("fix: %s logged on", sid) }

// OnLogout implements quickfix.Application.
func (g *Gateway) OnLogout(sid quickfix.SessionID) { g.logf("fix: %s logged out", sid) }

// ToAdmin implements quickfix.Application.
func (g *Gateway) ToAdmin(*quickfix.Message, quickfix.SessionID) {}

// ToApp implements quickfix.Application.
func (g *Gateway) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }

// FromAdmin implements quickfix.Application.
func (g *Gateway) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}

// FromApp implements quickfix.Application: it runs on the session's goroutine.
func (g *Gateway) FromApp(msg *quickfix.Message, sid quickfix.SessionID) quickfix.MessageRejectError {
	account, ok := g.accounts[sid]
	if !ok {
		return quickfix.NewBusinessMessageRejectError("unknown session", 0, nil)
	}
	msgType, rerr := msg.MsgType()
	if rerr != nil {
		return rerr
	}
	switch msgType {
	case "D":
		return g.onNewOrder(msg, sid, account)
	case "F":
		return g.onCancel(msg, sid, account, matcher.KindCancel)
	case "G":
		return g.onCancel(msg, sid, account, matcher.KindReplace)
	default:
		return quickfix.UnsupportedMessageType()
	}
}
