package config

import "fmt"

// FeeAccount names the venue's fee account (risk account 0, where
// risk.feeBps collects) to the account commands: `ringex account show`
// and `withdraw` take it. No session, firm or firm's account may be
// called so.
const FeeAccount = "@fees"

// Risk is the venue's pre-trade risk (package risk; docs/design.md,
// "Risk"). Mode "none", the default, leaves every other key unused.
type Risk struct {
	Mode RiskMode `json:"mode"`
	// CashUnit is the smallest amount of the quote asset, a decimal such
	// as "0.01": balances, deposits and notional limits are whole numbers
	// of it, and every symbol's tickSize × lotSize must be a whole number
	// of it. Required with mode "spot".
	CashUnit string `json:"cashUnit"`
	// Limits apply to every account that Accounts does not name.
	Limits RiskLimits `json:"limits"`
	// Accounts replace Limits for the brokers they name.
	Accounts []RiskAccount `json:"accounts"`
	// FeeBps is the fee on each fill in basis points of its notional,
	// paid by both sides to the venue's fee account (mode "spot"); 0: none.
	FeeBps int64 `json:"feeBps"`
	// Protection gives a symbol the price a market buy holds cash at and
	// trades no worse than; without one, a market buy in mode "spot" is
	// refused.
	Protection []RiskProtection `json:"protection"`
}

// RiskLimits bound each order of an account and its working orders; 0 is
// no limit.
type RiskLimits struct {
	MaxOrderQty      int64 `json:"maxOrderQty"`      // lots
	MaxOrderNotional int64 `json:"maxOrderNotional"` // cash units (risk.cashUnit): quantity × price
	MaxOpenOrders    int64 `json:"maxOpenOrders"`
}

// RiskAccount is one account's limits, keyed by its name.
type RiskAccount struct {
	CompID           string `json:"compID"` // a fix.sessions[].targetCompID (its own account) or a firms[].accounts name
	MaxOrderQty      int64  `json:"maxOrderQty"`
	MaxOrderNotional int64  `json:"maxOrderNotional"`
	MaxOpenOrders    int64  `json:"maxOpenOrders"`
}

// Limits are the account's limits.
func (a RiskAccount) Limits() RiskLimits {
	return RiskLimits{MaxOrderQty: a.MaxOrderQty, MaxOrderNotional: a.MaxOrderNotional, MaxOpenOrders: a.MaxOpenOrders}
}

// RiskProtection is one symbol's market-buy protection price.
type RiskProtection struct {
	Symbol string `json:"symbol"` // a symbols[].name
	Price  string `json:"price"`  // a decimal price on the symbol's tick
}

// check refuses risk settings that cannot work; the decimals are checked
// against the ticks by the node, which converts them.
func (r *Risk) check(c *Config) error {
	if r.Mode > RiskModeSpot {
		return fmt.Errorf("risk.mode %v: want none, limits or spot", r.Mode)
	}
	if err := c.checkFeeAccountName(); err != nil {
		return err
	}
	if r.Mode == RiskModeSpot && r.CashUnit == "" {
		return fmt.Errorf("risk.cashUnit is required with risk.mode \"spot\"")
	}
	if r.FeeBps < 0 || r.FeeBps > 10000 {
		return fmt.Errorf("risk.feeBps %d: want 0 to 10000", r.FeeBps)
	}
	if err := r.Limits.check("risk.limits"); err != nil {
		return err
	}
	if err := r.checkNotionalUnit(); err != nil {
		return err
	}
	sessions := map[string]bool{}
	for _, s := range c.FIX.Sessions {
		sessions[s.TargetCompID] = true
	}
	for _, a := range c.NamedAccounts() {
		sessions[a] = true
	}
	seen := map[string]bool{}
	for i, a := range r.Accounts {
		if !sessions[a.CompID] || seen[a.CompID] {
			return fmt.Errorf("risk.accounts[%d].compID %q: not a fix.sessions[].targetCompID or a firms[].accounts name, or repeated", i, a.CompID)
		}
		seen[a.CompID] = true
		if err := a.Limits().check(fmt.Sprintf("risk.accounts[%d]", i)); err != nil {
			return err
		}
	}
	symbols := map[string]bool{}
	for _, s := range c.Symbols {
		symbols[s.Name] = true
	}
	seen = map[string]bool{}
	for i, p := range r.Protection {
		if !symbols[p.Symbol] || seen[p.Symbol] {
			return fmt.Errorf("risk.protection[%d].symbol %q: not a symbols[].name, or repeated", i, p.Symbol)
		}
		seen[p.Symbol] = true
	}
	return nil
}

// checkFeeAccountName refuses a session, firm or firm's account named
// FeeAccount.
func (c *Config) checkFeeAccountName() error {
	for i, s := range c.FIX.Sessions {
		if s.TargetCompID == FeeAccount {
			return fmt.Errorf("fix.sessions[%d].targetCompID %q: the name of the venue's fee account", i, FeeAccount)
		}
	}
	for i, f := range c.Firms {
		for _, a := range append([]string{f.Name}, f.Accounts...) {
			if a == FeeAccount {
				return fmt.Errorf("firms[%d] %s: %q is the name of the venue's fee account", i, f.Name, FeeAccount)
			}
		}
	}
	return nil
}

// checkNotionalUnit refuses a notional limit without risk.cashUnit: the
// limit is a number of cash units, and without the unit that number means
// other money for each symbol (one unit per tick × lot).
func (r *Risk) checkNotionalUnit() error {
	if r.Mode == RiskModeNone || r.CashUnit != "" {
		return nil
	}
	path := ""
	if r.Limits.MaxOrderNotional != 0 {
		path = "risk.limits.maxOrderNotional"
	}
	for i, a := range r.Accounts {
		if path == "" && a.MaxOrderNotional != 0 {
			path = fmt.Sprintf("risk.accounts[%d].maxOrderNotional", i)
		}
	}
	if path == "" {
		return nil
	}
	return fmt.Errorf("%s is a number of cash units: set risk.cashUnit (the quote asset's smallest amount, e.g. \"0.01\") with it", path)
}

func (l RiskLimits) check(path string) error {
	if l.MaxOrderQty < 0 || l.MaxOrderNotional < 0 || l.MaxOpenOrders < 0 {
		return fmt.Errorf("%s: maxOrderQty, maxOrderNotional and maxOpenOrders must not be negative", path)
	}
	return nil
}
