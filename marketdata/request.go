package marketdata

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ringex/ringex/fix"
)

// FIX tags of market data.
const (
	tagSymbol          = 55
	tagOrderID         = 37
	tagText            = 58
	tagRptSeq          = 83
	tagNoRelatedSym    = 146
	tagMDReqID         = 262
	tagSubReqType      = 263
	tagMarketDepth     = 264
	tagMDUpdateType    = 265
	tagAggregatedBook  = 266
	tagNoMDEntryTypes  = 267
	tagNoMDEntries     = 268
	tagMDEntryType     = 269
	tagMDEntryPx       = 270
	tagMDEntrySize     = 271
	tagMDUpdateAction  = 279
	tagMDEntryPosNo    = 290
	tagMDReqRejReason  = 281
	maxEntriesPerX     = 256  // an incremental refresh longer than this goes out as several
	MaxDepth           = 100  // deepest limited view (MarketDepth N); 0, the whole book, is always served
	MaxSubsPerSession  = 1000 // subscriptions one session may hold at once
	maxSymbolsPerReqst = 1000
)

// MDReqRejReason(281) values, the same in FIX 4.2 and 4.4.
const (
	rejUnknownSymbol   = '0'
	rejDuplicateReqID  = '1'
	rejBandwidth       = '2'
	rejSubReqType      = '4'
	rejMarketDepth     = '5'
	rejMDUpdateType    = '6'
	rejAggregatedBook  = '7'
	rejMDEntryType     = '8'
	noRejReason        = 0 // Y without MDReqRejReason: the reason is in Text alone
	entryTypesServed   = "0 bid, 1 offer, 2 trade, 4 open, 5 close, 7 high, 8 low"
	entryBid, entryAsk = 1 << 0, 1 << 1
	entryTrade         = 1 << 2
)

// entryTypes are the MDEntryTypes served, each a bit of subscription.types
// (1 << (type - '0')).
const entryTypes = "0124578"

// subscription is one MarketDataRequest with SubscriptionRequestType 1.
type subscription struct {
	to          Subscriber
	reqID       string
	syms        []uint32
	depth       int  // 0: the whole book
	incremental bool // MDUpdateType 1: X; 0: a W on every change
	byOrder     bool // AggregatedBook N: the book by order
	types       uint16
	out         []entry // a pass's entries for it, its types only (Feed.queue)
	behind      bool    // conflated until its subscriber catches up (Feed.isBehind)
	rptSeq      []int64 // by position in syms: the symbol's updates in this view so far; nil: no RptSeq sent
}

// rpt is where s counts the updates in its view of its symbol at position
// at of syms (RptSeq), nil when its session is not sent RptSeq.
func (s *subscription) rpt(at int) *int64 {
	if s.rptSeq == nil {
		return nil
	}
	return &s.rptSeq[at]
}

// request is a MarketDataRequest as read.
type request struct {
	reqID      []byte
	subType    []byte
	depth      int
	updateType int // -1: absent
	aggregated []byte
	types      uint16
	badType    []byte
	nTypes     int
	syms       []uint32
	unknown    []byte
	nSyms      int
}

func (f *Feed) parse(m *fix.Message) request {
	r := request{updateType: -1}
	for i := range m.Len() {
		tag, v := m.Field(i)
		switch tag {
		case tagMDReqID:
			r.reqID = v
		case tagSubReqType:
			r.subType = v
		case tagMarketDepth:
			r.depth = atoi(v)
		case tagMDUpdateType:
			r.updateType = atoi(v)
		case tagAggregatedBook:
			r.aggregated = v
		case tagMDEntryType:
			r.nTypes++
			if len(v) == 1 && strings.IndexByte(entryTypes, v[0]) >= 0 {
				r.types |= 1 << (v[0] - '0')
			} else if r.badType == nil {
				r.badType = v
			}
		case tagSymbol:
			r.nSyms++
			if id := f.names[string(v)]; id != 0 {
				if !slices.Contains(r.syms, id) { // named twice, served once
					r.syms = append(r.syms, id)
				}
			} else if r.unknown == nil {
				r.unknown = v
			}
		}
	}
	return r
}

// atoi reads a decimal the dictionary has checked; -1 for anything else.
func atoi(v []byte) int {
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return -1
	}
	return n
}

// refusal says why a request is refused: MDReqRejReason (noRejReason for
// none) and Text; reason -1: accepted.
func (f *Feed) refusal(r *request, active, byOrderOK bool) (byte, string) {
	byOrder := string(r.aggregated) == "N"
	switch {
	case len(r.subType) != 1 || r.subType[0] < '0' || r.subType[0] > '2':
		return rejSubReqType, "SubscriptionRequestType " + string(r.subType) + " not supported (0 snapshot, 1 subscribe, 2 unsubscribe)"
	case r.subType[0] == '2' && !active:
		return noRejReason, "no subscription with MDReqID " + string(r.reqID) + " to unsubscribe"
	case r.subType[0] == '2':
		return 0xff, ""
	case r.subType[0] == '1' && active:
		return rejDuplicateReqID, "duplicate MDReqID " + string(r.reqID) + ": a subscription with it is active"
	case r.depth < 0 || r.depth > MaxDepth:
		return rejMarketDepth, "MarketDepth " + strconv.Itoa(r.depth) + " not supported (0 whole book, 1 top, up to " + strconv.Itoa(MaxDepth) + ")"
	case r.updateType != -1 && r.updateType != 0 && r.updateType != 1:
		return rejMDUpdateType, "MDUpdateType " + strconv.Itoa(r.updateType) + " not supported (0 full refresh, 1 incremental)"
	case byOrder && !byOrderOK:
		return rejAggregatedBook, "books by order are not served to this session (AggregatedBook Y: by price)"
	case byOrder && r.depth != 0:
		return rejMarketDepth, "a book by order is served whole: MarketDepth 0"
	case r.badType != nil:
		return rejMDEntryType, "MDEntryType " + string(r.badType) + " not supported (" + entryTypesServed + ")"
	case r.nTypes == 0:
		return rejMDEntryType, "no MDEntryType asked for (" + entryTypesServed + ")"
	case r.unknown != nil:
		return rejUnknownSymbol, "unknown symbol " + string(r.unknown)
	case r.nSyms == 0 || r.nSyms > maxSymbolsPerReqst:
		return rejUnknownSymbol, "a request names 1 to " + strconv.Itoa(maxSymbolsPerReqst) + " symbols"
	}
	return 0xff, ""
}

// Request answers a MarketDataRequest (V) from session s: a snapshot (W)
// per symbol, and for a subscription every later change (X, or W with
// MDUpdateType 0) until it is unsubscribed or the session ends; or a
// MarketDataRequestReject (Y). It runs on the session's reader goroutine,
// m valid during the call. Cold path: a request allocates.
func (f *Feed) Request(s *fix.Session, m *fix.Message) { f.request(s, m) }

func (f *Feed) request(to Subscriber, m *fix.Message) {
	r := f.parse(m)
	f.subMu.Lock()
	defer f.subMu.Unlock()
	subs := f.bySess[to]
	at := -1
	for i, s := range subs {
		if s.reqID == string(r.reqID) {
			at = i
		}
	}
	reason, text := f.refusal(&r, at >= 0, f.byOrder[to.TargetCompID()])
	if reason == 0xff && len(subs) >= MaxSubsPerSession && r.subType[0] == '1' {
		reason, text = rejBandwidth, "more than "+strconv.Itoa(MaxSubsPerSession)+" subscriptions in one session"
	}
	if reason != 0xff {
		f.reject(to, r.reqID, reason, text)
		return
	}
	if r.subType[0] == '2' {
		f.unsubscribe(to, subs[at])
		return
	}
	s := &subscription{to: to, reqID: string(r.reqID), syms: r.syms, depth: r.depth, incremental: r.updateType != 0,
		byOrder: string(r.aggregated) == "N", types: r.types}
	if f.rptSeq[to.TargetCompID()] {
		s.rptSeq = make([]int64, len(r.syms))
	}
	for at, sym := range r.syms {
		f.sendSnapshot(s, sym, at)
	}
	if r.subType[0] == '0' {
		return
	}
	f.bySess[to] = append(subs, s)
	for at, sym := range s.syms {
		f.books[sym].subs = append(f.books[sym].subs, view{s, at})
	}
}

// SessionEnded drops every subscription of session s: a subscription does
// not outlive its connection (the broker asks again after its next Logon).
// The session's reader goroutine calls it as the connection ends.
func (f *Feed) SessionEnded(s *fix.Session) { f.sessionEnded(s) }

func (f *Feed) sessionEnded(to Subscriber) {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	for _, s := range f.bySess[to] {
		f.unsubscribe(to, s)
	}
	delete(f.bySess, to)
}

// unsubscribe removes s. Under subMu.
func (f *Feed) unsubscribe(to Subscriber, s *subscription) {
	f.bySess[to] = remove(f.bySess[to], s)
	f.behind = remove(f.behind, s)
	for _, sym := range s.syms {
		b := &f.books[sym]
		if i := slices.IndexFunc(b.subs, func(v view) bool { return v.subscription == s }); i >= 0 {
			b.subs = slices.Delete(b.subs, i, i+1)
		}
	}
}

func remove(list []*subscription, s *subscription) []*subscription {
	for i, x := range list {
		if x == s {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// Subscriptions is how many subscriptions are active, in all sessions.
func (f *Feed) Subscriptions() int {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	n := 0
	for _, subs := range f.bySess {
		n += len(subs)
	}
	return n
}

// reject sends a MarketDataRequestReject (Y).
func (f *Feed) reject(to Subscriber, reqID []byte, reason byte, text string) {
	var b fix.Fields
	b.AddBytes(tagMDReqID, reqID)
	if reason != noRejReason {
		b.AddChar(tagMDReqRejReason, reason)
	}
	b.AddString(tagText, text)
	if err := to.Send("Y", &b); err != nil {
		f.opts.Log.Warn("market data request reject not sent", "md_req_id", reqID, "err", err)
	}
}

// sendSnapshot sends symbol sym's book, at position at of s.syms, as s
// sees it, a full refresh (W):
// the bids and the offers it asked for, by price or by order, then the
// last trade and the day's prices. Under subMu.
func (f *Feed) sendSnapshot(s *subscription, sym uint32, at int) {
	b := &f.books[sym]
	spec := &f.opts.Symbols[sym-1]
	o := &f.out
	o.Reset()
	o.AddString(tagMDReqID, s.reqID)
	o.AddString(tagSymbol, spec.Name)
	if rpt := s.rpt(at); rpt != nil {
		o.AddInt(tagRptSeq, *rpt)
	}
	n := 0
	for i := range b.sides {
		switch {
		case s.types&(1<<i) == 0:
		case s.byOrder:
			n += b.orderCount(i)
		default:
			n += len(b.top(i, s.depth))
		}
	}
	hasTrade := s.types&entryTrade != 0 && b.lastPx > 0
	if hasTrade {
		n++
	}
	for _, typ := range dayTypes {
		if s.types&(1<<(typ-'0')) != 0 && b.day.price(typ) != 0 {
			n++
		}
	}
	o.AddInt(tagNoMDEntries, int64(n))
	for i := range b.sides {
		switch {
		case s.types&(1<<i) == 0:
		case s.byOrder:
			addOrders(o, spec, byte('0'+i), b.queues[i])
		default:
			for _, lv := range b.top(i, s.depth) {
				o.AddChar(tagMDEntryType, byte('0'+i))
				spec.Tick.AddTo(o, tagMDEntryPx, lv.Price)
				spec.Lot.AddTo(o, tagMDEntrySize, lv.Qty)
			}
		}
	}
	if hasTrade {
		o.AddChar(tagMDEntryType, '2')
		spec.Tick.AddTo(o, tagMDEntryPx, b.lastPx)
		if b.lastQty > 0 {
			spec.Lot.AddTo(o, tagMDEntrySize, b.lastQty)
		}
	}
	for _, typ := range dayTypes {
		if px := b.day.price(typ); s.types&(1<<(typ-'0')) != 0 && px != 0 {
			o.AddChar(tagMDEntryType, typ)
			spec.Tick.AddTo(o, tagMDEntryPx, px)
		}
	}
	if err := s.to.Send("W", o); err != nil {
		f.opts.Log.Warn("snapshot not sent", "symbol", spec.Name, "md_req_id", s.reqID, "err", err)
	}
}

// addOrders writes one side of a book by order: each order, best price
// first and in time priority within a price, with its OrderID and its
// MDEntryPositionNo (1 the first order of the side).
func addOrders(o *fix.Fields, spec *Symbol, typ byte, side []orderLevel) {
	pos := int64(0)
	for _, q := range side {
		for _, r := range q.orders {
			pos++
			o.AddChar(tagMDEntryType, typ)
			spec.Tick.AddTo(o, tagMDEntryPx, q.px)
			spec.Lot.AddTo(o, tagMDEntrySize, r.leaves)
			o.AddInt(tagOrderID, r.id)
			o.AddInt(tagMDEntryPosNo, pos)
		}
	}
}

// sendIncremental sends entries to s as incremental refreshes (X), up to
// maxEntriesPerX in each. Under subMu. Subscriptions that get the same
// entries in a pass (the same symbols and entry types, the whole book)
// share one encoding of them (f.group), which is most of the cost. No
// allocation once the buffers have grown.
func (f *Feed) sendIncremental(s *subscription, entries []entry) {
	for k := 0; len(entries) > 0; k++ {
		n := min(len(entries), maxEntriesPerX)
		g := f.encoded(k, entries[:n])
		entries = entries[n:]
		o := &f.out
		o.Reset()
		o.AddString(tagMDReqID, s.reqID)
		o.AddInt(tagNoMDEntries, int64(n))
		o.AddFields(&g.fields)
		if err := s.to.Send("X", o); err != nil {
			f.opts.Log.Warn("update not sent", "md_req_id", s.reqID, "err", err)
			return
		}
	}
}

// group is the k-th incremental refresh's entries of a pass, encoded.
type group struct {
	entries []entry // what fields holds; nil: nothing yet this pass
	fields  fix.Fields
}

// encoded returns chunk, the k-th X's entries, encoded: again only if the
// last subscription sent a k-th X had other entries. Under subMu.
func (f *Feed) encoded(k int, chunk []entry) *group {
	if k == len(f.groups) {
		f.groups = append(f.groups, group{})
	}
	g := &f.groups[k]
	if g.entries != nil && slices.Equal(chunk, g.entries) {
		return g
	}
	g.fields.Reset()
	for _, e := range chunk {
		spec := &f.opts.Symbols[e.sym-1]
		g.fields.AddChar(tagMDUpdateAction, e.action)
		g.fields.AddChar(tagMDEntryType, e.typ)
		g.fields.AddString(tagSymbol, spec.Name)
		spec.Tick.AddTo(&g.fields, tagMDEntryPx, e.px)
		if e.qty > 0 {
			spec.Lot.AddTo(&g.fields, tagMDEntrySize, e.qty)
		}
		if e.id != 0 {
			g.fields.AddInt(tagOrderID, e.id)
		}
		if e.rptSeq != 0 {
			g.fields.AddInt(tagRptSeq, e.rptSeq)
		}
	}
	g.entries = chunk
	return g
}
