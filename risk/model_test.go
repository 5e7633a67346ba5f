package risk

import (
	"fmt"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// refRisk is the reference model of the risk rules: balances kept from
// nothing but the funds records and the matcher's events, holds recomputed
// from the working orders, and each decision taken by the rules as the
// package doc states them, with no lagging view, no reservations and no
// cells. The property test runs it beside State and wants the same
// decisions and the same balances after every command.
type refRisk struct {
	cfg     Config // its rules change by the rule records
	fees    int64
	cash    map[uint32]int64
	inv     map[[2]uint32]int64
	orders  map[int64]*refOrder
	blocked map[uint32]map[bool]bool // by account, by AccountBlock.Firm: the block holds
	// Refused replaces checked (checkRefusedReplace): of a working order,
	// and of one that is not.
	refusedWorking, refusedNot int
}

type refOrder struct {
	acct, sym uint32
	sess      uint32 // the session that placed it (Command.Account)
	side      matcher.Side
	unit      int64 // cash per lot a buy holds
	leaves    int64
	cum       int64 // lots filled
	fee       int64 // basis points, as when its terms were accepted (new order or replace)
}

func newRefRisk(cfg Config) *refRisk {
	cfg.Symbols = append([]Symbol(nil), cfg.Symbols...)
	acct := map[uint32]Limits{}
	for a, l := range cfg.Account {
		acct[a] = l
	}
	cfg.Account = acct
	return &refRisk{cfg: cfg, cash: map[uint32]int64{}, inv: map[[2]uint32]int64{}, orders: map[int64]*refOrder{}, blocked: map[uint32]map[bool]bool{}}
}

func (m *refRisk) spot() bool { return m.cfg.Mode == ModeSpot }

func (m *refRisk) limits(a uint32) Limits {
	if l, ok := m.cfg.Account[a]; ok {
		return l
	}
	return m.cfg.Default
}

// held and open are recomputed from the working orders every time. Only
// spot mode holds anything.
func (m *refRisk) heldCash(a uint32) (h int64) {
	for _, o := range m.orders {
		if !m.spot() {
			break
		}
		if o.acct == a && o.side == matcher.Buy {
			h += o.leaves * o.unit
		}
	}
	return h
}

func (m *refRisk) heldInv(a, y uint32) (h int64) {
	for _, o := range m.orders {
		if !m.spot() {
			break
		}
		if o.acct == a && o.sym == y && o.side == matcher.Sell {
			h += o.leaves
		}
	}
	return h
}

func (m *refRisk) open(a uint32) (n int64) {
	for _, o := range m.orders {
		if o.acct == a {
			n++
		}
	}
	return n
}

// isBlocked reports whether account a holds its own block or its firm's.
func (m *refRisk) isBlocked(a uint32) bool { return m.blocked[a][false] || m.blocked[a][true] }

func (m *refRisk) known(a, y uint32) bool {
	return a >= 1 && int(a) <= m.cfg.Accounts && y >= 1 && int(y) <= len(m.cfg.Symbols)
}

// decide is the reason the rules give for c (ReasonNone: accepted), and
// for a market buy, the price it holds at.
func (m *refRisk) decide(c matcher.Command) (matcher.Reason, int64) {
	a, y := c.Account, c.Symbol
	switch c.Kind {
	case matcher.KindBlock, matcher.KindUnblock:
		if _, ok := matcher.BlockOf(&c); !ok || a < 1 || int(a) > m.cfg.Accounts {
			return matcher.ReasonInvalidOrder, 0
		}
		return matcher.ReasonNone, 0
	case matcher.KindRiskLimits, matcher.KindRiskSymbol, matcher.KindRiskFee:
		return matcher.ReasonNone, 0 // the generator writes only valid ones
	case matcher.KindDeposit, matcher.KindWithdraw:
		f, ok := matcher.FundsOf(&c)
		if !ok || a < 1 || int(a) > m.cfg.Accounts || (f.Symbol != 0 && int(f.Symbol) > len(m.cfg.Symbols)) {
			return matcher.ReasonRiskFundsRefused, 0
		}
		free := m.cash[a] - m.heldCash(a)
		if f.Symbol != 0 {
			free = m.inv[[2]uint32{a, f.Symbol}] - m.heldInv(a, f.Symbol)
		}
		if f.Withdraw && f.Amount > free {
			return matcher.ReasonRiskFundsRefused, 0
		}
		return matcher.ReasonNone, 0
	case matcher.KindNew, matcher.KindReplace:
	default:
		return matcher.ReasonNone, 0
	}
	// An order's trading account (Owner, a firm's account) bears its
	// limits and holds; a block of it or of the session refuses it.
	if s := c.Account; s >= 1 && int(s) <= m.cfg.Accounts && m.isBlocked(s) {
		return matcher.ReasonRiskBlocked, 0
	}
	a = c.OwnerID()
	if a >= 1 && int(a) <= m.cfg.Accounts && m.isBlocked(a) {
		return matcher.ReasonRiskBlocked, 0
	}
	valid := m.known(a, y) && c.Qty >= 1 && c.Qty <= matcher.MaxQtyLots && c.Price >= 0 && c.Price <= matcher.MaxPriceTicks &&
		(c.Side == matcher.Buy || c.Side == matcher.Sell)
	px := c.Price
	if c.Kind == matcher.KindNew {
		if !valid || (c.Type != matcher.Limit && c.Type != matcher.Market) {
			return matcher.ReasonNone, 0
		}
		if c.Type == matcher.Market && px == 0 {
			px = m.cfg.Symbols[y-1].ProtectionPrice // both sides' notional; a buy's hold
		}
	} else if !valid || px == 0 {
		if m.spot() && m.known(a, y) && c.Side == 0 {
			return matcher.ReasonInvalidOrder, 0
		}
		return matcher.ReasonNone, 0
	}
	l := m.limits(a)
	value := c.Qty * px * m.cfg.Symbols[y-1].CashPerTickLot
	hold := c.Qty * unitOf(px, m.cfg.Symbols[y-1].CashPerTickLot, m.cfg.FeeBps)
	switch {
	case l.MaxOrderQty > 0 && c.Qty > l.MaxOrderQty:
		return matcher.ReasonRiskOrderQty, px
	case l.MaxOrderNotional > 0 && value > l.MaxOrderNotional:
		return matcher.ReasonRiskNotional, px
	case c.Kind == matcher.KindNew && l.MaxOpenOrders > 0 && m.open(a) >= l.MaxOpenOrders:
		return matcher.ReasonRiskOpenOrders, px
	case !m.spot():
		return matcher.ReasonNone, px
	case c.Side == matcher.Buy && px == 0:
		return matcher.ReasonRiskNoProtection, px
	}
	need := c.Qty
	if c.Side == matcher.Buy {
		need = hold
	}
	if o := m.orders[c.OrderID]; c.Kind == matcher.KindReplace && o != nil && o.sess == c.Account && o.sym == y && o.acct == a && o.side == c.Side {
		// A replace of a working order needs what its new leaves hold
		// beyond what the order holds.
		need = max(c.Qty-o.cum, 0)
		if c.Side == matcher.Buy {
			need = need*unitOf(px, m.cfg.Symbols[y-1].CashPerTickLot, m.cfg.FeeBps) - o.leaves*o.unit
		} else {
			need -= o.leaves
		}
	}
	switch {
	case c.Side == matcher.Buy && m.cash[a]-m.heldCash(a) < need:
		return matcher.ReasonRiskCash, px
	case c.Side == matcher.Sell && m.inv[[2]uint32{a, y}]-m.heldInv(a, y) < need:
		return matcher.ReasonRiskInventory, px
	}
	return matcher.ReasonNone, px
}

// unit is what a buy holds per lot at px with a fee of bps: the price,
// and the fee on it rounded up.
func unitOf(px, cpl, bps int64) int64 {
	v := px * cpl
	return v + (v*bps+9999)/10000
}

// apply moves the model on by c, accepted or not, and its events.
func (m *refRisk) apply(c matcher.Command, r matcher.Reason, px int64, evs []matcher.Event) {
	if r != matcher.ReasonNone {
		return
	}
	switch c.Kind {
	case matcher.KindBlock, matcher.KindUnblock:
		b, _ := matcher.BlockOf(&c)
		if m.blocked[c.Account] == nil {
			m.blocked[c.Account] = map[bool]bool{}
		}
		m.blocked[c.Account][b.Firm] = c.Kind == matcher.KindBlock
	case matcher.KindRiskLimits:
		l, _ := matcher.RiskLimitsOf(&c)
		m.cfg.Account[l.Account] = Limits{MaxOrderQty: l.MaxOrderQty, MaxOrderNotional: l.MaxOrderNotional, MaxOpenOrders: l.MaxOpenOrders}
	case matcher.KindRiskSymbol:
		r, _ := matcher.RiskSymbolOf(&c)
		m.cfg.Symbols[r.Symbol-1].ProtectionPrice = r.ProtectionPrice
	case matcher.KindRiskFee:
		f, _ := matcher.RiskFeeOf(&c)
		m.cfg.FeeBps = f.FeeBps
	case matcher.KindDeposit, matcher.KindWithdraw:
		f, _ := matcher.FundsOf(&c)
		amt := f.Amount
		if f.Withdraw {
			amt = -amt
		}
		if f.Symbol == 0 {
			m.cash[f.Account] += amt
		} else {
			m.inv[[2]uint32{f.Account, f.Symbol}] += amt
		}
	}
	for _, ev := range evs {
		m.event(c, px, ev)
	}
}

func (m *refRisk) event(c matcher.Command, px int64, ev matcher.Event) {
	o := m.orders[ev.OrderID]
	switch {
	case ev.Type == matcher.EvAccepted && c.Kind == matcher.KindNew && m.known(c.OwnerID(), c.Symbol):
		o = &refOrder{acct: c.OwnerID(), sym: ev.Symbol, sess: c.Account, side: ev.Side, leaves: ev.LeavesQty, fee: m.cfg.FeeBps}
		if m.spot() && ev.Side == matcher.Buy {
			o.unit = unitOf(px, m.cfg.Symbols[ev.Symbol-1].CashPerTickLot, o.fee)
		}
		m.orders[ev.OrderID] = o
	case o == nil:
	case ev.Type == matcher.EvFill:
		cost := ev.LastQty * ev.LastPx * m.cfg.Symbols[o.sym-1].CashPerTickLot
		fee := cost * o.fee / 10000
		key := [2]uint32{o.acct, o.sym}
		if m.spot() && o.side == matcher.Buy {
			m.cash[o.acct] -= cost + fee
			m.inv[key] += ev.LastQty
		} else if m.spot() {
			m.cash[o.acct] += cost - fee
			m.inv[key] -= ev.LastQty
		}
		if m.spot() {
			m.fees += fee
		}
		o.cum += ev.LastQty
		if o.leaves -= ev.LastQty; o.leaves == 0 {
			delete(m.orders, ev.OrderID)
		}
	case ev.Type == matcher.EvReplaced:
		o.leaves = ev.LeavesQty
		if ev.Reason == matcher.ReasonSelfTrade {
			break // decremented: same terms, same fee
		}
		o.fee = m.cfg.FeeBps
		if m.spot() && o.side == matcher.Buy {
			o.unit = unitOf(ev.Price, m.cfg.Symbols[o.sym-1].CashPerTickLot, o.fee)
		}
	case ev.Type == matcher.EvCancelled, ev.Type == matcher.EvExpired:
		delete(m.orders, ev.OrderID)
	}
}

// checkRefusedReplace checks the answer to replace c, refused with r
// (want), against the model's working orders: a working order of the
// account c names is reported as it stands, with r (or the matcher's own
// refusal of a changed side); any other is not working (the matcher's
// answer), never refused for risk.
func (m *refRisk) checkRefusedReplace(c matcher.Command, r matcher.Reason, evs []matcher.Event) string {
	if len(evs) != 1 || evs[0].Type != matcher.EvCancelRejected {
		return fmt.Sprintf("answered with %d events %+v, want one cancel reject", len(evs), evs)
	}
	ev := evs[0]
	o := m.orders[c.OrderID]
	working := o != nil && o.sess == c.Account && o.sym == c.Symbol && o.acct == c.OwnerID()
	if working {
		m.refusedWorking++
	} else {
		m.refusedNot++
	}
	if working && c.Side != 0 && c.Side != o.side {
		r = matcher.ReasonInvalidOrder // the matcher's own refusal comes first: a replace never changes the side
	}
	switch {
	case working && (ev.OrderID != c.OrderID || ev.Reason != r || ev.LeavesQty != o.leaves):
		return fmt.Sprintf("order %d works with %d left: answered %+v, want its id, its leaves and %v", c.OrderID, o.leaves, ev, r)
	case !working && ev.Reason == r && r != matcher.ReasonInvalidOrder && m.known(c.OwnerID(), c.Symbol):
		return fmt.Sprintf("order %d does not work for account %d: answered %+v, a risk refusal", c.OrderID, c.OwnerID(), ev)
	}
	return ""
}

// TestRiskAgainstReferenceModel: on random streams, in both modes, State
// decides every command as the reference model does and holds the same
// balances, holds and open orders after each.
func TestRiskAgainstReferenceModel(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		for _, mode := range []Mode{ModeLimits, ModeSpot} {
			cfg := testConfig(mode)
			s, _ := New(cfg)
			m := newRefRisk(cfg)
			engines := testEngines(t, 1+int(seed%2), matcher.STPMode(seed%5))
			var evs []matcher.Event
			defer func() {
				if mode == ModeSpot && m.fees == 0 {
					t.Errorf("seed %d: no fee collected: the test did not exercise fees", seed)
				}
				if mode == ModeSpot && (m.refusedWorking == 0 || m.refusedNot == 0) {
					t.Errorf("seed %d: refused replaces of %d working orders and %d others: the test did not exercise both", seed, m.refusedWorking, m.refusedNot)
				}
			}()
			for _, c := range stream(seed, 2500) {
				want, px := m.decide(c)
				var h Hold
				evs, h = s.Step(&c, engines, evs[:0])
				if h.Reason != want {
					t.Fatalf("seed %d mode %d seq %d %+v: decided %v, the model %v", seed, mode, c.Seq, c, h.Reason, want)
				}
				if c.Kind == matcher.KindReplace && want != matcher.ReasonNone {
					if bad := m.checkRefusedReplace(c, want, evs); bad != "" {
						t.Fatalf("seed %d mode %d seq %d %+v: %s", seed, mode, c.Seq, c, bad)
					}
				}
				m.apply(c, want, px, evs)
				if s.Fees() != m.fees {
					t.Fatalf("seed %d seq %d: fees %d, the model %d", seed, c.Seq, s.Fees(), m.fees)
				}
				for a := uint32(1); a <= testAccounts; a++ {
					b, _ := s.Balance(a)
					if b.OpenOrders != m.open(a) || b.Blocked != m.isBlocked(a) {
						t.Fatalf("seed %d seq %d account %d: open %d blocked %v (own %v, firm %v), the model %d %v", seed, c.Seq, a, b.OpenOrders, b.Blocked, b.OwnBlock, b.FirmBlock, m.open(a), m.blocked[a])
					}
					if !m.spot() {
						continue
					}
					if b.Cash != m.cash[a] || b.CashHeld != m.heldCash(a) {
						t.Fatalf("seed %d seq %d account %d: cash %d held %d, the model %d %d", seed, c.Seq, a, b.Cash, b.CashHeld, m.cash[a], m.heldCash(a))
					}
					for y := uint32(1); y <= testSymbols; y++ {
						if b.Inv[y-1] != m.inv[[2]uint32{a, y}] || b.InvHeld[y-1] != m.heldInv(a, y) {
							t.Fatalf("seed %d seq %d account %d symbol %d: inventory %d held %d, the model %d %d",
								seed, c.Seq, a, y, b.Inv[y-1], b.InvHeld[y-1], m.inv[[2]uint32{a, y}], m.heldInv(a, y))
						}
					}
				}
			}
		}
	}
}
