package marketdata

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

// Symbol is one listed instrument as market data names and writes it; its
// id is its 1-based position in Options.Symbols.
type Symbol struct {
	Name string
	Tick gateway.Scale
	Lot  gateway.Scale
}

// Options configure a Feed.
type Options struct {
	Symbols []Symbol
	Log     *slog.Logger // nil: slog.Default(); the feed adds component=marketdata
	// MaxTradesPending bounds the trades held for the market-data
	// goroutine between two of its passes; beyond it trades are conflated
	// away (the books stay exact), and their symbols' incremental
	// subscriptions to trades get a snapshot. 0: DefaultMaxTradesPending.
	MaxTradesPending int
	// BehindBytes is how much output may wait for a subscriber's socket
	// before its subscriptions are conflated: they get nothing more until
	// half of it has drained, then a snapshot (W) of each symbol, and
	// updates again. It keeps market data from making a broker's session
	// a slow consumer (fix.Config.OutQueueMaxBytes, 8 MiB by default),
	// which would disconnect it. 0: DefaultBehindBytes.
	BehindBytes int
	// ByOrderSessions are the TargetCompIDs of the sessions that may ask
	// for books by order (AggregatedBook N). With none, the books by
	// order are not kept.
	ByOrderSessions []string
	// RptSeqSessions are the TargetCompIDs of the sessions sent RptSeq
	// (83): in each entry of X, and in the body of W. Others get W and X
	// as the stock FIX 4.2 and 4.4 dictionaries define them.
	RptSeqSessions []string
}

// Defaults of Options.
const (
	DefaultMaxTradesPending = 1 << 16
	DefaultBehindBytes      = 1 << 20
)

// Subscriber is where market data goes: a FIX session (fix.Session). The
// messages are the same in FIX 4.2 and 4.4.
type Subscriber interface {
	Send(msgType string, body *fix.Fields) error
	Queued() int // bytes waiting for the subscriber's socket
	TargetCompID() string
}

// Feed is the exchange's market data: the publish stage feeds it events
// (Apply, EndBatch), sessions ask it for books (Request), and its own
// goroutine answers them.
type Feed struct {
	opts    Options
	names   map[string]uint32
	byOrder map[string]bool // Options.ByOrderSessions
	rptSeq  map[string]bool // Options.RptSeqSessions
	tap     tap             // publish stage only

	mu      sync.Mutex // the hand-off: the publish stage once per batch, the goroutine once per pass
	pend    pending
	dropped int64        // trades conflated away since the last pass; under mu
	lostBy  []lostTrades // by symbol id: its trades conflated away since the last pass (n 0: none); under mu
	lostNow []uint32     // the symbols lostBy holds a trade of; under mu
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	subMu   sync.Mutex // the goroutine's pass, and requests from sessions
	books   []book     // by symbol id; [0] unused
	bySess  map[Subscriber][]*subscription
	work    pending // the pass's copy of pend
	changes []change
	orderCs []orderChange          // a pass's order changes, by symbol and stamp
	dayCs   []dayChange            // a pass's changes of the day's prices, by symbol
	orderAt map[int64]restingOrder // every order in the books by order, as they hold it
	entries []entry                // a symbol's changes in a pass, to the whole book
	limited []entry                // the same, to a view of the first levels
	byOrd   []entry                // the same, to the book by order
	queued  []*subscription        // subscriptions with entries to send at the end of the pass
	behind  []*subscription        // subscriptions conflated while their subscriber catches up
	before  [2][]matcher.Level
	out     fix.Fields
	groups  []group      // the entries of each X of a pass, encoded once for every subscription that gets them
	lost    []lostTrades // the pass's copy of lostBy, of the symbols in lostNow
}

// lostTrades are one symbol's trades conflated away: how many, and the
// last of them.
type lostTrades struct {
	last Trade
	n    int64
}

// pending is what the publish stage hands the goroutine: the quantity now
// at every level touched since the last pass, the trades, each order
// changed (with books by order) and each symbol's day prices changed, as
// they are now.
type pending struct {
	levels map[levelKey]int64
	trades []Trade
	orders map[int64]restingOrder
	days   map[uint32]dayStats
}

func newPending() pending {
	return pending{levels: map[levelKey]int64{}, orders: map[int64]restingOrder{}, days: map[uint32]dayStats{}}
}

// dayChange is one symbol's day prices as they are now, in a pass.
type dayChange struct {
	sym uint32
	now dayStats
}

// change is one level of one symbol set to a quantity, in a pass.
type change struct {
	key levelKey
	qty int64
}

// New builds a feed with empty books; Seed fills them before Start.
func New(opts Options) *Feed {
	if opts.MaxTradesPending <= 0 {
		opts.MaxTradesPending = DefaultMaxTradesPending
	}
	if opts.BehindBytes <= 0 {
		opts.BehindBytes = DefaultBehindBytes
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	opts.Log = opts.Log.With("component", "marketdata")
	f := &Feed{
		opts: opts, names: make(map[string]uint32, len(opts.Symbols)), byOrder: map[string]bool{}, rptSeq: map[string]bool{},
		tap:  newTap(len(opts.Symbols), len(opts.ByOrderSessions) > 0),
		pend: newPending(), work: newPending(), orderAt: map[int64]restingOrder{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		books: make([]book, len(opts.Symbols)+1), bySess: map[Subscriber][]*subscription{},
		lostBy: make([]lostTrades, len(opts.Symbols)+1), lostNow: make([]uint32, 0, len(opts.Symbols)),
		lost: make([]lostTrades, 0, len(opts.Symbols)),
	}
	for i, s := range opts.Symbols {
		f.names[s.Name] = uint32(i + 1)
	}
	for _, c := range opts.ByOrderSessions {
		f.byOrder[c] = true
	}
	for _, c := range opts.RptSeqSessions {
		f.rptSeq[c] = true
	}
	return f
}

// Seed adds an order resting in an engine before the pipeline starts
// (matcher.Engine.Resting). Cold path.
func (f *Feed) Seed(o matcher.RestingOrder) { f.tap.seed(o) }

// SeedLastTrade sets symbol's last trade price, as the engine keeps it
// (matcher.Engine.LastTradePx), before Start; its quantity is not known.
func (f *Feed) SeedLastTrade(symbol uint32, px int64) {
	if symbol > 0 && int(symbol) < len(f.books) {
		f.books[symbol].lastPx = px
		f.tap.lastPx[symbol] = px
	}
}

// Start copies the seeded books and day prices to the goroutine's side
// and starts it.
func (f *Feed) Start() {
	f.tap.dayDirty = f.tap.dayDirty[:0]
	for sym := 1; sym < len(f.tap.days); sym++ {
		f.tap.dayDirty = append(f.tap.dayDirty, uint32(sym))
	}
	f.EndBatch()
	f.pass()
	go f.run()
}

// Stop ends the goroutine once it has passed on what the publish stage
// handed it. Call it after the pipeline has drained.
func (f *Feed) Stop() {
	close(f.stop)
	<-f.done
}

// Apply takes one event, after its command is durable and matched, in
// sequence order. Publish stage only. Hot path: no allocation once the
// tap's maps have grown to the working set, no lock.
func (f *Feed) Apply(ev *matcher.Event) { f.tap.apply(ev) }

// EndBatch hands what the batch changed to the market-data goroutine and
// wakes it. Publish stage only. Hot path: one lock per batch (the hand-off
// to another goroutine), held only to copy the batch's levels and trades
// and to mark the symbols of trades that find no room; no allocation once
// the pending map has grown.
func (f *Feed) EndBatch() {
	t := &f.tap
	if len(t.dirty) == 0 && len(t.trades) == 0 && len(t.orderDirty) == 0 && len(t.dayDirty) == 0 {
		return
	}
	f.mu.Lock()
	for _, k := range t.dirty {
		f.pend.levels[k] = t.levels[k]
	}
	for _, o := range t.orderDirty {
		f.pend.orders[o.id] = o.now
	}
	for _, sym := range t.dayDirty {
		f.pend.days[sym] = t.days[sym]
	}
	room := f.opts.MaxTradesPending - len(f.pend.trades)
	if len(t.trades) > room {
		f.lose(t.trades[room:])
		t.trades = t.trades[:room]
	}
	f.pend.trades = append(f.pend.trades, t.trades...)
	f.mu.Unlock()
	t.dirty, t.trades, t.orderDirty, t.dayDirty = t.dirty[:0], t.trades[:0], t.orderDirty[:0], t.dayDirty[:0]
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// lose counts trades conflated away and keeps each symbol's last and how
// many: the next pass takes the last as the symbol's last trade and sends
// the symbol's subscribers to trades a snapshot, their RptSeq past the
// trades lost. Every trade kept traded before them.
// Under mu. Hot path: no allocation (lostNow has room for every symbol).
func (f *Feed) lose(ts []Trade) {
	f.dropped += int64(len(ts))
	for i := range ts {
		sym := ts[i].Symbol
		if sym == 0 || int(sym) >= len(f.lostBy) {
			continue // not a listed symbol: the matcher refuses its orders
		}
		l := &f.lostBy[sym]
		if l.n == 0 {
			f.lostNow = append(f.lostNow, sym)
		}
		l.last = ts[i]
		l.n++
	}
}

// run is the market-data goroutine: one pass per wake-up, over everything
// handed to it since the last, so a goroutine that falls behind conflates
// (one update per level per pass) rather than holding the ring back.
func (f *Feed) run() {
	defer close(f.done)
	for {
		var retry <-chan time.Time
		f.subMu.Lock()
		if len(f.behind) > 0 {
			retry = time.After(catchUpEvery)
		}
		f.subMu.Unlock()
		select {
		case <-f.wake:
			f.pass()
		case <-retry:
			f.subMu.Lock()
			f.catchUp()
			f.subMu.Unlock()
		case <-f.stop:
			f.pass()
			return
		}
	}
}

// catchUpEvery is how often a subscriber that fell behind is looked at
// again while nothing changes.
const catchUpEvery = 10 * time.Millisecond

// isBehind reports whether s's subscriber has more output waiting than
// Options.BehindBytes, and if so conflates s until it catches up. Under
// subMu.
func (f *Feed) isBehind(s *subscription) bool {
	if s.behind {
		return true
	}
	if s.to.Queued() <= f.opts.BehindBytes {
		return false
	}
	s.behind = true
	f.behind = append(f.behind, s)
	f.opts.Log.Warn("subscriber behind: updates are held back until it catches up, then a snapshot follows", "md_req_id", s.reqID, "queued_bytes", s.to.Queued())
	return true
}

// catchUp sends each conflated subscription whose subscriber has drained
// half of Options.BehindBytes a snapshot (W) of each of its symbols, and
// updates from then on. Under subMu.
func (f *Feed) catchUp() {
	for i := 0; i < len(f.behind); {
		s := f.behind[i]
		if s.to.Queued() > f.opts.BehindBytes/2 {
			i++
			continue
		}
		s.behind = false
		f.behind = append(f.behind[:i], f.behind[i+1:]...)
		for at, sym := range s.syms {
			f.sendSnapshot(s, sym, at)
		}
	}
}

// pass applies what is pending to the goroutine's books and tells each
// subscription what changed in its view.
func (f *Feed) pass() {
	f.take()
	f.sortWork()
	cs, ts, os, ds := f.changes, f.work.trades, f.orderCs, f.dayCs
	f.subMu.Lock()
	f.catchUp() // its snapshots are of the books before this pass, its updates follow
	for len(cs) > 0 || len(ts) > 0 || len(os) > 0 || len(ds) > 0 {
		sym := nextSymbol(cs, ts, os, ds)
		nc, nt, no := 0, 0, 0
		for nc < len(cs) && cs[nc].key.sym() == sym {
			nc++
		}
		for nt < len(ts) && ts[nt].Symbol == sym {
			nt++
		}
		for no < len(os) && os[no].now.key.sym() == sym {
			no++
		}
		var day *dayStats
		if len(ds) > 0 && ds[0].sym == sym {
			day, ds = &ds[0].now, ds[1:]
		}
		f.update(sym, cs[:nc], ts[:nt], os[:no], day)
		cs, ts, os = cs[nc:], ts[nt:], os[no:]
	}
	for _, s := range f.queued {
		if !f.isBehind(s) {
			f.sendIncremental(s, s.out)
		}
		s.out = s.out[:0]
	}
	clear(f.queued)
	f.queued = f.queued[:0]
	for i := range f.groups {
		f.groups[i].entries = nil
	}
	f.tellLost()
	f.subMu.Unlock()
	f.work.trades = f.work.trades[:0]
}

// take swaps what the publish stage handed in for the pass to work on,
// with the symbols whose trades were conflated away.
func (f *Feed) take() {
	f.mu.Lock()
	f.pend, f.work = f.work, f.pend
	dropped := f.dropped
	f.dropped = 0
	f.lost = f.lost[:0]
	for _, sym := range f.lostNow {
		f.lost = append(f.lost, f.lostBy[sym])
		f.lostBy[sym] = lostTrades{}
	}
	f.lostNow = f.lostNow[:0]
	f.mu.Unlock()
	if dropped > 0 {
		f.opts.Log.Warn("trades conflated away: the market-data goroutine fell behind the publish stage; their symbols' trade subscribers get a snapshot",
			"trades", dropped, "symbols", len(f.lost))
	}
}

// tellLost takes the last trade of each symbol whose trades were
// conflated away, and sends each incremental subscription to its trades
// a snapshot (W) of it, after the pass's updates: a W within a
// subscription says that what came before it was not all sent. Its
// RptSeq counts the trades lost, so they are a gap too. A subscription
// behind gets its snapshot as it catches up. Under subMu.
func (f *Feed) tellLost() {
	for _, l := range f.lost {
		sym := l.last.Symbol
		b := &f.books[sym]
		b.lastPx, b.lastQty = l.last.Px, l.last.Qty
		for _, s := range b.subs {
			if !s.incremental || s.types&entryTrade == 0 {
				continue
			}
			if rpt := s.rpt(s.at); rpt != nil {
				*rpt += l.n
			}
			if !f.isBehind(s.subscription) {
				f.sendSnapshot(s.subscription, sym, s.at)
			}
		}
	}
}

// sortWork turns what the pass took into lists by symbol: the levels by
// symbol, side and price, the trades in the order they traded, the orders
// in time priority, the day prices.
func (f *Feed) sortWork() {
	w := &f.work
	f.changes = f.changes[:0]
	for k, q := range w.levels {
		f.changes = append(f.changes, change{k, q})
	}
	clear(w.levels)
	slices.SortFunc(f.changes, func(a, b change) int { return cmp.Compare(a.key, b.key) })
	slices.SortStableFunc(w.trades, func(a, b Trade) int { return cmp.Compare(a.Symbol, b.Symbol) })
	f.orderCs = f.orderCs[:0]
	for id, o := range w.orders {
		f.orderCs = append(f.orderCs, orderChange{id, o})
	}
	clear(w.orders)
	slices.SortFunc(f.orderCs, func(a, b orderChange) int {
		return cmp.Or(cmp.Compare(a.now.key.sym(), b.now.key.sym()), cmp.Compare(a.now.stamp, b.now.stamp), cmp.Compare(a.id, b.id))
	})
	f.dayCs = f.dayCs[:0]
	for sym, d := range w.days {
		f.dayCs = append(f.dayCs, dayChange{sym, d})
	}
	clear(w.days)
	slices.SortFunc(f.dayCs, func(a, b dayChange) int { return cmp.Compare(a.sym, b.sym) })
}

// nextSymbol is the lowest symbol at the head of the pass's lists, one of
// which is not empty.
func nextSymbol(cs []change, ts []Trade, os []orderChange, ds []dayChange) uint32 {
	sym := ^uint32(0)
	if len(cs) > 0 {
		sym = cs[0].key.sym()
	}
	if len(ts) > 0 {
		sym = min(sym, ts[0].Symbol)
	}
	if len(os) > 0 {
		sym = min(sym, os[0].now.key.sym())
	}
	if len(ds) > 0 {
		sym = min(sym, ds[0].sym)
	}
	return sym
}

// update applies one symbol's changes, trades, orders and day prices (nil:
// unchanged) to its book and sends each of its subscriptions what it sees
// change. Under subMu.
func (f *Feed) update(sym uint32, cs []change, ts []Trade, os []orderChange, day *dayStats) {
	if sym == 0 || int(sym) >= len(f.books) {
		return
	}
	b := &f.books[sym]
	depth := b.maxDepth()
	for i := range f.before {
		f.before[i] = append(f.before[i][:0], b.top(i, depth)...)
	}
	// The pass's trades come first, in the order they traded, then the
	// day's prices, the same in both books, then the levels (or orders)
	// as they stand after them.
	full := f.entries[:0]
	for _, t := range ts {
		b.lastPx, b.lastQty = t.Px, t.Qty
		full = append(full, entry{action: actionNew, typ: '2', px: t.Px, qty: t.Qty})
	}
	if day != nil {
		full = dayEntries(full, &b.day, day)
		b.day = *day
	}
	nCommon := len(full)
	byOrd := f.orderEntries(b, append(f.byOrd[:0], full...), os)
	for _, c := range cs {
		i, px := sideIndex(c.key.side()), c.key.px()
		if a := b.set(i, px, c.qty); a != 0 {
			full = append(full, entry{action: a, typ: byte('0' + i), px: px, qty: c.qty})
		}
	}
	f.entries, f.byOrd = full, byOrd
	for _, s := range b.subs {
		es := full
		if s.byOrder {
			es = byOrd
		}
		switch {
		case len(es) == 0:
		case !s.incremental:
			if rpt := s.rpt(s.at); rpt != nil {
				*rpt++ // each W on a change is one update of its view
			}
			if !f.isBehind(s.subscription) {
				f.sendSnapshot(s.subscription, sym, s.at)
			}
		case s.depth == 0:
			f.queue(s, sym, es)
		default:
			// A view of the first levels sees the trades and the day's
			// prices, then what changed in it.
			limited := append(f.limited[:0], full[:nCommon]...)
			for i := range f.before {
				if s.types&(1<<i) != 0 {
					limited = diffTop(limited, i, top(f.before[i], s.depth), b.top(i, s.depth))
				}
			}
			f.limited = limited
			f.queue(s, sym, limited)
		}
	}
}

// queue adds the entries of symbol sym that s asked for to what it is sent
// at the end of the pass: one incremental refresh for all its symbols.
// With RptSeq each is one update of sym in s's view, numbered in turn,
// also while s is behind: the snapshot it gets as it catches up shows
// what it was not sent as a gap.
func (f *Feed) queue(v view, sym uint32, es []entry) {
	s, rpt := v.subscription, v.rpt(v.at)
	if s.behind && rpt == nil {
		return
	}
	n := len(s.out)
	for _, e := range es {
		if s.types&(1<<(e.typ-'0')) == 0 {
			continue
		}
		if rpt != nil {
			*rpt++
			e.rptSeq = *rpt
		}
		if !s.behind {
			e.sym = sym
			s.out = append(s.out, e)
		}
	}
	if n == 0 && len(s.out) > 0 {
		f.queued = append(f.queued, s)
	}
}

func top(lv []matcher.Level, depth int) []matcher.Level {
	if len(lv) > depth {
		return lv[:depth]
	}
	return lv
}
