package config

import (
	"fmt"
	"strings"
)

// Firm is one member firm: the FIX sessions it owns and the trading
// accounts (FIX Account, tag 1) its sessions may name on an order. An
// order without tag 1 is for its session's own account, as on a venue with
// no firms; with tag 1 it names the session's own TargetCompID or one of
// the firm's accounts, and is rejected otherwise. Reports go to the session
// that sent the order; risk and self-trade prevention act on the account.
// Account ids are bound to these names in the journal (node), never to
// their places in these lists: reordering changes nothing, and removing an
// account the journal binds refuses the start, naming it.
type Firm struct {
	Name     string   `json:"name"`
	Sessions []string `json:"sessions"` // fix.sessions[].targetCompID, each in one firm at most
	Accounts []string `json:"accounts"` // names, unique across firms and session CompIDs
	// STP is the self-trade prevention mode of the firm's accounts and
	// its sessions' own, where match.stpAccounts names none; absent:
	// match.stp.
	STP *STP `json:"stp,omitempty"`
	// STPScope is whom self-trade prevention takes for one party: "account"
	// (the default: orders of the same trading account) or "firm" (orders
	// of any account of the firm). An STP group (SelfMatchPreventionID,
	// tag 2362) always spans the firm.
	STPScope STPScope `json:"stpScope,omitempty"`
}

// STPScope is firms[].stpScope.
type STPScope uint8

const (
	STPScopeAccount STPScope = iota // "" or "account"
	STPScopeFirm                    // "firm"
)

var stpScopeText = []string{STPScopeAccount: "account", STPScopeFirm: "firm"}

func (s STPScope) String() string               { return textOf(stpScopeText, s) }
func (s STPScope) MarshalText() ([]byte, error) { return marshalText(stpScopeText, s) }
func (s *STPScope) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = STPScopeAccount
		return nil
	}
	return unmarshalText(stpScopeText, s, b, "account or firm")
}

// MaxSessions bounds fix.sessions: a session's own account id, bound to its
// CompID in the journal, is below the ids of firms' named accounts
// (matcher.FirstNamedAccount), and never reused once bound.
const MaxSessions = 1023

// MaxAccountName is the longest firms[].accounts name (matcher.MaxAccountName).
const MaxAccountName = 48

// Firm returns the firm called name, or nil.
func (c *Config) Firm(name string) *Firm {
	for i := range c.Firms {
		if c.Firms[i].Name == name {
			return &c.Firms[i]
		}
	}
	return nil
}

// FirmOf returns the firm that owns the session compID, or nil.
func (c *Config) FirmOf(compID string) *Firm {
	for i := range c.Firms {
		for _, s := range c.Firms[i].Sessions {
			if s == compID {
				return &c.Firms[i]
			}
		}
	}
	return nil
}

// NamedAccounts are every firm's accounts, in config order.
func (c *Config) NamedAccounts() []string {
	var out []string
	for _, f := range c.Firms {
		out = append(out, f.Accounts...)
	}
	return out
}

// checkFirms refuses a firm with no name, a repeated one or one over
// MaxAccountName bytes or not printable, a session that is not a broker
// session or is in two firms, and an account name that is empty, too
// long, not printable, repeated or a session's CompID.
func (c *Config) checkFirms() error {
	sessions := map[string]Session{}
	for _, s := range c.FIX.Sessions {
		sessions[s.TargetCompID] = s
	}
	firms, owned, accounts := map[string]bool{}, map[string]string{}, map[string]bool{}
	for i, f := range c.Firms {
		if f.Name == "" || firms[f.Name] {
			return fmt.Errorf("firms[%d].name %q: empty or repeated", i, f.Name)
		}
		// A firm's kill switch journals its name (matcher.FirmBlock).
		if len(f.Name) > MaxAccountName || strings.ContainsAny(f.Name, "\x00\x01=") {
			return fmt.Errorf("firms[%d].name %q: over %d bytes or not printable (the kill switch journals it)", i, f.Name, MaxAccountName)
		}
		firms[f.Name] = true
		for _, s := range f.Sessions {
			cfg, ok := sessions[s]
			if !ok || len(cfg.DropCopyOf) > 0 || cfg.MarketDataOnly {
				return fmt.Errorf("firms[%d] %s: session %q is not a broker session in fix.sessions", i, f.Name, s)
			}
			if other, ok := owned[s]; ok {
				return fmt.Errorf("firms[%d] %s: session %q is already firm %s's", i, f.Name, s, other)
			}
			owned[s] = f.Name
		}
		for _, a := range f.Accounts {
			_, isSession := sessions[a]
			if a == "" || len(a) > MaxAccountName || strings.ContainsAny(a, "\x00\x01=") || accounts[a] || isSession {
				return fmt.Errorf("firms[%d] %s: account %q: empty, over %d bytes, not printable, repeated, or a session's targetCompID", i, f.Name, a, MaxAccountName)
			}
			accounts[a] = true
		}
		if f.STP != nil && *f.STP > STPDecrement {
			return fmt.Errorf("firms[%d] %s: stp %v: want none, cancelOldest, cancelNewest, cancelBoth or decrement", i, f.Name, *f.STP)
		}
		if f.STPScope > STPScopeFirm {
			return fmt.Errorf("firms[%d] %s: stpScope %v: want account or firm", i, f.Name, f.STPScope)
		}
	}
	// The kill switch, account show and dropCopyOf take a session's
	// CompID, a firm's account or a firm's name: one name, one thing.
	for i, f := range c.Firms {
		if _, isSession := sessions[f.Name]; isSession || accounts[f.Name] {
			return fmt.Errorf("firms[%d] %s: the name is also a session's targetCompID or a firm's account; a firm's name must name the firm alone", i, f.Name)
		}
	}
	return nil
}
