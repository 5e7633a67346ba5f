package matcher

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Hard bounds. Prices and quantities are bounded so that a notional
// (price × quantity, summed over an order's fills) always fits in an int64:
// MaxPriceTicks × MaxQtyLots = 2^62.
const (
	MaxPriceTicks = 1 << 36 // highest limit price accepted, in ticks
	MaxQtyLots    = 1 << 26 // highest order quantity accepted, in lots
	MaxSymbolID   = 1 << 20 // symbol ids index a dense table

	// MaxOrdersLimit is the most resting orders one engine may hold. It keeps
	// the events of any one command (at most 2 per resting order touched,
	// plus 2) under ExecIDStride, so exec ids never collide.
	MaxOrdersLimit = ExecIDStride/2 - 2

	DefaultMaxOrders     = MaxOrdersLimit
	DefaultClOrdIDWindow = (retGens - 1) * 2048 // 12288: generations of 2048, tables of 64 KiB
)

// ReasonBookFull rejects a new order when the engine already holds
// Config.MaxOrders resting orders.
const ReasonBookFull Reason = 16

// STPMode selects what self-trade prevention does when an incoming order
// would trade against a resting order of the same account.
type STPMode uint8

const (
	STPNone           STPMode = 0 // the account trades with itself
	STPCancelResting  STPMode = 1 // cancel the resting order, keep matching
	STPCancelIncoming STPMode = 2 // cancel the rest of the incoming order
	STPCancelBoth     STPMode = 3 // cancel the resting order and the rest of the incoming one
	// STPDecrement cancels the smaller of the two orders' leaves and takes
	// that quantity off the larger one (both when equal); nothing trades.
	// The larger order's decrement is an EvReplaced with ReasonSelfTrade.
	STPDecrement STPMode = 4
)

// SymbolSpec holds the per-symbol rules the engine enforces. Prices are
// already ticks and quantities lots: the gateway checks tick and lot size.
type SymbolSpec struct {
	ID        uint32 // 1..MaxSymbolID
	MinQty    int64  // smallest order quantity; 0 = 1
	MaxQty    int64  // largest order quantity; 0 = MaxQtyLots
	BandTicks int64  // limit prices further than this from the last trade are rejected; 0 = no band
	RefPrice  int64  // the "last trade" price before the first trade (the band's anchor); 0 = no band until a trade
}

// AccountSTP is one account's self-trade prevention mode, in place of
// Config.STP for the orders of that account.
type AccountSTP struct {
	Account uint32
	Mode    STPMode
}

// STPScope says which orders self-trade prevention takes for one party.
type STPScope uint8

const (
	STPScopeAccount STPScope = 0 // orders of the same trading account (the default)
	STPScopeFirm    STPScope = 1 // orders of any of the firm's accounts
)

// FirmSTP is one firm, for self-trade prevention: the names bound to its
// accounts (KindBindAccount: its sessions' TargetCompIDs and its named
// accounts) and the scope of its prevention. A firm's id in the engine is
// its 1-based position in Config.Firms: it is never journaled nor
// snapshotted, only compared, so the order of the list does not matter.
// Name is how a KindSTP record and a version 8 snapshot name the firm
// (its scope); a firm without one keeps its Config's scope until a venue
// record clears it.
type FirmSTP struct {
	Name  string
	Scope STPScope
	Names []string
}

// NamedSTP is the self-trade prevention mode of the account bound to Name,
// in place of Config.STP, once the binding is applied.
type NamedSTP struct {
	Name string
	Mode STPMode
}

// Config is everything that shapes an Engine. Two engines built from equal
// configs and fed the same commands are in the same state.
type Config struct {
	Symbols []SymbolSpec
	STP     STPMode
	// AccountSTP overrides STP for the accounts it lists: an incoming order
	// that meets a resting order of its own account acts by its account's
	// mode (both orders are that account's).
	AccountSTP []AccountSTP

	// Firms put accounts in firms, for self-trade prevention: an order
	// meets its own firm's orders as one party when its firm's Scope is
	// STPScopeFirm, and STP groups (Command.STPGroup) hold within a firm.
	// An account in no firm is a party of its own. NamedSTP overrides STP
	// for the accounts bound to the names it lists (a firm's default, an
	// account's own). Both are by name: they take effect for an account
	// when its binding is applied (or restored from a snapshot).
	Firms    []FirmSTP
	NamedSTP []NamedSTP

	// MaxOrders bounds the resting orders (and so the memory) of the
	// engine; 0 means DefaultMaxOrders. At most MaxOrdersLimit.
	MaxOrders int

	// ClOrdIDWindow is how many retired ClOrdIDs (those of finished orders,
	// and those a replace took away) the engine remembers at least, for
	// duplicate detection, for answering "too late" rather than "unknown",
	// and for reporting a finished order's final state on a status
	// request; it remembers up to 7/6 of that. 0 means
	// DefaultClOrdIDWindow. The ClOrdIDs of resting orders are always known.
	ClOrdIDWindow int
}

// Validate reports the first thing wrong with c.
func (c *Config) Validate() error {
	if c.STP > STPDecrement {
		return fmt.Errorf("matcher: config: unknown STP mode %d", c.STP)
	}
	if c.MaxOrders < 0 || c.MaxOrders > MaxOrdersLimit {
		return fmt.Errorf("matcher: config: MaxOrders %d outside 0..%d", c.MaxOrders, MaxOrdersLimit)
	}
	if c.ClOrdIDWindow < 0 || c.ClOrdIDWindow > 1<<26 {
		return fmt.Errorf("matcher: config: ClOrdIDWindow %d outside 0..%d", c.ClOrdIDWindow, 1<<26)
	}
	stpSeen := make(map[uint32]bool, len(c.AccountSTP))
	for _, a := range c.AccountSTP {
		if a.Account == 0 || a.Account > MaxBoundAccounts || a.Mode > STPDecrement || stpSeen[a.Account] {
			return fmt.Errorf("matcher: config: self-trade prevention of account %d: mode %d, account out of 1..%d or listed twice", a.Account, a.Mode, MaxBoundAccounts)
		}
		stpSeen[a.Account] = true
	}
	if err := c.validateFirms(); err != nil {
		return err
	}
	seen := make(map[uint32]bool, len(c.Symbols))
	for _, s := range c.Symbols {
		switch {
		case s.ID == 0 || s.ID > MaxSymbolID:
			return fmt.Errorf("matcher: config: symbol id %d outside 1..%d", s.ID, MaxSymbolID)
		case seen[s.ID]:
			return fmt.Errorf("matcher: config: symbol id %d listed twice", s.ID)
		case s.MinQty < 0 || s.MaxQty < 0 || s.MaxQty > MaxQtyLots || (s.MaxQty > 0 && s.MinQty > s.MaxQty):
			return fmt.Errorf("matcher: config: symbol %d: bad quantity bounds [%d, %d]", s.ID, s.MinQty, s.MaxQty)
		case s.BandTicks < 0 || s.RefPrice < 0 || s.RefPrice > MaxPriceTicks:
			return fmt.Errorf("matcher: config: symbol %d: bad band %d or reference price %d", s.ID, s.BandTicks, s.RefPrice)
		}
		seen[s.ID] = true
	}
	return nil
}

// validateFirms refuses an unknown scope or mode, and a name in two
// firms or with two modes.
func (c *Config) validateFirms() error {
	if len(c.Firms) > MaxBoundAccounts {
		return fmt.Errorf("matcher: config: %d firms, more than %d", len(c.Firms), MaxBoundAccounts)
	}
	names := map[string]bool{}
	for i, f := range c.Firms {
		if f.Scope > STPScopeFirm {
			return fmt.Errorf("matcher: config: firm %d: scope %d unknown", i+1, f.Scope)
		}
		for _, n := range f.Names {
			if names[n] {
				return fmt.Errorf("matcher: config: firm %d: account %q is in two firms", i+1, n)
			}
			names[n] = true
		}
	}
	modes := map[string]bool{}
	for _, a := range c.NamedSTP {
		switch {
		case a.Mode > STPDecrement:
			return fmt.Errorf("matcher: config: self-trade prevention of account %q: mode %d unknown", a.Name, a.Mode)
		case modes[a.Name]:
			return fmt.Errorf("matcher: config: self-trade prevention of account %q: listed twice", a.Name)
		}
		modes[a.Name] = true
	}
	return nil
}

// resolve gives the account of binding b its firm and its named mode
// (Config.Firms; the named modes in force: Config.NamedSTP until a KindSTP
// record sets them, stprecord.go). Cold path: once per binding.
func (e *Engine) resolve(b AccountBinding) {
	for i, f := range e.cfg.Firms {
		if slices.Contains(f.Names, b.Name) {
			if int(b.Account) >= len(e.firmBy) {
				e.firmBy = append(e.firmBy, make([]uint32, int(b.Account)+1-len(e.firmBy))...)
			}
			e.firmBy[b.Account] = uint32(i + 1)
		}
	}
	for _, a := range e.named {
		if a.Name == b.Name {
			e.setSTP(b.Account, a.Mode)
		}
	}
}

// setSTP makes mode account's self-trade prevention mode. Cold path.
func (e *Engine) setSTP(account uint32, mode STPMode) {
	if int(account) >= len(e.stpBy) {
		e.stpBy = append(e.stpBy, make([]uint8, int(account)+1-len(e.stpBy))...)
	}
	e.stpBy[account] = uint8(mode) + 1
}

// Top is the best bid and offer of one book. A price of 0 means that side is empty.
type Top struct {
	BidPx, BidQty int64
	AskPx, AskQty int64
}

// Engine matches the commands of the symbols one match goroutine owns.
// It is not safe for concurrent use: one goroutine owns it.
type Engine struct {
	cfg      Config
	stp      STPMode
	named    []NamedSTP    // the named modes in force (Config.NamedSTP until a KindSTP record)
	stpRec   bool          // a KindSTP record set stp, named and firmWide (stprecord.go)
	stpBy    []uint8       // account -> its STP mode + 1; 0 (or past the end): stp
	firmBy   []uint32      // account -> its firm id; 0 (or past the end): none
	firmWide []bool        // firm id -> self-trade prevention spans the firm's accounts
	books    []book        // one per configured symbol, in Config order
	bySym    []int32       // symbol id -> index into books + 1; 0 = unknown
	scales   []SymbolScale // by index into books: the KindSymbolScale record in force; Symbol 0: none (symbolscale.go)
	listed   int           // the symbols the snapshot header counts, at least (listedSymbols, symbolscale.go)
	byRecord bool          // listed is the highest symbol a KindSymbolScale record named since a start or restore

	orders    []order // pool; index 0 is the nil order
	freeOrder int32
	live      int // orders allocated from the pool
	maxOrders int

	levels    []level // pool; index 0 is the nil level
	freeLevel int32

	freeWins  []*window // sides' windows not in use; room for all of them
	windows   int       // windows ever made
	lvScratch []int32   // levels of a side being rebuilt

	byID    idMap   // order id -> live order
	cl      clMap   // (account, ClOrdID) -> live order
	accts   acctMap // account -> its live orders, oldest first
	ret     retired // ClOrdIDs and ids of finished orders, ClOrdIDs replaced away
	lastSeq int64   // Seq of the last accepted new order: order ids only increase

	dayOrders []int32 // the Day orders an end of day expires; grows to the most that rested at one

	bound bindings     // accounts bound to brokers' names (account.go)
	firms blockedFirms // firms blocked by the operator (firmblock.go)

	// Set for the duration of one Apply.
	cmd     *Command
	out     []Event
	outBase int

	snapBuf []byte // reused by Hash
}

// New builds an engine for cfg. It panics when cfg is invalid: check it with
// Config.Validate when it comes from outside the program.
func New(cfg Config) *Engine {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	e := &Engine{}
	e.init(cfg)
	return e
}

func (e *Engine) init(cfg Config) {
	cfg.Symbols = append([]SymbolSpec(nil), cfg.Symbols...)
	if cfg.MaxOrders == 0 {
		cfg.MaxOrders = DefaultMaxOrders
	}
	if cfg.ClOrdIDWindow == 0 {
		cfg.ClOrdIDWindow = DefaultClOrdIDWindow
	}
	maxID := uint32(0)
	for _, s := range cfg.Symbols {
		maxID = max(maxID, s.ID)
	}
	*e = Engine{
		cfg:       cfg,
		stp:       cfg.STP,
		named:     slices.Clone(cfg.NamedSTP),
		books:     make([]book, len(cfg.Symbols)),
		scales:    make([]SymbolScale, len(cfg.Symbols)),
		listed:    len(cfg.Symbols),
		bySym:     make([]int32, maxID+1),
		orders:    make([]order, 1, 64),
		levels:    make([]level, 1, 64),
		maxOrders: cfg.MaxOrders,
		snapBuf:   e.snapBuf,
	}
	e.firmWide = make([]bool, len(cfg.Firms)+1)
	for i, f := range cfg.Firms {
		e.firmWide[i+1] = f.Scope == STPScopeFirm
	}
	for _, a := range cfg.AccountSTP {
		e.setSTP(a.Account, a.Mode)
	}
	for i, s := range cfg.Symbols {
		e.books[i] = book{spec: s, lastPx: s.RefPrice, asks: side{sell: true}}
		e.bySym[s.ID] = int32(i + 1)
	}
	e.byID.init(64)
	e.cl.init(64)
	e.accts.init(16)
	e.ret.init(cfg.ClOrdIDWindow)
	e.lastSeq = math.MinInt64
}

// takerSTP is the self-trade prevention mode of order t, now matching,
// which decides what a self-match does: the new order's or the replace's
// own (Command.STP) when it names one, else its trading account's. An
// order in an STP group (SelfMatchPreventionID) whose mode comes to
// STPNone cancels itself (STPCancelIncoming) on meeting its group: the
// group asks for prevention. Hot path.
func (e *Engine) takerSTP(t *order) STPMode {
	mode := e.stpOf(t.owner)
	if c := e.cmd; (c.Kind == KindNew || c.Kind == KindReplace) && c.STP != 0 {
		mode = STPMode(c.STP - 1)
	}
	if mode == STPNone && t.group != 0 {
		return STPCancelIncoming
	}
	return mode
}

// selfMatch reports whether taker t and resting order r are one party's,
// which self-trade prevention keeps from trading: when either is in an
// STP group, both are of one firm and in the same group (orders of
// different groups trade); otherwise they are of the same trading account,
// or of the same firm when the firm's scope is the firm (Config.Firms).
// Hot path.
func (e *Engine) selfMatch(t, r *order) bool {
	if t.group != 0 || r.group != 0 {
		return t.group == r.group && e.firmKey(t.owner) == e.firmKey(r.owner)
	}
	if t.owner == r.owner {
		return true
	}
	f := e.firmOf(t.owner)
	return f != 0 && e.firmWide[f] && e.firmOf(r.owner) == f
}

// firmOf is account's firm id, 0 for an account of no firm. Hot path.
func (e *Engine) firmOf(account uint32) uint32 {
	if int(account) < len(e.firmBy) {
		return e.firmBy[account]
	}
	return 0
}

// firmKey names account's firm, or the account itself when it has none,
// so that two accounts of no firm are never one party. Hot path.
func (e *Engine) firmKey(account uint32) uint32 {
	if f := e.firmOf(account); f != 0 {
		return f
	}
	return 1<<31 | account
}

// stpOf is account's self-trade prevention mode. Hot path.
func (e *Engine) stpOf(account uint32) STPMode {
	if int(account) < len(e.stpBy) && e.stpBy[account] != 0 {
		return STPMode(e.stpBy[account] - 1)
	}
	return e.stp
}

func (e *Engine) book(sym uint32) *book {
	if uint64(sym) >= uint64(len(e.bySym)) {
		return nil
	}
	i := e.bySym[sym]
	if i == 0 {
		return nil
	}
	return &e.books[i-1]
}

// Top returns the best bid and offer of symbol after the last command.
func (e *Engine) Top(symbol uint32) Top {
	var t Top
	b := e.book(symbol)
	if b == nil {
		return t
	}
	if _, li := b.bids.best(); li != 0 {
		lv := &e.levels[li]
		t.BidPx, t.BidQty = lv.price, lv.qty
	}
	if _, li := b.asks.best(); li != 0 {
		lv := &e.levels[li]
		t.AskPx, t.AskQty = lv.price, lv.qty
	}
	return t
}

// RestingOrders returns how many orders rest in the engine's books.
func (e *Engine) RestingOrders() int { return e.live }

// Apply applies one command and appends the events it caused, in order, to
// out, and returns it. It only reads cmd: the node's match partitions apply
// a ring slot's command while the journal encodes that same slot beside
// them. Hot path: no allocation once the engine's tables have grown to the
// working set and out has room.
func (e *Engine) Apply(cmd *Command, out []Event) []Event {
	e.cmd, e.out, e.outBase = cmd, out, len(out)
	switch cmd.Kind {
	case KindNew:
		e.applyNew(cmd)
	case KindCancel:
		e.applyCancel(cmd)
	case KindReplace:
		e.applyReplace(cmd)
	case KindMassCancel:
		e.applyMassCancel(cmd)
	case KindStatus:
		e.applyStatus(cmd)
	case KindBlock:
		e.applyBlock(cmd)
	case KindCheckpoint, KindCheckpointHash, KindDeposit, KindWithdraw, KindUnblock,
		KindRiskLimits, KindRiskSymbol, KindRiskFee, KindRiskVenue:
		// markers for the node and for replay, and the risk stage's
		// records (funds, unblocks, rules);
		// no state, no events
	case KindEndOfDay:
		e.applyEndOfDay()
	case KindBindAccount:
		e.applyBinding(cmd)
	case KindBlockFirm, KindUnblockFirm:
		e.firms.apply(cmd)
	case KindBand:
		e.applyBand(cmd) // band.go
	case KindReject:
		e.applyReject(cmd) // gwreject.go
	case KindSTP:
		e.applySTP(cmd) // stprecord.go
	case KindSymbolScale:
		e.applyScale(cmd) // symbolscale.go
	default:
		e.rejectCmd(EvRejected, ReasonInvalidOrder)
	}
	out = e.out
	e.cmd, e.out = nil, nil
	return out
}

// validQty reports whether qty is a valid total quantity for b's symbol.
func validQty(b *book, qty int64) bool {
	maxQty := b.spec.MaxQty
	if maxQty == 0 {
		maxQty = MaxQtyLots
	}
	return qty > 0 && qty >= b.spec.MinQty && qty <= maxQty
}

func validPrice(px int64) bool { return px > 0 && px <= MaxPriceTicks }

// outsideBand reports whether a limit price is outside b's price band.
func outsideBand(b *book, px int64) bool {
	if b.spec.BandTicks == 0 || b.lastPx == 0 {
		return false
	}
	d := px - b.lastPx
	return d > b.spec.BandTicks || -d > b.spec.BandTicks
}

func (e *Engine) applyNew(c *Command) {
	b := e.book(c.Symbol)
	reason, h := e.checkNew(b, c)
	if reason != ReasonNone {
		e.rejectCmd(EvRejected, reason)
		return
	}
	ti := e.accept(c, h)
	t := &e.orders[ti]
	limit := e.oppLimit(b, t)
	if c.Type == Market && c.Price > 0 {
		// A protection price (the risk stage's, which holds the buyer's
		// cash at it): the market order trades at no worse.
		limit = max(limit, -sideKey(c.Side, c.Price))
	}
	if c.TIF == FOK && !e.fokFillable(b, t, limit) {
		t.leaves = 0
		e.emit(EvExpired, ReasonFOKUnfilled, t)
		e.finish(ti, ReasonFOKUnfilled)
		return
	}
	if !e.match(b, ti, limit) {
		e.cancelIncoming(ti)
		return
	}
	e.settle(b, ti)
}

// checkNew returns why new order c is refused, or ReasonNone, with the
// clHash64 of its ClOrdID. The checks run in the order the package doc lists.
func (e *Engine) checkNew(b *book, c *Command) (Reason, uint64) {
	switch {
	case b == nil:
		return ReasonUnknownSymbol, 0
	case c.Side != Buy && c.Side != Sell,
		c.Type != Limit && c.Type != Market,
		c.TIF != Day && c.TIF != GTC && c.TIF != IOC && c.TIF != FOK,
		c.STP > uint8(STPDecrement)+1, c.Owner > MaxOwner,
		c.Account > MaxOwner: // the journal holds none (Command.Encode), nor the retired store (retRec)
		return ReasonInvalidOrder, 0
	case !validQty(b, c.Qty):
		return ReasonInvalidQty, 0
	case c.Type == Limit && !validPrice(c.Price),
		c.Type == Market && c.Price != 0 && !validPrice(c.Price):
		return ReasonInvalidPrice, 0
	}
	h := clHash64(c.Account, &c.ClOrdID)
	switch {
	case e.usedClOrdID(c.Account, &c.ClOrdID, h):
		return ReasonDuplicateClOrd, h
	case c.Type == Limit && outsideBand(b, c.Price):
		return ReasonPriceBand, h
	case c.Seq <= e.lastSeq:
		// The sequence names orders; one that does not increase is a
		// caller bug, refused rather than allowed to alias two orders.
		return ReasonInvalidOrder, h
	case e.live >= e.maxOrders:
		return ReasonBookFull, h
	}
	return ReasonNone, h
}

// accept creates the order of new-order command c, whose ClOrdID hashes to
// h, and reports it accepted. It returns its pool index. The order is
// indexed only if it comes to rest (see settle): one that fills or expires
// at once, as crossing orders mostly do, never needs to be found, and the
// retired store remembers its ClOrdID and id when it finishes.
func (e *Engine) accept(c *Command, h uint64) int32 {
	ti := e.allocOrder()
	t := &e.orders[ti]
	px := c.Price
	if c.Type == Market {
		px = 0
	}
	// Field by field, every field: a composite literal is built in a
	// zeroed stack temporary and copied (120 bytes twice, and stalled
	// store forwarding). A pool entry comes back with stale fields.
	t.id, t.price, t.qty, t.leaves, t.cum, t.notional = c.Seq, px, c.Qty, c.Qty, 0, 0
	t.clh = h
	t.clOrd = c.ClOrdID
	t.account, t.symbol, t.owner, t.group = c.Account, c.Symbol, c.OwnerID(), c.STPGroup
	t.prev, t.next, t.aprev, t.anext, t.level = 0, 0, 0, 0, 0
	t.side, t.typ, t.tif, t.indexed = c.Side, c.Type, c.TIF, false
	e.lastSeq = c.Seq
	e.emit(EvAccepted, ReasonNone, t)
	return ti
}

// settle decides what becomes of taker ti once matching stopped: done
// when filled, the rest expired for market, IOC (and FOK) orders, else it
// rests.
func (e *Engine) settle(b *book, ti int32) {
	t := &e.orders[ti]
	reason := ReasonNone
	switch {
	case t.leaves == 0:
		e.finish(ti, ReasonNone)
		return
	case t.typ == Market && t.cum == 0:
		reason = ReasonNoLiquidity
	case t.typ == Market:
		reason = ReasonMarketRemainder
	case t.tif == IOC:
		reason = ReasonIOCRemainder
	case t.tif == FOK:
		panic("matcher: FOK order left a remainder after its fill check")
	default:
		if !t.indexed {
			// A new order comes to rest: from now on commands can name it.
			t.indexed = true
			e.cl.put(t, ti)
			e.byID.put(t.id, ti)
			e.accts.push(e.orders, ti)
		}
		e.rest(b, ti)
		return
	}
	t.leaves = 0
	e.emit(EvExpired, reason, t)
	e.finish(ti, reason)
}

// oppLimit returns the lowest opposite-side key the taker may trade at.
// A market order is held to the price band, when there is one, so it cannot
// sweep a thin book to absurd prices.
func (e *Engine) oppLimit(b *book, t *order) int64 {
	if t.typ == Limit {
		return -sideKey(t.side, t.price)
	}
	if b.spec.BandTicks == 0 || b.lastPx == 0 {
		return math.MinInt64
	}
	if t.side == Buy {
		return -(b.lastPx + b.spec.BandTicks)
	}
	return b.lastPx - b.spec.BandTicks
}

// cancelIncoming cancels what is left of taker ti after self-trade prevention.
func (e *Engine) cancelIncoming(ti int32) {
	t := &e.orders[ti]
	t.leaves = 0
	e.emit(EvCancelled, ReasonSelfTrade, t)
	e.finish(ti, ReasonSelfTrade)
}

// findTarget resolves the order a cancel, replace or status request
// names. It returns the pool index of a live order, or 0 and the reason to
// reject; with ReasonTooLate, also the retired record that says why: a
// finished order's (named by its last ClOrdID or by its order id), or a
// ClOrdID a replace took away.
func (e *Engine) findTarget(c *Command) (int32, *retRec, Reason) {
	var rec *retRec
	if c.OrderID == 0 {
		h := clHash64(c.Account, &c.OrigClOrdID)
		if ti := e.cl.find(e.orders, c.Account, &c.OrigClOrdID, h); ti != 0 {
			if e.orders[ti].symbol != c.Symbol {
				return 0, nil, ReasonUnknownOrder
			}
			return ti, nil, ReasonNone
		}
		rec = e.ret.findCl(c.Account, &c.OrigClOrdID, h) // finished, or replaced away
	} else {
		if c.OrderID > e.lastSeq {
			// No order, live or retired, has an id above the last
			// accepted one (Restore holds it too): no table to probe.
			return 0, nil, ReasonUnknownOrder
		}
		if ti := e.byID.get(e.orders, c.OrderID); ti != 0 {
			if o := &e.orders[ti]; o.account != c.Account || o.symbol != c.Symbol {
				return 0, nil, ReasonUnknownOrder
			}
			return ti, nil, ReasonNone
		}
		rec = e.ret.findOrder(c.OrderID)
	}
	if rec == nil || rec.session() != c.Account || rec.symbol != c.Symbol {
		return 0, nil, ReasonUnknownOrder
	}
	return 0, rec, ReasonTooLate
}

// usedClOrdID reports whether account has used id on a live order or on one
// the engine still remembers.
// h is clHash64(account, id).
func (e *Engine) usedClOrdID(account uint32, id *ClOrdID, h uint64) bool {
	return e.cl.find(e.orders, account, id, h) != 0 || e.ret.findCl(account, id, h) != nil
}

func (e *Engine) applyCancel(c *Command) {
	b := e.book(c.Symbol)
	if b == nil {
		e.rejectCmd(EvCancelRejected, ReasonUnknownSymbol)
		return
	}
	ti, _, reason := e.findTarget(c)
	if ti == 0 {
		e.rejectCmd(EvCancelRejected, reason)
		return
	}
	t := &e.orders[ti]
	if c.Owner != 0 && c.Owner != t.owner {
		e.rejectTarget(t, ReasonUnknownOrder) // the firm's account it names does not have the order
		return
	}
	e.unlinkLevel(b, ti)
	t.leaves = 0
	ev := e.emit(EvCancelled, ReasonUserCancel, t)
	ev.ClOrdID = c.ClOrdID
	ev.OrigClOrdID = t.clOrd
	e.finish(ti, ReasonUserCancel)
}

// applyStatus reports a live order as it stands, and a finished one as it
// ended, while the retired store remembers it: named by its last ClOrdID
// or by its order id, the report carries its final quantities, notional
// and price with LeavesQty 0, and Reason says how it ended (ReasonNone:
// filled). A ClOrdID that a replace took away still answers
// ReasonTooLate, as a cancel naming it does: the broker asks by the
// order's current ClOrdID or its order id. An order the account never had
// (or no longer remembered) is ReasonUnknownOrder.
func (e *Engine) applyStatus(c *Command) {
	if e.book(c.Symbol) == nil {
		e.rejectCmd(EvStatus, ReasonUnknownSymbol)
		return
	}
	ti, rec, reason := e.findTarget(c)
	switch {
	case ti != 0:
		e.emit(EvStatus, ReasonNone, &e.orders[ti])
	case rec != nil && rec.state.finished():
		e.emitFinished(rec)
	default:
		e.rejectCmd(EvStatus, reason)
	}
}

// emitFinished answers a status request with finished order rec as it ended.
func (e *Engine) emitFinished(rec *retRec) {
	o := order{
		id: rec.orderID, price: rec.state.price(), qty: int64(rec.qty), cum: int64(rec.cum),
		notional: rec.notional, clOrd: rec.id, account: rec.session(), owner: rec.owner(), symbol: rec.symbol,
		side: rec.state.side(), typ: Limit, tif: rec.state.tif(),
	}
	if o.owner == 0 {
		o.owner = o.account
	}
	if o.price == 0 {
		o.typ = Market // a limit order's price is at least 1
	}
	e.emit(EvStatus, rec.state.end(), &o)
}

func (e *Engine) applyReplace(c *Command) {
	b := e.book(c.Symbol)
	if b == nil {
		e.rejectCmd(EvCancelRejected, ReasonUnknownSymbol)
		return
	}
	ti, _, reason := e.findTarget(c)
	if ti == 0 {
		e.rejectCmd(EvCancelRejected, reason)
		return
	}
	t := &e.orders[ti]
	h := clHash64(c.Account, &c.ClOrdID)
	if reason = e.replaceRefusal(b, c, t, h); reason != ReasonNone {
		e.rejectTarget(t, reason)
		return
	}

	old := t.clOrd
	e.cl.remove(t, ti)
	e.ret.add(t, &old, 0, t.clh)
	t.clOrd = c.ClOrdID
	t.clh = h
	e.cl.put(t, ti)

	if c.Qty <= t.cum {
		// Amended to at or below what already traded: nothing is left to rest.
		e.unlinkLevel(b, ti)
		t.leaves = 0
		ev := e.emit(EvCancelled, ReasonUserCancel, t)
		ev.OrigClOrdID = old
		e.finish(ti, ReasonUserCancel)
		return
	}
	if c.Price == t.price && c.Qty <= t.qty {
		// A pure quantity decrease keeps time priority.
		d := t.qty - c.Qty
		t.qty, t.leaves = c.Qty, t.leaves-d
		e.levels[t.level].qty -= d
		ev := e.emit(EvReplaced, ReasonNone, t)
		ev.OrigClOrdID = old
		return
	}
	e.unlinkLevel(b, ti)
	t.price, t.qty, t.leaves = c.Price, c.Qty, c.Qty-t.cum
	ev := e.emit(EvReplaced, ReasonNone, t)
	ev.OrigClOrdID = old
	if !e.match(b, ti, -sideKey(t.side, t.price)) {
		e.cancelIncoming(ti)
		return
	}
	e.settle(b, ti)
}

// replaceRefusal is why the engine refuses replace c of live order t in
// book b, or ReasonNone; h is clHash64(c.Account, &c.ClOrdID).
func (e *Engine) replaceRefusal(b *book, c *Command, t *order, h uint64) Reason {
	switch {
	case c.OwnerID() != t.owner:
		return ReasonUnknownOrder // the trading account it names does not have the order
	case c.Side != 0 && c.Side != t.side, c.STP > uint8(STPDecrement)+1:
		return ReasonInvalidOrder // a replace never changes the side (0: not said)
	case !validQty(b, c.Qty):
		return ReasonInvalidQty
	case !validPrice(c.Price):
		return ReasonInvalidPrice
	case e.usedClOrdID(c.Account, &c.ClOrdID, h):
		return ReasonDuplicateClOrd
	case c.Price != t.price && outsideBand(b, c.Price):
		return ReasonPriceBand
	}
	return ReasonNone
}

// RefuseReplace answers replace c, which pre-trade risk refused for
// reason, without applying it: a live order is reported as it stands
// (EvCancelRejected with its order id and quantities) with the reason the
// engine itself would refuse c for (an unknown order for another trading
// account, a changed side, ...), or else reason; a replace of an order
// that is not working gets the engine's own answer (unknown order, too
// late, unknown symbol). It changes nothing. Hot path: no allocation
// beyond out's growth.
func (e *Engine) RefuseReplace(c *Command, reason Reason, out []Event) []Event {
	e.cmd, e.out, e.outBase = c, out, len(out)
	b := e.book(c.Symbol)
	ti, _, notWorking := e.findTarget(c)
	switch {
	case b == nil:
		e.rejectCmd(EvCancelRejected, ReasonUnknownSymbol)
	case ti == 0:
		e.rejectCmd(EvCancelRejected, notWorking)
	default:
		t := &e.orders[ti]
		if own := e.replaceRefusal(b, c, t, clHash64(c.Account, &c.ClOrdID)); own != ReasonNone {
			reason = own
		}
		e.rejectTarget(t, reason)
	}
	out = e.out
	e.cmd, e.out = nil, nil
	return out
}

func (e *Engine) applyMassCancel(c *Command) {
	m, _ := MassCancelOf(c)
	if m.Symbol != 0 && e.book(m.Symbol) == nil {
		e.rejectCmd(EvCancelRejected, ReasonUnknownSymbol)
		return
	}
	cancelled, reason := int64(0), m.reason()
	if a := e.accts.get(m.Account); a != nil {
		// The account's list is in acceptance order, so the cancels come oldest first.
		for oi := a.head; oi != 0; {
			o := &e.orders[oi]
			next := o.anext
			if (m.Symbol == 0 || o.symbol == m.Symbol) && (m.Scope != ScopeDayOrders || o.tif == Day) {
				e.unlinkLevel(e.book(o.symbol), oi)
				o.leaves = 0
				e.emit(EvCancelled, reason, o)
				cancelled++
				e.finish(oi, ReasonMassCancel) // may delete the account's entry when its list empties
			}
			oi = next
		}
	}
	if m.Origin == OriginKillSwitch {
		cancelled += e.cancelOwned(&m, reason)
	}
	if m.Report {
		e.rejectCmd(EvMassCancelReport, ReasonNone)
		e.out[len(e.out)-1].CumQty = cancelled
	}
}

// cancelOwned cancels, oldest first, every resting order that kill-switch
// mass cancel m takes whose trading account is m.Account and whose
// session is another (those of m.Account's own session are on its account
// list): the kill switch of a firm's named account takes the orders every
// session of the firm placed for it. Cold path: the operator's; it scans
// the pool (as applyEndOfDay does) and allocates only to grow dayOrders,
// which it borrows.
func (e *Engine) cancelOwned(m *MassCancel, reason Reason) int64 {
	e.dayOrders = e.dayOrders[:0]
	for oi := int32(1); oi < int32(len(e.orders)); oi++ {
		o := &e.orders[oi]
		if o.level != 0 && o.owner == m.Account && o.account != m.Account &&
			(m.Symbol == 0 || o.symbol == m.Symbol) && (m.Scope != ScopeDayOrders || o.tif == Day) {
			e.dayOrders = append(e.dayOrders, oi)
		}
	}
	e.endCollected(EvCancelled, reason, ReasonMassCancel)
	return int64(len(e.dayOrders))
}

// applyEndOfDay expires every resting Day order, oldest (lowest order id)
// first, and starts a new ClOrdID day: the retired store forgets every
// ClOrdID it remembers, those of the orders just expired included. A live
// GTC order keeps its ClOrdID, which stays in use. Cold path: once a day;
// it allocates only to grow dayOrders.
func (e *Engine) applyEndOfDay() {
	e.dayOrders = e.dayOrders[:0]
	for oi := int32(1); oi < int32(len(e.orders)); oi++ {
		// A pool entry is a resting order exactly when it is linked into a
		// level: free entries and orders still matching have no level.
		if o := &e.orders[oi]; o.level != 0 && o.tif == Day {
			e.dayOrders = append(e.dayOrders, oi)
		}
	}
	e.endCollected(EvExpired, ReasonExpired, ReasonExpired)
	e.ret.reset()
}

// endCollected takes every resting order in dayOrders off its book,
// oldest (lowest order id) first, with one event typ for reason, and
// finishes it with end. An expiry's ExecID, and a block's cancel's, is
// EndOfDayExecID: the node gives the end of day and a block record to
// every engine at once. Cold path: the kill switch's and the end of day's.
func (e *Engine) endCollected(typ EventType, reason, end Reason) {
	// The pool reuses entries, so its order is not acceptance order; order
	// ids are (they are command sequence numbers).
	slices.SortFunc(e.dayOrders, func(a, b int32) int { return cmp.Compare(e.orders[a].id, e.orders[b].id) })
	for _, oi := range e.dayOrders {
		o := &e.orders[oi]
		e.unlinkLevel(e.book(o.symbol), oi)
		o.leaves = 0
		ev := e.emit(typ, reason, o)
		if typ == EvExpired || e.cmd.Kind == KindBlock {
			ev.ExecID = EndOfDayExecID(o.id)
		}
		e.finish(oi, end)
	}
}

// emit appends an event describing order o after the change it reports.
// Hot path: it fills the slot field by field, so a 152-byte event is
// written once rather than zeroed, built and copied.
func (e *Engine) emit(typ EventType, reason Reason, o *order) *Event {
	c := e.cmd
	ev, n := e.slot()
	ev.Seq, ev.TimeNs, ev.OrderID, ev.ExecID = c.Seq, c.TimeNs, o.id, c.Seq*ExecIDStride+int64(n-e.outBase)
	ev.Price, ev.OrderQty, ev.LastQty, ev.LastPx = o.price, o.qty, 0, 0
	ev.CumQty, ev.LeavesQty, ev.CumNotional = o.cum, o.leaves, o.notional
	ev.Symbol, ev.Account, ev.Type, ev.Reason = o.symbol, o.account, typ, reason
	ev.Side, ev.OrdType, ev.TIF, ev.Kind = o.side, o.typ, o.tif, c.Kind
	// A ClOrdID is assigned in a statement of its own: in a tuple
	// assignment it goes through a stack temporary, whose overlapping
	// 16-byte stores and reloads stall store forwarding.
	ev.ClOrdID = o.clOrd
	ev.OrigClOrdID = ClOrdID{}
	ev.Owner = 0
	if o.owner != o.account {
		ev.Owner = uint16(o.owner) // a new order's owner is at most MaxOwner (checkNew)
	}
	return ev
}

// slot appends an event to the command's and returns it, with its index
// in out; its fields are stale, the caller sets every one. Hot path.
func (e *Engine) slot() (*Event, int) {
	n := len(e.out)
	if n == cap(e.out) {
		e.out = append(e.out, Event{})
	} else {
		e.out = e.out[:n+1]
	}
	return &e.out[n], n
}

// rejectCmd answers the command with a reject built from the command
// alone. Hot path: field by field, as emit.
func (e *Engine) rejectCmd(typ EventType, reason Reason) {
	c := e.cmd
	ev, n := e.slot()
	ev.Seq, ev.TimeNs, ev.OrderID, ev.ExecID = c.Seq, c.TimeNs, c.OrderID, c.Seq*ExecIDStride+int64(n-e.outBase)
	ev.Price, ev.OrderQty, ev.LastQty, ev.LastPx = c.Price, c.Qty, 0, 0
	ev.CumQty, ev.LeavesQty, ev.CumNotional = 0, 0, 0
	ev.Symbol, ev.Account, ev.Type, ev.Reason = c.Symbol, c.Account, typ, reason
	ev.Side, ev.OrdType, ev.TIF, ev.Kind = c.Side, c.Type, c.TIF, c.Kind
	ev.ClOrdID = c.ClOrdID
	ev.OrigClOrdID = c.OrigClOrdID
	ev.Owner = c.EventOwner()
}

// rejectTarget refuses a replace of a live order, reporting the order's state.
func (e *Engine) rejectTarget(t *order, reason Reason) {
	ev := e.emit(EvCancelRejected, reason, t)
	ev.ClOrdID = e.cmd.ClOrdID
	ev.OrigClOrdID = e.cmd.OrigClOrdID
}
