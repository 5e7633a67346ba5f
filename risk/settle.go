package risk

import "github.com/ringex/ringex/matcher"

// The settle half: Apply, then Event for each of the command's events in
// the order the publish stage hands them on, then Done. Hot path: no
// allocation once the table of working orders has grown to the working
// set (orderTable: it grows only while the number of working orders
// reaches a new high).

// The settle half stores each change as it makes it, and Check's
// goroutine may read the cells between any two stores. What it relies on
// (Check's view, Exact, Final; see cell), and the order of the stores
// that keeps it:
//
//   - avail only grows, store by store: every change stores its avail at
//     most once, the release and the debit it pays for netted (change), so
//     no reader sees a value between the two, freer than either end; what
//     Check sees is a lower bound of what is free.
//   - A count's applied is stored when its order is applied, its avail
//     when the order ends, later: a count's hold (applied - avail) read
//     avail first is never lower than it was (countSeen), so a zero is a
//     true zero.
//   - A fill's credit (a sell's proceeds, a buy's lots) is stored, total
//     then avail, before the end of its order drops its count (Event: fill,
//     then end); an end releases the order's hold before its count; a
//     deposit's total and avail are stored before depositsApplied; and
//     everything a new order or a replace settles before its ordersDone,
//     last at Done. Exact and Final read the counts first and the amounts
//     after, so a count that says "settled" vouches for the amounts.
//   - The fee account's cash (account 0) is credited at Done, with no
//     count of its own: Exact never vouches for it (Final neither).
//
// Storing each cell once per command instead of once per change
// (coalesced at Done, amounts before counts) would keep these too, with
// fewer stores (5.22 a command of the bench stream instead of 5.94), but
// its bookkeeping costs the settle half more than the stores it saves
// (docs/performance.md, 2026-12-06).

// reserve applies a reservation Check made: one store, of its applied
// count, which moves the hold up and leaves avail, what Check sees free,
// as it was (see cell).
func (s *State) reserve(i int, amount int64) {
	c := &s.cells[i]
	c.applied.Store(c.applied.Load() + amount)
}

// release gives back amount of a hold.
func (s *State) release(i int, amount int64) { s.change(i, -amount, 0) }

// move changes a total (and so what is free) by delta: a deposit or a
// credit.
func (s *State) move(i int, delta int64) { s.change(i, 0, delta) }

// change adds heldDelta to the cell's hold and totalDelta to its total:
// it stores the total, then avail (held = total + applied - avail), each
// only if it changed.
func (s *State) change(i int, heldDelta, totalDelta int64) {
	c := &s.cells[i]
	if totalDelta != 0 {
		c.total.Store(c.total.Load() + totalDelta)
	}
	if d := totalDelta - heldDelta; d != 0 {
		c.avail.Store(c.avail.Load() + d)
	}
}

// Apply starts the settling of cmd, which Check answered with h: it puts
// the reservation into the balances (a withdrawal is taken at once, a
// deposit added).
func (s *State) Apply(cmd *matcher.Command, h Hold) {
	s.cur.start(cmd, h)
	switch cmd.Kind { // one range test while the kinds are contiguous (the compiler merges them)
	case matcher.KindDeposit, matcher.KindWithdraw, matcher.KindBlock, matcher.KindUnblock:
		s.settleRef(cmd, h) // cold: the operator's records
	}
	if h.Reason != matcher.ReasonNone {
		return
	}
	switch cmd.Kind {
	case matcher.KindNew, matcher.KindReplace:
		if h.Open != 0 {
			s.opens[cmd.OwnerID()]++
			s.reserve(s.sideCell(cmd.OwnerID(), cmd.Side), 1)
		}
		s.reserveHold(cmd.OwnerID(), cmd.Symbol, h)
		s.cur.newOK = cmd.Kind == matcher.KindNew && (h.Open != 0 || h.Cash != 0 || h.Inv != 0)
		s.cur.repOK = cmd.Kind == matcher.KindReplace && (h.Cash != 0 || h.Inv != 0 || h.Diff != 0)
		s.cur.symbol = cmd.Symbol
	case matcher.KindDeposit, matcher.KindWithdraw:
		s.applyFunds(cmd, h)
	case matcher.KindBlock, matcher.KindUnblock:
		s.settleBlock(cmd)
	case matcher.KindRiskLimits, matcher.KindRiskSymbol, matcher.KindRiskFee:
		s.applyRule(cmd)
	case matcher.KindSymbolScale:
		s.noteListed(cmd) // cold: one per symbol at a start
	}
}

func (s *State) reserveHold(a, symbol uint32, h Hold) {
	if h.Cash != 0 {
		s.reserve(s.cashCell(a), h.Cash)
	}
	if h.Inv != 0 {
		s.reserve(s.invCell(a, symbol), h.Inv)
	}
}

func (s *State) releaseHold(a, symbol uint32, h Hold) {
	if h.Cash != 0 {
		s.release(s.cashCell(a), h.Cash)
	}
	if h.Inv != 0 {
		s.release(s.invCell(a, symbol), h.Inv)
	}
	if h.Open != 0 {
		s.opens[a]--
	}
}

// releaseSide ends the count of a new order's side that h counted.
func (s *State) releaseSide(a uint32, side matcher.Side, h Hold) {
	if h.Open != 0 {
		s.release(s.sideCell(a, side), 1)
	}
}

func (s *State) applyFunds(cmd *matcher.Command, h Hold) {
	f, _ := matcher.FundsOf(cmd)
	i := s.cashCell(f.Account)
	if f.Symbol != 0 {
		i = s.invCell(f.Account, f.Symbol)
	}
	amount := f.Amount
	if f.Withdraw {
		// Check reserved it: taken from the total, and counted as applied
		// after (free goes down as applied goes up, the hold stays, and so
		// does avail).
		amount = -amount
		c := &s.cells[i]
		c.total.Store(c.total.Load() + amount)
		c.applied.Store(c.applied.Load() + f.Amount)
	} else {
		s.move(i, amount)
		d := &s.depositsApplied[f.Account]
		d.Store(d.Load() + 1)
	}
	if f.Symbol == 0 {
		s.funding.Cash += amount
	} else {
		s.funding.Inv[f.Symbol-1] += amount
	}
}

// Event settles one event of the current command.
func (s *State) Event(ev *matcher.Event) {
	switch ev.Type {
	case matcher.EvAccepted:
		if s.cur.newOK && ev.Seq == s.cur.cmd.Seq && ev.OrderID == ev.Seq {
			s.openOrder(ev)
		}
	case matcher.EvRejected:
		if s.cur.newOK && ev.Seq == s.cur.cmd.Seq {
			s.cur.newOK = false
			s.releaseHold(s.cur.cmd.OwnerID(), s.cur.symbol, s.cur.hold)
			s.releaseSide(s.cur.cmd.OwnerID(), s.cur.cmd.Side, s.cur.hold)
		}
	case matcher.EvFill:
		if o := s.orders.get(ev.OrderID); o != nil {
			s.fill(o, ev)
			if ev.LeavesQty == 0 {
				s.end(ev.OrderID, o)
			}
		}
	case matcher.EvReplaced:
		if o := s.orders.get(ev.OrderID); o != nil {
			s.replaced(o, ev)
		}
	case matcher.EvCancelled, matcher.EvExpired:
		if o := s.orders.get(ev.OrderID); o != nil {
			s.end(ev.OrderID, o)
		}
	}
	if s.cur.repOK && ev.Type != matcher.EvFill && ev.OrderID != 0 && ev.Seq == s.cur.cmd.Seq {
		// The matcher answered the replace some other way (refused it, or
		// a new quantity at or below the filled one ended the order).
		s.cur.repOK = false
		s.releaseHold(s.cur.cmd.OwnerID(), s.cur.symbol, s.cur.hold)
	}
}

// Done ends the current command: a reservation no event claimed (a
// command the matcher answered with no event of its order) is released.
func (s *State) Done() {
	if s.fees != 0 {
		// A credit of the fee account's cash cell (account 0): two stores,
		// once per command with fills, so that Balance(0) shows it and
		// Check may let the operator withdraw it.
		s.move(s.cashCell(0), s.fees)
		s.fees = 0
	}
	if s.cur.newOK || s.cur.repOK {
		s.releaseHold(s.cur.cmd.OwnerID(), s.cur.symbol, s.cur.hold)
	}
	if s.cur.newOK {
		s.releaseSide(s.cur.cmd.OwnerID(), s.cur.cmd.Side, s.cur.hold)
	}
	if c := s.cur.cmd; c != nil && (c.Kind == matcher.KindNew || c.Kind == matcher.KindReplace) &&
		reserves(s.cur.hold) && s.knownAccount(c.OwnerID()) {
		d := &s.ordersDone[c.OwnerID()] // last: everything it settled is in (Exact)
		d.Store(d.Load() + 1)
	}
	s.cur = current{}
}

// openOrder turns the current new order's hold into its record.
func (s *State) openOrder(ev *matcher.Event) {
	s.cur.newOK = false
	o := s.orders.add(ev.OrderID)
	o.account, o.symbol, o.side, o.leaves, o.feeBps, o.unit = s.cur.cmd.OwnerID(), ev.Symbol, ev.Side, ev.LeavesQty, s.feeSettled, 0
	if s.spot && ev.Side == matcher.Buy {
		o.unit = s.cur.hold.Cash / ev.OrderQty
	}
}

// fill settles one side of a trade: the buyer pays for and receives the
// lots, the seller delivers them and is paid.
func (s *State) fill(o *order, ev *matcher.Event) {
	q := ev.LastQty
	o.leaves -= q
	if !s.spot {
		return
	}
	cost := notional(q, ev.LastPx, s.cfg.Symbols[o.symbol-1].CashPerTickLot)
	fee := feeOf(cost, o.feeBps)
	cash, inv := s.cashCell(o.account), s.invCell(o.account, o.symbol)
	s.fees += fee // the venue's fee account's, at Done
	if o.side == matcher.Buy {
		s.change(cash, -q*o.unit, -cost-fee) // frees the gap between held and traded price and fee
		s.move(inv, q)
		return
	}
	s.change(inv, -q, -q)
	s.move(cash, cost-fee)
}

// replaced moves the order's hold to its new terms, taken out of what
// the order held and what Check reserved for the replace; the surplus
// goes back (never less than nothing: Check reserved the new terms' hold
// at the fee in force, less at most the order's hold, CheckExact).
func (s *State) replaced(o *order, ev *matcher.Event) {
	old := s.held(o)
	o.leaves = ev.LeavesQty
	if ev.Reason == matcher.ReasonSelfTrade {
		// Self-trade prevention decremented it (same price): release what
		// the lots taken off held.
		if d := old - s.held(o); d > 0 {
			s.release(s.heldCell(o), d)
		}
		return
	}
	// The new terms pay the fee in force at the replace, the one Check
	// reserved at (checkReplace, CheckExact): one fee per accepted set of
	// terms, for the hold and for every fill after it.
	o.feeBps = s.feeSettled
	if s.spot && o.side == matcher.Buy {
		o.unit = holdUnit(ev.Price, s.cfg.Symbols[o.symbol-1].CashPerTickLot, o.feeBps)
	}
	if !s.cur.repOK || ev.Seq != s.cur.cmd.Seq {
		return
	}
	s.cur.repOK = false
	h := s.cur.hold
	if o.side == matcher.Buy {
		h.Cash -= o.leaves * o.unit
		h.Cash += old
	} else {
		h.Inv -= o.leaves
		h.Inv += old
	}
	s.releaseHold(o.account, o.symbol, h)
}

// held is what order o holds now: cash for a buy, lots for a sell.
func (s *State) held(o *order) int64 {
	if !s.spot {
		return 0
	}
	if o.side == matcher.Buy {
		return o.leaves * o.unit
	}
	return o.leaves
}

// heldCell is the cell order o's hold is in: cash for a buy, the
// symbol's lots for a sell.
func (s *State) heldCell(o *order) int {
	if o.side == matcher.Buy {
		return s.cashCell(o.account)
	}
	return s.invCell(o.account, o.symbol)
}

// end releases what order id still holds and forgets it (o is its
// record, which it invalidates).
func (s *State) end(id int64, o *order) {
	if s.spot {
		s.release(s.heldCell(o), s.held(o))
	}
	s.opens[o.account]--
	s.release(s.sideCell(o.account, o.side), 1)
	s.orders.del(id)
}
