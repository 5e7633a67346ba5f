package risk

import "github.com/ringex/ringex/matcher"

// The rules in force: each account's limits, each symbol's protection
// price and the fee. A State starts with its Config's; from then on the
// journal's rule records (KindRiskLimits, KindRiskSymbol, KindRiskFee)
// change them in their place in the sequence, so a replay decides every
// command by the rules it ran under. The node starts its states with no
// rules (a Config with none) and journals what its config wants
// (RulesToJournal) before FIX opens.

// checkRule refuses a rule record risk cannot apply and puts one it can in
// force for the commands after it.
func (s *State) checkRule(c *matcher.Command) Hold {
	switch c.Kind {
	case matcher.KindRiskLimits:
		l, ok := matcher.RiskLimitsOf(c)
		if !ok || !s.knownAccount(l.Account) {
			return Hold{Reason: matcher.ReasonInvalidOrder}
		}
		s.limits[l.Account] = limitsOf(l)
	case matcher.KindRiskSymbol:
		r, ok := matcher.RiskSymbolOf(c)
		if !ok || !s.knownSymbol(r.Symbol) {
			return Hold{Reason: matcher.ReasonInvalidOrder}
		}
		s.protect[r.Symbol-1] = r.ProtectionPrice
	case matcher.KindRiskFee:
		f, ok := matcher.RiskFeeOf(c)
		if !ok {
			return Hold{Reason: matcher.ReasonInvalidOrder}
		}
		s.fee = f.FeeBps
	}
	return Hold{}
}

// applyRule is the settle half's copy of a rule record Check accepted.
func (s *State) applyRule(c *matcher.Command) {
	switch c.Kind {
	case matcher.KindRiskLimits:
		l, _ := matcher.RiskLimitsOf(c)
		s.limitsSettled[l.Account] = limitsOf(l)
	case matcher.KindRiskSymbol:
		r, _ := matcher.RiskSymbolOf(c)
		s.protectSettled[r.Symbol-1] = r.ProtectionPrice
	case matcher.KindRiskFee:
		f, _ := matcher.RiskFeeOf(c)
		s.feeSettled = f.FeeBps
	}
}

func limitsOf(l matcher.RiskLimits) Limits {
	return Limits{MaxOrderQty: l.MaxOrderQty, MaxOrderNotional: l.MaxOrderNotional, MaxOpenOrders: l.MaxOpenOrders}
}

// RulesToJournal returns the rule records that put want's rules (its
// limits, protection prices and fee) in force, for each one that differs
// from the state's: call it when nothing is in flight (before the ring
// starts), and journal them before any order.
func (s *State) RulesToJournal(want Config) []matcher.Command {
	var out []matcher.Command
	for a := 1; a <= s.cfg.Accounts; a++ {
		l := want.Default
		if x, ok := want.Account[uint32(a)]; ok {
			l = x
		}
		if l != s.limits[a] {
			c, _ := matcher.RiskLimits{Account: uint32(a), MaxOrderQty: l.MaxOrderQty, MaxOrderNotional: l.MaxOrderNotional, MaxOpenOrders: l.MaxOpenOrders}.Command()
			out = append(out, c)
		}
	}
	for i, y := range want.Symbols {
		if i < len(s.protect) && y.ProtectionPrice != s.protect[i] {
			c, _ := matcher.RiskSymbol{Symbol: uint32(i + 1), ProtectionPrice: y.ProtectionPrice}.Command()
			out = append(out, c)
		}
	}
	if want.FeeBps != s.fee {
		c, _ := matcher.RiskFee{FeeBps: want.FeeBps}.Command()
		out = append(out, c)
	}
	return out
}
