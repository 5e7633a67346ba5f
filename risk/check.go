package risk

import (
	"math"

	"github.com/ringex/ringex/matcher"
)

// Check decides cmd before any matcher sees it and reserves what it
// accepts; the Hold goes with cmd to Apply. A refused Hold (Reason set)
// reserved nothing, so Check may be called again on the same command once
// the settle half has caught up (ViewDependent). A market buy with no
// price gets the symbol's protection price written into cmd.Price (its
// journaled form), which the matcher trades no worse than. Commands risk
// has no rule for, and orders the matcher will refuse anyway (an unknown
// symbol, a bad quantity), pass with an empty Hold. Hot path: no
// allocation.
func (s *State) Check(cmd *matcher.Command) Hold {
	switch cmd.Kind {
	case matcher.KindNew:
		return s.inFlight(cmd, s.checkNew(cmd))
	case matcher.KindReplace:
		return s.inFlight(cmd, s.checkReplace(cmd))
	case matcher.KindDeposit, matcher.KindWithdraw:
		if r := s.refChecked(cmd); r != matcher.ReasonNone {
			return Hold{Reason: r}
		}
		return s.checkFunds(cmd)
	case matcher.KindRiskLimits, matcher.KindRiskSymbol, matcher.KindRiskFee:
		return s.checkRule(cmd)
	case matcher.KindBlock, matcher.KindUnblock:
		if r := s.refChecked(cmd); r != matcher.ReasonNone {
			return Hold{Reason: r}
		}
		b, ok := matcher.BlockOf(cmd)
		if !ok || !s.knownAccount(b.Account) {
			return Hold{Reason: matcher.ReasonInvalidOrder}
		}
		s.blocked[b.Account] = withBlock(s.blocked[b.Account], b)
	}
	return Hold{}
}

// inFlight counts h, Check's answer to a new order or a replace, among
// its account's orders in flight when it reserved something (Exact).
func (s *State) inFlight(c *matcher.Command, h Hold) Hold {
	if reserves(h) && s.knownAccount(c.OwnerID()) {
		s.ordersChecked[c.OwnerID()]++
	}
	return h
}

// reserves reports whether h is an acceptance that reserved something.
func reserves(h Hold) bool {
	return h.Reason == matcher.ReasonNone && (h.Open != 0 || h.Cash != 0 || h.Inv != 0)
}

// isBlocked reports whether the operator has blocked c's session or the
// trading account it is for, on its own or by its firm (block.go; a
// firm's kill switch blocks both, node).
func (s *State) isBlocked(c *matcher.Command) bool {
	a := c.OwnerID()
	return (s.knownAccount(c.Account) && s.blocked[c.Account] != 0) || (s.knownAccount(a) && s.blocked[a] != 0)
}

// passes reports whether the matcher will judge c's terms itself: an
// account or symbol risk does not know, or a quantity, price or side no
// order can have.
func (s *State) passes(c *matcher.Command) bool {
	return !s.knownAccount(c.OwnerID()) || !s.knownSymbol(c.Symbol) ||
		c.Qty <= 0 || c.Qty > matcher.MaxQtyLots || c.Price < 0 || c.Price > matcher.MaxPriceTicks ||
		(c.Side != matcher.Buy && c.Side != matcher.Sell)
}

func (s *State) checkNew(c *matcher.Command) Hold {
	if s.isBlocked(c) {
		return Hold{Reason: matcher.ReasonRiskBlocked}
	}
	if s.passes(c) || (c.Type != matcher.Limit && c.Type != matcher.Market) {
		return Hold{}
	}
	sym := s.cfg.Symbols[c.Symbol-1]
	px := c.Price
	if c.Type == matcher.Market && c.Price == 0 {
		// Either side counts at the protection price for the notional
		// limit; only a buy trades no worse than it (journaled in Price).
		px = s.protect[c.Symbol-1]
		if c.Side == matcher.Buy {
			c.Price = px
		}
	}
	a := c.OwnerID()
	lim := &s.limits[a]
	value := notional(c.Qty, px, sym.CashPerTickLot)
	switch {
	case lim.MaxOrderQty > 0 && c.Qty > lim.MaxOrderQty:
		return Hold{Reason: matcher.ReasonRiskOrderQty}
	case lim.MaxOrderNotional > 0 && value > lim.MaxOrderNotional:
		return Hold{Reason: matcher.ReasonRiskNotional}
	case lim.MaxOpenOrders > 0 && s.openView(a) >= lim.MaxOpenOrders:
		return Hold{Reason: matcher.ReasonRiskOpenOrders}
	}
	h := Hold{Open: 1}
	if s.spot {
		var r matcher.Reason
		if h, r = s.reserveFor(c); r != matcher.ReasonNone {
			return Hold{Reason: r}
		}
		h.Open = 1
	}
	s.pending[s.sideCell(a, c.Side)]++ // and so one more open order (openView)
	return h
}

// reserveFor reserves what order or replace c holds in spot mode: for a
// buy, quantity × price and the fee in cash (buyHold); for a sell, its
// quantity of the symbol.
func (s *State) reserveFor(c *matcher.Command) (Hold, matcher.Reason) {
	if c.Side == matcher.Buy {
		i := s.cashCell(c.OwnerID())
		value := s.buyHold(c.Qty, c.Price, s.cfg.Symbols[c.Symbol-1].CashPerTickLot)
		switch {
		case c.Price == 0:
			return Hold{}, matcher.ReasonRiskNoProtection
		case s.view(i) < value:
			return Hold{}, matcher.ReasonRiskCash
		}
		s.pending[i] += value
		return Hold{Cash: value}, matcher.ReasonNone
	}
	i := s.invCell(c.OwnerID(), c.Symbol)
	if s.view(i) < c.Qty {
		return Hold{}, matcher.ReasonRiskInventory
	}
	s.pending[i] += c.Qty
	return Hold{Inv: c.Qty}, matcher.ReasonNone
}

// checkReplace holds a replace's whole new quantity at its new price, at
// the fee in force, on top of what the order holds; the settle half
// releases the surplus once the matcher answers. Check does not know which
// orders work (the matcher does), nor what they hold: a replace this
// refuses for cash or inventory is decided again on the exact state
// (Reducible, CheckExact), on the difference. A replace refused for good
// goes to its order's engine to be answered (Partitions.RefuseReplace),
// which reports the order's state, or says it is not working.
func (s *State) checkReplace(c *matcher.Command) Hold {
	if s.isBlocked(c) {
		return Hold{Reason: matcher.ReasonRiskBlocked}
	}
	if s.passes(c) || c.Price == 0 {
		if s.spot && s.knownAccount(c.OwnerID()) && s.knownSymbol(c.Symbol) && c.Side == 0 {
			// Which balance to hold is the side's: a replace must say it.
			return Hold{Reason: matcher.ReasonInvalidOrder}
		}
		return Hold{}
	}
	lim := &s.limits[c.OwnerID()]
	value := notional(c.Qty, c.Price, s.cfg.Symbols[c.Symbol-1].CashPerTickLot)
	switch {
	case lim.MaxOrderQty > 0 && c.Qty > lim.MaxOrderQty:
		return Hold{Reason: matcher.ReasonRiskOrderQty}
	case lim.MaxOrderNotional > 0 && value > lim.MaxOrderNotional:
		return Hold{Reason: matcher.ReasonRiskNotional}
	case !s.spot:
		return Hold{}
	}
	h, r := s.reserveFor(c)
	if r != matcher.ReasonNone {
		return Hold{Reason: r}
	}
	return h
}

// Reducible reports whether Check's refusal r of c is a replace's refusal
// for cash or inventory: final only once CheckExact has judged it on the
// difference. Hot path.
func Reducible(c *matcher.Command, r matcher.Reason) bool {
	return c.Kind == matcher.KindReplace && (r == matcher.ReasonRiskCash || r == matcher.ReasonRiskInventory)
}

// CheckExact is Check for a replace that Check refused for cash or
// inventory (Reducible), on the exact state: the caller ensures that the
// settle half has settled every command before cmd and runs nothing while
// this runs, and names the order cmd targets as its engine finds it then
// (matcher.Partitions.Target: id 0 when none works; cum, its filled
// quantity). The replace needs only what its new terms hold (its new
// leaves at its new price and the fee in force) beyond what the order
// holds: a reduction always passes (the limits passed already). Cold
// path: only a replace the view refused pays it.
func (s *State) CheckExact(cmd *matcher.Command, target, cum int64) Hold {
	h := s.Check(cmd)
	if !Reducible(cmd, h.Reason) || target == 0 {
		return h
	}
	o := s.orders.get(target)
	if o == nil || o.account != cmd.OwnerID() || o.symbol != cmd.Symbol || o.side != cmd.Side {
		return h // the matcher refuses it; the refusal is as good an answer
	}
	need := max(cmd.Qty-cum, 0)
	if o.side == matcher.Buy {
		need = s.buyHold(need, cmd.Price, s.cfg.Symbols[cmd.Symbol-1].CashPerTickLot)
	}
	i := s.heldCell(o)
	d := need - s.held(o)
	if d > 0 && s.view(i) < d {
		return h
	}
	d = max(d, 0)
	s.pending[i] += d
	out := Hold{Diff: 1}
	if o.side == matcher.Buy {
		out.Cash = d
	} else {
		out.Inv = d
	}
	return s.inFlight(cmd, out)
}

// checkFunds refuses a funds record it cannot apply, a deposit that would
// take the venue's total of its asset past MaxInt64 (ReasonRiskFundsLimit:
// decided on fundingChecked, exact), and a withdrawal of more than is
// free; it reserves a withdrawal's amount. The fee account (account 0)
// takes cash withdrawals only (matcher.Funds.Check).
func (s *State) checkFunds(c *matcher.Command) Hold {
	f, ok := matcher.FundsOf(c)
	if !ok || (f.Account != 0 && !s.knownAccount(f.Account)) || (f.Symbol != 0 && !s.knownSymbol(f.Symbol)) {
		return Hold{Reason: matcher.ReasonRiskFundsRefused}
	}
	venue := &s.fundingChecked.Cash
	if f.Symbol != 0 {
		venue = &s.fundingChecked.Inv[f.Symbol-1]
	}
	if !f.Withdraw {
		if f.Amount > math.MaxInt64-*venue {
			return Hold{Reason: matcher.ReasonRiskFundsLimit}
		}
		*venue += f.Amount
		s.depositsChecked[f.Account]++
		return Hold{}
	}
	i := s.cashCell(f.Account)
	if f.Symbol != 0 {
		i = s.invCell(f.Account, f.Symbol)
	}
	if s.view(i) < f.Amount {
		return Hold{Reason: matcher.ReasonRiskFundsRefused}
	}
	*venue -= f.Amount
	s.pending[i] += f.Amount
	if f.Symbol != 0 {
		return Hold{Inv: f.Amount}
	}
	return Hold{Cash: f.Amount}
}

// RefusalEvent is the answer to a new order that Check refused with h:
// EvRejected, built from the command alone as the matcher builds its own
// refusals, so the gateway reports it like any other. ok is false for
// other kinds: a refused replace is answered by its order's engine, with
// the order's state (Partitions.RefuseReplace); a funds record's refusal
// is the operator's answer.
func RefusalEvent(c *matcher.Command, h Hold) (ev matcher.Event, ok bool) {
	if c.Kind != matcher.KindNew {
		return ev, false
	}
	return matcher.Event{
		Seq: c.Seq, TimeNs: c.TimeNs, OrderID: c.OrderID, ExecID: c.Seq * matcher.ExecIDStride,
		Price: c.Price, OrderQty: c.Qty, Symbol: c.Symbol, Account: c.Account,
		Type: matcher.EvRejected, Reason: h.Reason, Side: c.Side, OrdType: c.Type, TIF: c.TIF, Kind: c.Kind,
		ClOrdID: c.ClOrdID, OrigClOrdID: c.OrigClOrdID, Owner: c.EventOwner(),
	}, true
}
