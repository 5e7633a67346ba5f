package matcher

import (
	"math"
	"slices"
)

// refModel is the reference the engine is checked against: a deliberately
// simple book that scans every live order to find the best one, keeps the
// ClOrdID history as a plain FIFO slice, and checks a FOK order by trying it
// on a copy of itself. Slow and obviously right is the point.
type refModel struct {
	specs map[uint32]SymbolSpec
	stp   STPMode
	stpBy map[uint32]STPMode
	// Firms, by name as configured, and by account once bound.
	cfgFirms []FirmSTP
	cfgNamed []NamedSTP
	bound    map[uint32]string // account -> name
	firmOf   map[uint32]int    // account -> 1-based firm, once bound
	maxOrd   int
	window   int
	lastPx   map[uint32]int64
	live     []*refOrder // acceptance order: the order mass cancel walks
	hist     []refHist   // every retired ClOrdID ever, oldest first
	stamp    int64       // time priority counter
	seq      int64       // Seq of the last accepted new order
	cmd      *Command
	out      []Event
}

type refOrder struct {
	id                                int64
	sym, acct                         uint32
	owner, group                      uint32 // trading account and STP group
	side                              Side
	typ                               OrdType
	tif                               TIF
	price, qty, leaves, cum, notional int64
	cl                                ClOrdID // as reported in events
	keyCl                             ClOrdID // as registered for lookups and duplicates
	protect                           int64   // a market order's protection price, or 0
	resting                           bool
	stamp                             int64
}

type refHist struct {
	acct, sym uint32
	cl        ClOrdID
	orderID   int64
	finished  bool
	final     refOrder // a finished order as it ended
	end       Reason   // why it ended; ReasonNone: filled
}

func newRefModel(cfg Config) *refModel {
	m := &refModel{specs: map[uint32]SymbolSpec{}, lastPx: map[uint32]int64{}, stp: cfg.STP, stpBy: map[uint32]STPMode{},
		maxOrd: cfg.MaxOrders, window: cfg.ClOrdIDWindow, seq: math.MinInt64,
		cfgFirms: cfg.Firms, cfgNamed: cfg.NamedSTP, bound: map[uint32]string{}, firmOf: map[uint32]int{}}
	if m.maxOrd == 0 {
		m.maxOrd = DefaultMaxOrders
	}
	if m.window == 0 {
		m.window = DefaultClOrdIDWindow
	}
	for _, a := range cfg.AccountSTP {
		m.stpBy[a.Account] = a.Mode
	}
	for _, s := range cfg.Symbols {
		m.specs[s.ID] = s
		m.lastPx[s.ID] = s.RefPrice
	}
	return m
}

func (m *refModel) clone() *refModel {
	n := *m
	n.lastPx = map[uint32]int64{}
	for k, v := range m.lastPx {
		n.lastPx[k] = v
	}
	n.live = nil
	for _, o := range m.live {
		c := *o
		n.live = append(n.live, &c)
	}
	n.hist = slices.Clone(m.hist)
	n.out = nil
	return &n
}

func (m *refModel) apply(c *Command) []Event {
	m.cmd, m.out = c, nil
	switch c.Kind {
	case KindNew:
		m.newOrder(c)
	case KindCancel:
		m.cancel(c)
	case KindReplace:
		m.replace(c)
	case KindMassCancel:
		m.massCancel(c)
	case KindStatus:
		m.status(c)
	case KindBindAccount:
		m.bind(c)
	case KindCheckpoint, KindCheckpointHash, KindDeposit, KindWithdraw, KindBlock, KindUnblock, KindRiskLimits, KindRiskSymbol, KindRiskFee:
	case KindEndOfDay:
		m.endOfDay()
	default:
		m.reject(EvRejected, ReasonInvalidOrder)
	}
	return m.out
}

// bind applies a binding the first time its account and its name are
// bound, and gives the account its firm and mode by name.
func (m *refModel) bind(c *Command) {
	b, ok := BindingOf(c)
	if !ok || len(m.bound) >= MaxBoundAccounts {
		return
	}
	if _, taken := m.bound[b.Account]; taken {
		return
	}
	for _, n := range m.bound {
		if n == b.Name {
			return
		}
	}
	m.bound[b.Account] = b.Name
	for i, f := range m.cfgFirms {
		if slices.Contains(f.Names, b.Name) {
			m.firmOf[b.Account] = i + 1
		}
	}
	for _, a := range m.cfgNamed {
		if a.Name == b.Name {
			m.stpBy[b.Account] = a.Mode
		}
	}
}

// oneParty is self-trade prevention's rule: an STP group on either side
// decides (same firm and same group); else the same trading account, or
// the same firm when its scope is the firm.
func (m *refModel) oneParty(t, r *refOrder) bool {
	ft, fr := m.firmOf[t.owner], m.firmOf[r.owner]
	sameFirm := t.owner == r.owner || (ft != 0 && ft == fr)
	if t.group != 0 || r.group != 0 {
		return t.group == r.group && sameFirm
	}
	return t.owner == r.owner || (ft != 0 && ft == fr && m.cfgFirms[ft-1].Scope == STPScopeFirm)
}

// endOfDay expires the live Day orders in acceptance order and forgets
// every retired ClOrdID: a new day.
func (m *refModel) endOfDay() {
	for _, o := range slices.Clone(m.live) {
		if o.tif == Day {
			o.leaves = 0
			m.emit(EvExpired, ReasonExpired, o).ExecID = EndOfDayExecID(o.id)
			m.finish(o, ReasonExpired)
		}
	}
	m.hist = nil
}

func (m *refModel) emit(typ EventType, reason Reason, o *refOrder) *Event {
	c := m.cmd
	m.out = append(m.out, Event{
		Seq: c.Seq, TimeNs: c.TimeNs, OrderID: o.id, ExecID: c.Seq*ExecIDStride + int64(len(m.out)),
		Price: o.price, OrderQty: o.qty, CumQty: o.cum, LeavesQty: o.leaves, CumNotional: o.notional,
		Symbol: o.sym, Account: o.acct, Type: typ, Reason: reason, Side: o.side, OrdType: o.typ,
		TIF: o.tif, Kind: c.Kind, ClOrdID: o.cl,
	})
	if o.owner != o.acct {
		m.out[len(m.out)-1].Owner = uint16(o.owner)
	}
	return &m.out[len(m.out)-1]
}

func (m *refModel) reject(typ EventType, reason Reason) {
	c := m.cmd
	m.out = append(m.out, Event{
		Seq: c.Seq, TimeNs: c.TimeNs, OrderID: c.OrderID, ExecID: c.Seq*ExecIDStride + int64(len(m.out)),
		Price: c.Price, OrderQty: c.Qty, Symbol: c.Symbol, Account: c.Account, Type: typ, Reason: reason,
		Side: c.Side, OrdType: c.Type, TIF: c.TIF, Kind: c.Kind, ClOrdID: c.ClOrdID, OrigClOrdID: c.OrigClOrdID,
		Owner: c.EventOwner(),
	})
}

func (m *refModel) pushHist(h refHist) { m.hist = append(m.hist, h) }

// remembered returns the retired ClOrdIDs the engine still knows: records
// go in generations of n = ceil(window / (retGens-1)), and the engine knows
// the current generation and the retGens-1 before it.
func (m *refModel) remembered() []refHist {
	if len(m.hist) == 0 {
		return nil
	}
	n := (m.window + retGens - 2) / (retGens - 1)
	gen := (len(m.hist) - 1) / n
	return m.hist[max(0, gen-(retGens-1))*n:]
}

// finish retires o, which ended for reason end (ReasonNone: it filled).
func (m *refModel) finish(o *refOrder, end Reason) {
	o.resting = false
	i := slices.Index(m.live, o)
	m.live = slices.Delete(m.live, i, i+1)
	m.pushHist(refHist{acct: o.acct, sym: o.sym, cl: o.keyCl, orderID: o.id, finished: true, final: *o, end: end})
}

func (m *refModel) clUsed(acct uint32, cl ClOrdID) bool {
	for _, o := range m.live {
		if o.acct == acct && o.keyCl == cl {
			return true
		}
	}
	for _, h := range m.remembered() {
		if h.acct == acct && h.cl == cl {
			return true
		}
	}
	return false
}

func (m *refModel) qtyOK(spec SymbolSpec, q int64) bool {
	maxQ := spec.MaxQty
	if maxQ == 0 {
		maxQ = MaxQtyLots
	}
	return q > 0 && q >= spec.MinQty && q <= maxQ
}

func (m *refModel) outsideBand(spec SymbolSpec, px int64) bool {
	last := m.lastPx[spec.ID]
	if spec.BandTicks == 0 || last == 0 {
		return false
	}
	return px-last > spec.BandTicks || last-px > spec.BandTicks
}

func (m *refModel) newOrder(c *Command) {
	spec, ok := m.specs[c.Symbol]
	switch {
	case !ok:
		m.reject(EvRejected, ReasonUnknownSymbol)
		return
	case c.Side != Buy && c.Side != Sell, c.Type != Limit && c.Type != Market,
		c.TIF != Day && c.TIF != GTC && c.TIF != IOC && c.TIF != FOK, c.STP > uint8(STPDecrement)+1, c.Owner > MaxOwner,
		c.Account > MaxOwner:
		m.reject(EvRejected, ReasonInvalidOrder)
		return
	case !m.qtyOK(spec, c.Qty):
		m.reject(EvRejected, ReasonInvalidQty)
		return
	case c.Type == Limit && (c.Price <= 0 || c.Price > MaxPriceTicks),
		c.Type == Market && (c.Price < 0 || c.Price > MaxPriceTicks):
		m.reject(EvRejected, ReasonInvalidPrice)
		return
	case m.clUsed(c.Account, c.ClOrdID):
		m.reject(EvRejected, ReasonDuplicateClOrd)
		return
	case c.Type == Limit && m.outsideBand(spec, c.Price):
		m.reject(EvRejected, ReasonPriceBand)
		return
	case c.Seq <= m.seq:
		m.reject(EvRejected, ReasonInvalidOrder)
		return
	case len(m.live) >= m.maxOrd:
		m.reject(EvRejected, ReasonBookFull)
		return
	}
	m.seq = c.Seq
	o := &refOrder{id: c.Seq, sym: c.Symbol, acct: c.Account, owner: c.OwnerID(), group: c.STPGroup, side: c.Side, typ: c.Type, tif: c.TIF,
		price: c.Price, qty: c.Qty, leaves: c.Qty, cl: c.ClOrdID, keyCl: c.ClOrdID}
	if c.Type == Market {
		o.price, o.protect = 0, c.Price
	}
	m.live = append(m.live, o)
	m.emit(EvAccepted, ReasonNone, o)

	if c.TIF == FOK {
		// Try it on a copy: a FOK either fills completely there, and then
		// here too, or leaves no trace.
		trial := m.clone()
		to := trial.live[len(trial.live)-1]
		// A decrement (STPDecrement) takes quantity off it: not a complete fill.
		if !trial.match(to) || to.leaves > 0 || to.qty != o.qty {
			o.leaves = 0
			m.emit(EvExpired, ReasonFOKUnfilled, o)
			m.finish(o, ReasonFOKUnfilled)
			return
		}
	}
	if !m.match(o) {
		o.leaves = 0
		m.emit(EvCancelled, ReasonSelfTrade, o)
		m.finish(o, ReasonSelfTrade)
		return
	}
	switch {
	case o.leaves == 0:
		m.finish(o, ReasonNone)
	case c.Type == Market:
		reason := ReasonMarketRemainder
		if o.cum == 0 {
			reason = ReasonNoLiquidity
		}
		o.leaves = 0
		m.emit(EvExpired, reason, o)
		m.finish(o, reason)
	case c.TIF == IOC:
		o.leaves = 0
		m.emit(EvExpired, ReasonIOCRemainder, o)
		m.finish(o, ReasonIOCRemainder)
	default:
		m.rest(o)
	}
}

func (m *refModel) rest(o *refOrder) {
	m.stamp++
	o.resting, o.stamp = true, m.stamp
}

// best returns the resting order of sym on side sd that trades first.
func (m *refModel) best(sym uint32, sd Side) *refOrder {
	var b *refOrder
	for _, o := range m.live {
		if !o.resting || o.sym != sym || o.side != sd {
			continue
		}
		if b == nil || sideKey(sd, o.price) > sideKey(sd, b.price) ||
			o.price == b.price && o.stamp < b.stamp {
			b = o
		}
	}
	return b
}

// match trades taker o; false means self-trade prevention cancelled it.
func (m *refModel) match(o *refOrder) bool {
	spec := m.specs[o.sym]
	last0 := m.lastPx[o.sym]
	opp := Sell
	if o.side == Sell {
		opp = Buy
	}
	crosses := func(px int64) bool {
		if o.protect > 0 && (o.side == Buy && px > o.protect || o.side == Sell && px < o.protect) {
			return false // a market order's protection price
		}
		if o.typ == Limit {
			return o.side == Buy && px <= o.price || o.side == Sell && px >= o.price
		}
		if spec.BandTicks == 0 || last0 == 0 {
			return true
		}
		return o.side == Buy && px <= last0+spec.BandTicks || o.side == Sell && px >= last0-spec.BandTicks
	}
	for o.leaves > 0 {
		r := m.best(o.sym, opp)
		if r == nil || !crosses(r.price) {
			break
		}
		stp := m.stp
		if s, ok := m.stpBy[o.owner]; ok {
			stp = s
		}
		if (m.cmd.Kind == KindNew || m.cmd.Kind == KindReplace) && m.cmd.STP != 0 { // the order's own mode
			stp = STPMode(m.cmd.STP - 1)
		}
		if stp == STPNone && o.group != 0 {
			stp = STPCancelIncoming // a group asks for prevention
		}
		self := m.oneParty(o, r)
		if stp == STPDecrement && self {
			q := min(o.leaves, r.leaves)
			if r.leaves == q {
				r.leaves = 0
				m.emit(EvCancelled, ReasonSelfTrade, r)
				m.finish(r, ReasonSelfTrade)
			} else {
				r.qty, r.leaves = r.qty-q, r.leaves-q
				m.emit(EvReplaced, ReasonSelfTrade, r)
			}
			if o.leaves == q {
				return false
			}
			o.qty, o.leaves = o.qty-q, o.leaves-q
			m.emit(EvReplaced, ReasonSelfTrade, o)
			continue
		}
		if stp != STPNone && self {
			if stp == STPCancelResting || stp == STPCancelBoth {
				r.leaves = 0
				m.emit(EvCancelled, ReasonSelfTrade, r)
				m.finish(r, ReasonSelfTrade)
			}
			if stp == STPCancelResting {
				continue
			}
			return false
		}
		q := min(o.leaves, r.leaves)
		px := r.price
		o.leaves, o.cum, o.notional = o.leaves-q, o.cum+q, o.notional+q*px
		r.leaves, r.cum, r.notional = r.leaves-q, r.cum+q, r.notional+q*px
		m.lastPx[o.sym] = px
		e := m.emit(EvFill, ReasonNone, o)
		e.LastQty, e.LastPx = q, px
		e = m.emit(EvFill, ReasonNone, r)
		e.LastQty, e.LastPx = q, px
		if r.leaves == 0 {
			m.finish(r, ReasonNone)
		}
	}
	return true
}

// target finds the live order a cancel, replace or status request names,
// or why not.
func (m *refModel) target(c *Command) (*refOrder, Reason) {
	o, _, reason := m.targetOrHist(c)
	return o, reason
}

// targetOrHist is target that also returns, with ReasonTooLate, the
// remembered retired ClOrdID or finished order that answered.
func (m *refModel) targetOrHist(c *Command) (*refOrder, *refHist, Reason) {
	if c.OrderID != 0 {
		for _, o := range m.live {
			if o.id == c.OrderID {
				if o.acct != c.Account || o.sym != c.Symbol {
					return nil, nil, ReasonUnknownOrder
				}
				return o, nil, ReasonNone
			}
		}
		for i, h := range m.remembered() {
			if h.finished && h.orderID == c.OrderID {
				if h.acct != c.Account || h.sym != c.Symbol {
					return nil, nil, ReasonUnknownOrder
				}
				return nil, &m.remembered()[i], ReasonTooLate
			}
		}
		return nil, nil, ReasonUnknownOrder
	}
	for _, o := range m.live {
		if o.acct == c.Account && o.keyCl == c.OrigClOrdID {
			if o.sym != c.Symbol {
				return nil, nil, ReasonUnknownOrder
			}
			return o, nil, ReasonNone
		}
	}
	for i, h := range m.remembered() {
		if h.acct == c.Account && h.cl == c.OrigClOrdID {
			if h.sym != c.Symbol {
				return nil, nil, ReasonUnknownOrder
			}
			return nil, &m.remembered()[i], ReasonTooLate
		}
	}
	return nil, nil, ReasonUnknownOrder
}

func (m *refModel) cancel(c *Command) {
	if _, ok := m.specs[c.Symbol]; !ok {
		m.reject(EvCancelRejected, ReasonUnknownSymbol)
		return
	}
	o, reason := m.target(c)
	if o == nil {
		m.reject(EvCancelRejected, reason)
		return
	}
	o.leaves, o.resting = 0, false
	e := m.emit(EvCancelled, ReasonUserCancel, o)
	e.ClOrdID, e.OrigClOrdID = c.ClOrdID, o.cl
	m.finish(o, ReasonUserCancel)
}

func (m *refModel) replace(c *Command) {
	spec, ok := m.specs[c.Symbol]
	if !ok {
		m.reject(EvCancelRejected, ReasonUnknownSymbol)
		return
	}
	o, reason := m.target(c)
	if o == nil {
		m.reject(EvCancelRejected, reason)
		return
	}
	switch {
	case c.OwnerID() != o.owner:
		reason = ReasonUnknownOrder
	case c.Side != 0 && c.Side != o.side, c.STP > uint8(STPDecrement)+1:
		reason = ReasonInvalidOrder
	case !m.qtyOK(spec, c.Qty):
		reason = ReasonInvalidQty
	case c.Price <= 0 || c.Price > MaxPriceTicks:
		reason = ReasonInvalidPrice
	case m.clUsed(c.Account, c.ClOrdID):
		reason = ReasonDuplicateClOrd
	case c.Price != o.price && m.outsideBand(spec, c.Price):
		reason = ReasonPriceBand
	}
	if reason != ReasonNone {
		e := m.emit(EvCancelRejected, reason, o)
		e.ClOrdID, e.OrigClOrdID = c.ClOrdID, c.OrigClOrdID
		return
	}
	old := o.cl
	m.pushHist(refHist{acct: o.acct, sym: o.sym, cl: o.keyCl, orderID: o.id})
	o.cl, o.keyCl = c.ClOrdID, c.ClOrdID
	switch {
	case c.Qty <= o.cum:
		o.leaves, o.resting = 0, false
		e := m.emit(EvCancelled, ReasonUserCancel, o)
		e.OrigClOrdID = old
		m.finish(o, ReasonUserCancel)
	case c.Price == o.price && c.Qty <= o.qty:
		o.leaves -= o.qty - c.Qty
		o.qty = c.Qty
		e := m.emit(EvReplaced, ReasonNone, o)
		e.OrigClOrdID = old
	default:
		o.resting = false
		o.price, o.qty, o.leaves = c.Price, c.Qty, c.Qty-o.cum
		e := m.emit(EvReplaced, ReasonNone, o)
		e.OrigClOrdID = old
		switch {
		case !m.match(o):
			o.leaves = 0
			m.emit(EvCancelled, ReasonSelfTrade, o)
			m.finish(o, ReasonSelfTrade)
		case o.leaves == 0:
			m.finish(o, ReasonNone)
		default:
			m.rest(o)
		}
	}
}

func (m *refModel) status(c *Command) {
	if _, ok := m.specs[c.Symbol]; !ok {
		m.reject(EvStatus, ReasonUnknownSymbol)
		return
	}
	// A finished order answers as it ended; a ClOrdID a replace took away
	// is still "too late".
	switch o, h, reason := m.targetOrHist(c); {
	case o != nil:
		m.emit(EvStatus, ReasonNone, o)
	case h != nil && h.finished:
		final := h.final // its trading account too: the status answer names it
		m.emit(EvStatus, h.end, &final)
	default:
		m.reject(EvStatus, reason)
	}
}

func (m *refModel) massCancel(c *Command) {
	if _, ok := m.specs[c.Symbol]; c.Symbol != 0 && !ok {
		m.reject(EvCancelRejected, ReasonUnknownSymbol)
		return
	}
	cancelled, reason := int64(0), ReasonMassCancel
	if c.Qty == 0 && c.Type == 0 {
		reason = ReasonCancelOnDisconnect // no report asked, no origin byte: the exchange's own
	}
	takes := func(o *refOrder) bool { return (c.Symbol == 0 || o.sym == c.Symbol) && (c.TIF != Day || o.tif == Day) }
	for _, o := range slices.Clone(m.live) {
		if o.acct == c.Account && takes(o) {
			o.leaves = 0
			m.emit(EvCancelled, reason, o)
			m.finish(o, ReasonMassCancel)
			cancelled++
		}
	}
	if mc, _ := MassCancelOf(c); mc.Origin == OriginKillSwitch {
		// The kill switch of a trading account: its orders of other
		// sessions too, by order id (acceptance order).
		for _, o := range slices.Clone(m.live) {
			if o.resting && o.owner == c.Account && o.acct != c.Account && takes(o) {
				o.leaves = 0
				m.emit(EvCancelled, reason, o)
				m.finish(o, ReasonMassCancel)
				cancelled++
			}
		}
	}
	if c.Qty > 0 {
		m.reject(EvMassCancelReport, ReasonNone)
		m.out[len(m.out)-1].CumQty = cancelled
	}
}
