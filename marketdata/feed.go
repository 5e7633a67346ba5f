package marketdata

import (
	"cmp"
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
	Logf    func(format string, args ...any) // nil: none
	// MaxTradesPending bounds the trades held for the market-data
	// goroutine between two of its passes; beyond it trades are conflated
	// away (the books stay exact). 0: DefaultMaxTradesPending.
	MaxTradesPending int
	// BehindBytes is how much output may wait for a subscriber's socket
	// before its subscriptions are conflated: they get nothing more until
	// half of it has drained, then a snapshot (W) of each symbol, and
	// updates again. It keeps market data from making a broker's session
	// a slow consumer (fix.Config.OutQueueMaxBytes, 8 MiB by default),
	// which would disconnect it. 0: DefaultBehindBytes.
	BehindBytes int
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
}

// Feed is the exchange's market data: the publish stage feeds it events
// (Apply, EndBatch), sessions ask it for books (Request), and its own
// goroutine answers them.
type Feed struct {
	opts  Options
	names map[string]uint32
	tap   tap // publish stage only

	mu      sync.Mutex // the hand-off: the publish stage once per batch, the goroutine once per pass
	pend    pending
	dropped int64 // trades conflated away since the last pass; under mu
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	subMu   sync.Mutex // the goroutine's pass, and requests from sessions
	books   []book     // by symbol id; [0] unused
	bySess  map[Subscriber][]*subscription
	work    pending // the pass's copy of pend
	changes []change
	entries []entry         // a symbol's changes in a pass, to the whole book
	limited []entry         // the same, to a view of the first levels
	queued  []*subscription // subscriptions with entries to send at the end of the pass
	behind  []*subscription // subscriptions conflated while their subscriber catches up
	before  [2][]matcher.Level
	out     fix.Fields
	groups  []group // the entries of each X of a pass, encoded once for every subscription that gets them
}

// pending is what the publish stage hands the goroutine: the quantity now
// at every level touched since the last pass, and the trades.
type pending struct {
	levels map[levelKey]int64
	trades []Trade
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
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	f := &Feed{
		opts: opts, names: make(map[string]uint32, len(opts.Symbols)), tap: newTap(),
		pend: pending{levels: map[levelKey]int64{}}, work: pending{levels: map[levelKey]int64{}},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		books: make([]book, len(opts.Symbols)+1), bySess: map[Subscriber][]*subscription{},
	}
	for i, s := range opts.Symbols {
		f.names[s.Name] = uint32(i + 1)
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
	}
}

// Start copies the seeded books to the goroutine's side and starts it.
func (f *Feed) Start() {
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
// to another goroutine), held only to copy the batch's levels and trades;
// no allocation once the pending map has grown.
func (f *Feed) EndBatch() {
	t := &f.tap
	if len(t.dirty) == 0 && len(t.trades) == 0 {
		return
	}
	f.mu.Lock()
	for _, k := range t.dirty {
		f.pend.levels[k] = t.levels[k]
	}
	room := f.opts.MaxTradesPending - len(f.pend.trades)
	if n := len(t.trades); n > room {
		f.dropped += int64(n - room)
		t.trades = t.trades[:room]
	}
	f.pend.trades = append(f.pend.trades, t.trades...)
	f.mu.Unlock()
	t.dirty, t.trades = t.dirty[:0], t.trades[:0]
	select {
	case f.wake <- struct{}{}:
	default:
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
	f.opts.Logf("marketdata: MDReqID %s: the subscriber is %d bytes behind; updates are held back until it catches up, then a snapshot follows", s.reqID, s.to.Queued())
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
		for _, sym := range s.syms {
			f.sendSnapshot(s.to, s, sym)
		}
	}
}

// pass applies what is pending to the goroutine's books and tells each
// subscription what changed in its view.
func (f *Feed) pass() {
	f.mu.Lock()
	f.pend, f.work = f.work, f.pend
	dropped := f.dropped
	f.dropped = 0
	f.mu.Unlock()
	if dropped > 0 {
		f.opts.Logf("marketdata: %d trades conflated away: the market-data goroutine fell behind the publish stage", dropped)
	}
	f.changes = f.changes[:0]
	for k, q := range f.work.levels {
		f.changes = append(f.changes, change{k, q})
	}
	clear(f.work.levels)
	slices.SortFunc(f.changes, func(a, b change) int {
		return cmp.Compare(a.key, b.key) // by symbol, side, price
	})
	trades := f.work.trades
	slices.SortStableFunc(trades, func(a, b Trade) int { return cmp.Compare(a.Symbol, b.Symbol) })
	f.subMu.Lock()
	f.catchUp() // its snapshots are of the books before this pass, its updates follow
	for len(f.changes) > 0 || len(trades) > 0 {
		sym := nextSymbol(f.changes, trades)
		nc, nt := 0, 0
		for nc < len(f.changes) && f.changes[nc].key.sym() == sym {
			nc++
		}
		for nt < len(trades) && trades[nt].Symbol == sym {
			nt++
		}
		f.update(sym, f.changes[:nc], trades[:nt])
		f.changes, trades = f.changes[nc:], trades[nt:]
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
	f.subMu.Unlock()
	f.work.trades = f.work.trades[:0]
}

func nextSymbol(cs []change, ts []Trade) uint32 {
	switch {
	case len(cs) == 0:
		return ts[0].Symbol
	case len(ts) == 0:
		return cs[0].key.sym()
	}
	return min(cs[0].key.sym(), ts[0].Symbol)
}

// update applies one symbol's changes and trades to its book and sends
// each of its subscriptions what it sees change. Under subMu.
func (f *Feed) update(sym uint32, cs []change, ts []Trade) {
	if sym == 0 || int(sym) >= len(f.books) {
		return
	}
	b := &f.books[sym]
	depth := b.maxDepth()
	for i := range f.before {
		f.before[i] = append(f.before[i][:0], b.top(i, depth)...)
	}
	// The pass's trades come first, in the order they traded, then the
	// levels as they stand after them; each is one update of the symbol.
	full := f.entries[:0]
	for _, t := range ts {
		b.rptSeq++
		b.lastPx, b.lastQty = t.Px, t.Qty
		full = append(full, entry{action: actionNew, typ: '2', px: t.Px, qty: t.Qty, rptSeq: b.rptSeq})
	}
	nTrades := len(full)
	for _, c := range cs {
		i, px := sideIndex(c.key.side()), c.key.px()
		if a := b.set(i, px, c.qty); a != 0 {
			b.rptSeq++
			full = append(full, entry{action: a, typ: byte('0' + i), px: px, qty: c.qty, rptSeq: b.rptSeq})
		}
	}
	f.entries = full
	if len(full) == 0 {
		return
	}
	for _, s := range b.subs {
		switch {
		case !s.incremental:
			if !f.isBehind(s) {
				f.sendSnapshot(s.to, s, sym)
			}
		case s.depth == 0:
			f.queue(s, sym, full)
		default:
			// A view of the first levels sees the trades, then what
			// changed in it, as of the symbol's last update.
			limited := append(f.limited[:0], full[:nTrades]...)
			for i := range f.before {
				if s.types&(1<<i) != 0 {
					limited = diffTop(limited, i, top(f.before[i], s.depth), b.top(i, s.depth), b.rptSeq)
				}
			}
			f.limited = limited
			f.queue(s, sym, limited)
		}
	}
}

// queue adds the entries of symbol sym that s asked for to what it is sent
// at the end of the pass: one incremental refresh for all its symbols.
func (f *Feed) queue(s *subscription, sym uint32, es []entry) {
	if s.behind {
		return
	}
	n := len(s.out)
	for _, e := range es {
		if s.types&(1<<(e.typ-'0')) != 0 {
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
