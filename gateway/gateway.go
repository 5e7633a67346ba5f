// Package gateway is the exchange's FIX edge: it runs ringex's own acceptor
// (package fix), turns brokers' order messages into fixed-size
// matcher.Commands for the ring, and turns the matcher's events back into
// ExecutionReports and OrderCancelRejects. It owns the FIX application
// layer: which messages an exchange takes, field validation, decimal
// conversion against tick and lot sizes, rejects, cancel-on-disconnect. It
// refuses to know how commands are sequenced, journaled or matched; it hands
// each valid command to a Submitter and writes whatever events it is given.
//
// A MarketDataRequest goes to Options.MarketData (package marketdata),
// which answers it; the gateway only routes it and tells it when a session
// ends.
//
// Input that cannot become a valid command never reaches an engine: the
// fix package answers malformed messages with a session Reject and
// unsupported types with a BusinessMessageReject, at once (session
// answers, resent as FIX resends); the gateway refuses a bad value of an
// order message by submitting a journaled refusal (matcher.KindReject,
// reject.go), answered once durable, like any report, with an
// ExecutionReport Rejected, an OrderCancelReject or a rejecting
// OrderMassCancelReport carrying a reason code and a Text. A refused
// message leaves its ClOrdID unused, live and after a restart.
//
// A drop-copy session (Session.DropCopyOf) takes no orders and gets a copy
// of every report of the accounts it copies, numbered, stored and resent
// like a broker's own, so every report it gets is a copy. A copy says
// CopyMsgIndicator (797)=Y where the session's FIX version has the tag
// for the message, as a stock engine refuses it elsewhere: FIX 4.4 in an
// ExecutionReport only, FIX 4.2 nowhere (unless Session.CopyMsgIndicator
// says its dictionary adds it). A FIX 4.2 drop copy gets no
// OrderMassCancelReport, which FIX 4.2 does not have.
//
// Where things are: gateway.go runs the acceptor and sessions; inbound.go
// turns messages into commands; reject.go refuses them and writes the
// refusals' reports; outbound.go turns events into reports;
// delivery.go numbers reports by delivery mark; resend.go holds and resends
// reports after a failover; dropcopy.go links drop copies to the accounts
// they copy and picks a copy's header; decimal.go converts prices and
// quantities.
package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// Symbol is one listed instrument; its id is its 1-based position in
// Options.Symbols.
type Symbol struct {
	Name string
	Tick Scale // prices are whole ticks
	Lot  Scale // quantities are whole lots
}

// Session is one broker's FIX session.
type Session struct {
	// Account is the session's own account id, which its commands carry
	// and its events name: the id the journal binds its TargetCompID to
	// (node/accounts.go), never its place in Options.Sessions. 0 means
	// its 1-based position (a gateway without bindings: tests, tools).
	// At most matcher.MaxOwner; no two sessions share one.
	Account            uint32
	BeginString        string // "FIX.4.4" or "FIX.4.2"
	TargetCompID       string
	Password           string // required in Logon Password(554) when set
	ThrottleMsgsPerSec int    // 0: unthrottled
	CancelOnDisconnect bool   // mass-cancel the session's resting Day orders when it drops
	// DropCopyOf makes it a drop-copy session (dropcopy.go): the
	// TargetCompIDs whose reports it copies, or "*" for every broker.
	DropCopyOf []string
	// DropCopy makes it a drop-copy session even when DropCopyOf is empty
	// (a firm's drop copy while the firm has no session): it takes no
	// orders and copies nothing.
	DropCopy bool
	// CopyMsgIndicator puts 797=Y in a FIX.4.2 drop copy's
	// ExecutionReports too (a FIX.4.4 one's always have it): its broker's
	// dictionary adds the tag, which FIX 4.2 does not define (dropcopy.go).
	CopyMsgIndicator bool
	// MarketDataOnly makes it a market-data-only session (mdonly.go): it
	// takes MarketDataRequest and session messages only.
	MarketDataOnly bool
	// Accounts are the trading accounts (its firm's) that the session's
	// orders may name with FIX Account (1), by name, with their account
	// ids; an order without tag 1, or naming the session's TargetCompID,
	// is for the session's own account (inbound.go, orderAccount).
	Accounts map[string]uint32
}

// Options configure a Gateway.
type Options struct {
	Listen            string // host:port
	SenderCompID      string
	Sessions          []Session
	Symbols           []Symbol
	StoreDir          string       // FIX session stores: sequence numbers and sent messages survive a restart
	CertFile, KeyFile string       // TLS when both are set
	Log               *slog.Logger // one record per session event (component=gateway, and component=fix from the sessions); nil: slog.Default()
	// OnStoreError is called once when a session store write first fails
	// (fix.Config.OnStoreError): that session sends nothing more, so the
	// exchange must stop acknowledging.
	OnStoreError func(err error)
	// MayDeliver, when set, is fix.Config.MayDeliver: a leader's lease
	// guard deadline, which bounds every write of reports to a socket.
	MayDeliver func() time.Time
	// MarketData, when set, answers MarketDataRequest (package
	// marketdata); without it a request gets a BusinessMessageReject.
	MarketData MarketData
}

// MarketData is the exchange's market data as the gateway sees it: the
// messages it adds to each session's dictionary, the requests it answers,
// the messages a resend gap-fills, and the end of a session.
type MarketData interface {
	Extend(d *fix.Dictionary) error
	Request(s *fix.Session, m *fix.Message)
	SessionEnded(s *fix.Session)
	NotResent() []string
}

// Submitter takes a validated command into the exchange. The gateway fills
// every field but Seq and TimeNs, which Submit sets when it sequences it. An
// error means the exchange is not accepting input (stopping or failed).
type Submitter interface {
	Submit(cmd *matcher.Command) error
}

// Gateway is the FIX acceptor and its translation in both directions.
type Gateway struct {
	opts       Options
	submit     Submitter
	acceptor   *fix.Acceptor
	symbolIDs  map[string]uint32
	accountIDs map[*fix.Session]uint32 // written in New only
	accounts   []account               // by account id up to the highest session's; [0] and ids of no configured session have no session
	names      []string                // written in New only: named account id -> its name (Session.Accounts); "" for none
	used       []usedIDs               // ClOrdIDs each account has used, by account (not in account: see there)
	rejectSeq  atomic.Int64            // ExecIDs of the refusals the ring would not take (refuse)
	out        fix.Fields              // the publish stage's reusable message body
	pendMu     sync.Mutex              // guards each account's pending, rebuilding and flushing; held is set and floor lowered under it
	log        *slog.Logger

	rejects [rejectReasons]atomic.Uint64 // the gateway's own rejects, by reason (status.go)
}

// account is what the gateway keeps of one account's reports. The publish
// stage reads session and held and writes marks on every event to the
// account; other goroutines write the rest only on cold paths (start,
// failover, Logon). Delivered reads session and floor on another
// goroutine at each heartbeat to a standby, which costs the publish stage
// at most a cache miss per account per heartbeat, not one per event. The
// ClOrdIDs an account has used stay out (Gateway.used): the account's
// session goroutine locks them on every order it takes in, and beside
// marks the two goroutines would pass one cache line back and forth on
// every order and every report.
type account struct {
	session    *fix.Session    // written in New only; nil: no configured session has this id (read it through sessionOf)
	cfg        *Session        // written in New only: the session's Options.Sessions entry
	marks      markCounter     // publish stage: numbers the account's events (delivery.go)
	affected   int64           // publish stage: orders cancelled so far by an all-symbols mass cancel
	held       atomic.Bool     // Publish holds its reports in pending (hold); set and cleared under pendMu
	floor      atomic.Int64    // delivered before this gateway (SetDeliveredBefore); lowered under pendMu
	pending    []pendingReport // under pendMu: reports to send after the next Logon (ResendOnLogon, hold)
	rebuilding bool            // under pendMu: its reports from before a failover are being rebuilt (Regenerated)
	flushing   bool            // under pendMu: a flush goroutine is sending its pending reports
	copies     []uint32        // written in New only: the drop-copy accounts that get a copy of each report (dropcopy.go)
	dropCopy   bool            // written in New only: a drop-copy session, which takes no orders
	copyMark   bool            // written in New only: a drop copy whose ExecutionReports say 797=Y (dropcopy.go)
	mdOnly     bool            // written in New only: a market-data-only session, which takes no orders (mdonly.go)
}

// sessionOf is the session bound to account a, or nil when none is: a is
// 0, or above every configured session's account, or a gap between them
// (a session's account is the id the journal binds it to, not its place
// in Options.Sessions), say an account whose session was removed from the
// config since it traded. Such an account is no one's to tell: its events
// are published and resent to no one (nor to drop copies), it has no
// delivery mark (0), no stored mark (-1), and nothing to hold or flush.
// Every caller skips it. Hot path (Publish): no allocation, no lock.
func (g *Gateway) sessionOf(a uint32) *fix.Session {
	if a == 0 || int(a) >= len(g.accounts) {
		return nil
	}
	return g.accounts[a].session
}

// New checks opts and builds the acceptor; Start opens the port.
func New(opts Options, submit Submitter) (*Gateway, error) {
	if submit == nil {
		return nil, errors.New("gateway: nil submitter")
	}
	opts.Sessions = slices.Clone(opts.Sessions)
	top, err := sessionAccounts(opts.Sessions)
	if err != nil {
		return nil, err
	}
	names, err := accountNames(opts.Sessions)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		opts:       opts,
		submit:     submit,
		symbolIDs:  make(map[string]uint32, len(opts.Symbols)),
		accountIDs: make(map[*fix.Session]uint32, len(opts.Sessions)),
		accounts:   make([]account, top+1),
		names:      names,
		used:       make([]usedIDs, top+1),
		log:        opts.Log,
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	fixLog := g.log
	g.log = g.log.With("component", "gateway")
	g.rejectSeq.Store(time.Now().UnixNano())
	for i, s := range opts.Symbols {
		g.symbolIDs[s.Name] = uint32(i + 1)
	}
	cfg := fix.Config{
		Addr:         opts.Listen,
		SenderCompID: opts.SenderCompID,
		StoreDir:     opts.StoreDir,
		CertFile:     opts.CertFile,
		KeyFile:      opts.KeyFile,
		Log:          fixLog,
		OnStoreError: opts.OnStoreError,
		MayDeliver:   opts.MayDeliver,
	}
	for _, s := range opts.Sessions {
		cfg.Sessions = append(cfg.Sessions, fix.SessionConfig{
			BeginString:        s.BeginString,
			TargetCompID:       s.TargetCompID,
			Password:           s.Password,
			ThrottleMsgsPerSec: s.ThrottleMsgsPerSec,
		})
	}
	if err := sessionDictionaries(&cfg, opts.MarketData); err != nil {
		return nil, err
	}
	if g.acceptor, err = fix.NewAcceptor(cfg, g); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	for i := range g.opts.Sessions {
		s := &g.opts.Sessions[i]
		fs := g.acceptor.Session(s.BeginString, s.TargetCompID)
		if fs == nil {
			return nil, fmt.Errorf("gateway: session %s %s missing from the acceptor", s.BeginString, s.TargetCompID)
		}
		g.accountIDs[fs] = s.Account
		g.accounts[s.Account].session = fs
		g.accounts[s.Account].cfg = s
		g.accounts[s.Account].mdOnly = s.MarketDataOnly
	}
	if err := g.linkDropCopies(); err != nil {
		return nil, err
	}
	return g, nil
}

// sessionAccounts gives each session of ss without an Account its
// position, checks that no two share one, and returns the highest.
func sessionAccounts(ss []Session) (uint32, error) {
	var top uint32
	owner := make(map[uint32]string, len(ss))
	for i := range ss {
		s := &ss[i]
		if s.Account == 0 {
			s.Account = uint32(i + 1)
		}
		if other, taken := owner[s.Account]; taken || s.Account > matcher.MaxOwner {
			return 0, fmt.Errorf("gateway: session %s: account %d is %s's too, or above %d", s.TargetCompID, s.Account, other, matcher.MaxOwner)
		}
		owner[s.Account] = s.TargetCompID
		top = max(top, s.Account)
	}
	return top, nil
}

// accountNames is the table from named account id to its name, over
// every session's Session.Accounts, so that a report finds its Account
// (1) by index rather than by scanning maps. A name is bound to one id for
// good, so two sessions never name one id differently; one that does is
// refused.
func accountNames(ss []Session) ([]string, error) {
	var names []string
	for i := range ss {
		for name, id := range ss[i].Accounts {
			if id > matcher.MaxOwner {
				return nil, fmt.Errorf("gateway: session %s: account %q is id %d, above %d", ss[i].TargetCompID, name, id, matcher.MaxOwner)
			}
			if int(id) >= len(names) {
				names = append(names, make([]string, int(id)+1-len(names))...)
			}
			if other := names[id]; other != "" && other != name {
				return nil, fmt.Errorf("gateway: session %s: account id %d is named both %q and %q", ss[i].TargetCompID, id, other, name)
			}
			names[id] = name
		}
	}
	return names, nil
}

// sessionDictionaries gives every session of cfg a dictionary that takes
// SelfMatchPreventionInstruction on a NewOrderSingle and, with md, the
// market data requests md answers; a resend gap-fills market data.
func sessionDictionaries(cfg *fix.Config, md MarketData) error {
	if md != nil {
		cfg.NotResent = md.NotResent()
	}
	for i := range cfg.Sessions {
		d, err := fix.NewDictionary(cfg.Sessions[i].BeginString)
		if err == nil {
			d.AddField(tagSelfMatchPrevention, fix.TypeInt)
			d.AddField(tagSelfMatchPreventionID, fix.TypeString)
			err = errors.Join(d.AllowField("D", tagSelfMatchPrevention), d.AllowField("G", tagSelfMatchPrevention),
				d.AllowField("D", tagSelfMatchPreventionID))
		}
		if err == nil && md != nil {
			if err = md.Extend(d); err != nil {
				err = fmt.Errorf("market data: %w", err)
			}
		}
		if err != nil {
			return fmt.Errorf("gateway: session %s %s: %w", cfg.Sessions[i].BeginString, cfg.Sessions[i].TargetCompID, err)
		}
		cfg.Sessions[i].Dictionary = d
	}
	return nil
}

// Start opens the FIX port.
func (g *Gateway) Start() error {
	if err := g.acceptor.Start(); err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", g.opts.Listen, err)
	}
	return nil
}

// Addr is the address the acceptor listens on (after Start).
func (g *Gateway) Addr() net.Addr { return g.acceptor.Addr() }

// Stop logs every session out and closes the port.
func (g *Gateway) Stop() { g.acceptor.Stop() }

// StopWith is Stop with text in every session's Logout (fix.Acceptor.StopWith).
func (g *Gateway) StopWith(text string) { g.acceptor.StopWith(text) }

// CutWrites ends every socket write under way, once MayDeliver's deadline
// has moved back (fix.Acceptor.CutWrites).
func (g *Gateway) CutWrites() { g.acceptor.CutWrites() }

// OnLogon implements fix.Application: the session gets the reports
// ResendOnLogon left for it, if any. The fix package logs the logon itself.
func (g *Gateway) OnLogon(s *fix.Session) { g.resendPending(s) }

// OnLogout implements fix.Application: a session that drops has its resting
// Day orders cancelled through the ring, like any other command, when the
// session is configured so (the default).
func (g *Gateway) OnLogout(s *fix.Session) {
	if md := g.opts.MarketData; md != nil {
		md.SessionEnded(s)
	}
	account := g.accountIDs[s]
	if account == 0 || !g.accounts[account].cfg.CancelOnDisconnect || !g.accounts[account].takesOrders() {
		return
	}
	cmd := matcher.CancelOnDisconnect(account, 0)
	if err := g.submit.Submit(&cmd); err != nil {
		g.log.Warn("logged out; its Day orders stay: the exchange is not accepting", "session", s.ID(), "err", err)
		return
	}
	g.log.Info("logged out; cancelling its resting Day orders", "session", s.ID())
}

// FromApp implements fix.Application: it runs on the session's reader
// goroutine, with m valid only during the call.
func (g *Gateway) FromApp(s *fix.Session, m *fix.Message) {
	account := g.accountIDs[s]
	if account == 0 {
		return
	}
	if why := g.accounts[account].refuses(m.MsgType()); why != "" {
		g.businessReject(s, m, 6, why)
		return
	}
	switch string(m.MsgType()) {
	case "D":
		g.onNewOrder(s, m, account)
	case "F":
		g.onCancel(s, m, account, matcher.KindCancel)
	case "G":
		g.onCancel(s, m, account, matcher.KindReplace)
	case "H":
		g.onStatus(s, m, account)
	case "q":
		g.onMassCancel(s, m, account)
	case "V":
		if md := g.opts.MarketData; md != nil {
			md.Request(s, m)
			return
		}
		g.businessReject(s, m, 3, "unsupported message type")
	default:
		g.businessReject(s, m, 3, "unsupported message type")
	}
}

// usedIDs is the set of ClOrdIDs one account has used on orders, replaces,
// cancels and mass cancels the gateway took (a refused one claims none,
// reject.go): the exchange refuses a second use, across every
// symbol and match partition, and across restarts (Remember rebuilds it from
// the journal before the acceptor opens). It holds 64-bit hashes of the ids,
// about 40 bytes an id in all: a day of 10 million ids is about 400 MB. Two
// different ids share a hash with odds of about n/2^64 per new id; such an
// order would be refused as a duplicate, never accepted twice. Only the
// account's own session goroutine uses it once the acceptor runs, and the
// publish stage once a day (EndOfDay); the mutex is hardly ever contended
// and orders the handover between connections.
type usedIDs struct {
	mu  sync.Mutex
	set map[uint64]struct{}
}

func idHash(id *matcher.ClOrdID) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for _, b := range id {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

// claim records id as used by account and reports whether it was fresh.
func (g *Gateway) claim(account uint32, id *matcher.ClOrdID) bool {
	u := &g.used[account]
	h := idHash(id)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.set == nil {
		u.set = make(map[uint64]struct{})
	}
	if _, dup := u.set[h]; dup {
		return false
	}
	u.set[h] = struct{}{}
	return true
}

// Remember records a ClOrdID the journal shows account has used. The node
// calls it for every journaled command before Start.
func (g *Gateway) Remember(account uint32, id matcher.ClOrdID) {
	if account == 0 || int(account) >= len(g.used) || id == (matcher.ClOrdID{}) {
		return
	}
	g.claim(account, &id)
}

// EndOfDay starts a new ClOrdID day: every account's used set is emptied,
// so a broker may use yesterday's ids again. The matcher forgets its
// retired ids at the same command, and keeps refusing the id of a live
// GTC order. The publish stage calls it at the end-of-day slot; each
// account's mutex orders it with that account's session goroutine, so an
// id claimed before it is forgotten, one claimed after it counts for the
// new day. Cold path: once a day.
func (g *Gateway) EndOfDay() {
	for i := range g.used {
		u := &g.used[i]
		u.mu.Lock()
		u.set = nil
		u.mu.Unlock()
	}
}
