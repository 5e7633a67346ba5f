package node

// Accounts: which broker each account id is, for good.
//
// A broker's account id is its session's 1-based position in fix.sessions,
// and the journal binds it: before FIX opens, a primary journals one
// matcher.KindBindAccount record (account id, TargetCompID) through the
// ring for each configured session that is not bound yet. Every engine
// keeps the bindings, so they are rebuilt by replay like the books, carried
// by snapshots (a journal that begins after one) and covered by the state
// hash, and a standby receives them in the stream like any record. A
// binding never changes. On every start (and on a promotion) the config is
// checked against them: a session whose position is not its bound account,
// or that would take an account bound to another broker, refuses the start
// with both names and both ids, before anything is journaled. Sessions
// appended at the end are bound as they first appear; a session removed
// from the config keeps its account bound, so its orders keep their owner
// and no later session can take them. A journal written before bindings
// existed has none: its sessions are bound at their positions on the first
// start, as the positions had meant all along.
//
// A firm's named accounts (config firms[].accounts, FIX Account tag 1) are
// bound the same way, by name and never by position: an account the
// journal has not bound takes the next id from matcher.FirstNamedAccount
// on, in config order, and keeps it for good. Reordering firms or their
// accounts changes nothing; an account the journal binds that no firm
// lists any more refuses the start, naming it, since its orders and
// balances would have no owner.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

// checkAccounts checks the configured sessions against the bindings the
// engines hold and returns the bindings still to journal, in session
// order. It reads the engines: call it before the ring starts, or while
// the pipeline is drained and nothing else binds (a promotion).
func (n *Node) checkAccounts() ([]matcher.AccountBinding, error) {
	bound := n.partitions[0].engine.Bindings()
	todo, err := accountsToBind(n.cfg.FIX.Sessions, bound)
	more, errNamed := namedAccountsToBind(n.cfg.NamedAccounts(), bound)
	if err = errors.Join(err, errNamed); err != nil {
		return nil, err
	}
	todo = append(todo, more...)
	ids := AccountIDs(append(bound, todo...))
	n.accountIDs.Store(&ids)
	return todo, nil
}

// boundIDs is every bound name's account id as checkAccounts last found
// them; nil before it ran.
func (n *Node) boundIDs() map[string]uint32 {
	if ids := n.accountIDs.Load(); ids != nil {
		return *ids
	}
	return nil
}

// AccountIDs maps each bound name to its account id.
func AccountIDs(bs []matcher.AccountBinding) map[string]uint32 {
	ids := make(map[string]uint32, len(bs))
	for _, b := range bs {
		ids[b.Name] = b.Account
	}
	return ids
}

// namedAccountsToBind is checkAccounts for firms' named accounts: names
// in config order, and the journal's bindings. It returns the bindings
// still to journal, each at the next free id from
// matcher.FirstNamedAccount.
func namedAccountsToBind(names []string, bound []matcher.AccountBinding) ([]matcher.AccountBinding, error) {
	byName := make(map[string]uint32, len(bound))
	next := uint32(matcher.FirstNamedAccount)
	for _, b := range bound {
		byName[b.Name] = b.Account
		if b.Account >= next {
			next = b.Account + 1
		}
	}
	listed := make(map[string]bool, len(names))
	var todo []matcher.AccountBinding
	var errs []error
	for _, name := range names {
		listed[name] = true
		id, known := byName[name]
		switch {
		case known && id < matcher.FirstNamedAccount:
			errs = append(errs, fmt.Errorf("config: firms[].accounts %q: the journal binds that name to account %d, a session's own account: name the firm's account otherwise", name, id))
		case known:
			// bound: keeps its id
		default:
			b := matcher.AccountBinding{Account: next, Name: name}
			if err := b.Check(); err != nil || next > matcher.MaxOwner {
				errs = append(errs, fmt.Errorf("config: firms[].accounts %q cannot be bound to account %d: %v", name, next, err))
				continue
			}
			todo = append(todo, b)
			next++
		}
	}
	for _, b := range bound {
		if b.Account >= matcher.FirstNamedAccount && !listed[b.Name] {
			errs = append(errs, fmt.Errorf("config: account %s (id %d) is bound in the journal but no firm lists it in firms[].accounts: an account never goes away (its orders and balances stay its own); put it back in its firm", b.Name, b.Account))
		}
	}
	return todo, errors.Join(errs...)
}

// accountsToBind is checkAccounts on its own inputs: sessions in config
// order (session i is account i+1) and the journal's bindings. Every
// contradiction is reported, each with both CompIDs and both account ids.
func accountsToBind(sessions []config.Session, bound []matcher.AccountBinding) ([]matcher.AccountBinding, error) {
	byAccount := make(map[uint32]string, len(bound))
	byName := make(map[string]uint32, len(bound))
	for _, b := range bound {
		byAccount[b.Account], byName[b.Name] = b.Name, b.Account
	}
	var todo []matcher.AccountBinding
	var errs []error
	for i, s := range sessions {
		want := matcher.AccountBinding{Account: uint32(i + 1), Name: s.TargetCompID}
		if err := want.Check(); err != nil {
			errs = append(errs, fmt.Errorf("config: fix.sessions[%d].targetCompID %q cannot be bound to an account: %w", i, s.TargetCompID, err))
			continue
		}
		owner, taken := byAccount[want.Account]
		if !taken {
			owner = "no broker"
		}
		had, known := byName[want.Name]
		switch {
		case known && had == want.Account:
			// bound where it is: nothing to do
		case known:
			errs = append(errs, fmt.Errorf("config: fix.sessions[%d] %s would be account %d by its position, but the journal binds %s to account %d and account %d to %s: "+
				"the sessions were reordered or one was removed before it; a binding never changes, so put %s back at position %d (fix.sessions[%d])",
				i, want.Name, want.Account, want.Name, had, want.Account, owner, want.Name, had, had-1))
		case taken:
			errs = append(errs, fmt.Errorf("config: fix.sessions[%d] %s would be account %d by its position, but the journal binds account %d to %s: "+
				"an account never changes hands (%s's orders stay %s's); keep %s at fix.sessions[%d] and add %s after it",
				i, want.Name, want.Account, want.Account, owner, owner, owner, owner, i, want.Name))
		default:
			todo = append(todo, want)
		}
	}
	return todo, errors.Join(errs...)
}

// bindAccounts journals the bindings todo through the ring, in order. A
// primary calls it after replication has started (a sync standby gets them
// like any record) and before FIX opens: every command of a broker is
// sequenced after its binding, so it is never durable without it.
func (n *Node) bindAccounts(todo []matcher.AccountBinding) error {
	for _, b := range todo {
		cmd, err := b.Command()
		if err == nil {
			_, err = n.submitSeq(&cmd)
		}
		if err != nil {
			return fmt.Errorf("bind account %d to %s: %w", b.Account, b.Name, err)
		}
	}
	if len(todo) > 0 {
		n.log.Info("bound accounts to their sessions' CompIDs in the journal", "accounts", len(todo), "first_account", todo[0].Account, "first_name", todo[0].Name)
	}
	return nil
}

// firmsSTP adds cfg's firms to the engine config mc, by name: each firm's
// sessions and accounts with its scope, and each one's mode where
// match.stpAccounts names it or its firm has one (firms[].stp).
func firmsSTP(cfg config.Config, mc *matcher.Config) {
	override := make(map[string]config.STP, len(cfg.Match.STPAccounts))
	for _, a := range cfg.Match.STPAccounts {
		override[a.CompID] = a.Mode
	}
	for _, f := range cfg.Firms {
		scope := matcher.STPScopeAccount
		if f.STPScope == config.STPScopeFirm {
			scope = matcher.STPScopeFirm
		}
		names := append(slices.Clone(f.Sessions), f.Accounts...)
		mc.Firms = append(mc.Firms, matcher.FirmSTP{Scope: scope, Names: names})
		for _, name := range names {
			if m, ok := override[name]; ok {
				mc.NamedSTP = append(mc.NamedSTP, matcher.NamedSTP{Name: name, Mode: stpMode(m)})
			} else if f.STP != nil {
				mc.NamedSTP = append(mc.NamedSTP, matcher.NamedSTP{Name: name, Mode: stpMode(*f.STP)})
			}
		}
	}
}

// firmAccounts gives each session of a firm in o the firm's named
// accounts, which its orders may name with FIX Account (tag 1): their ids
// as checkAccounts found or bound them.
func (n *Node) firmAccounts(o *gateway.Options) {
	for i := range o.Sessions {
		f := n.cfg.FirmOf(o.Sessions[i].TargetCompID)
		if f == nil || len(f.Accounts) == 0 {
			continue
		}
		o.Sessions[i].Accounts = make(map[string]uint32, len(f.Accounts))
		for _, a := range f.Accounts {
			if id := n.boundIDs()[a]; id != 0 {
				o.Sessions[i].Accounts[a] = id
			}
		}
	}
}

// dropCopyOf is a session's dropCopyOf with each firm's name replaced by
// the firm's sessions: a firm's accounts are used by its sessions only,
// so their reports are the reports to those sessions.
func dropCopyOf(cfg config.Config, of []string) []string {
	var out []string
	for _, name := range of {
		if i := slices.IndexFunc(cfg.Firms, func(f config.Firm) bool { return f.Name == name }); i >= 0 {
			out = append(out, cfg.Firms[i].Sessions...)
			continue
		}
		out = append(out, name)
	}
	return out
}

// riskAccounts is the number of account ids risk keeps: the sessions', and
// with firms' named accounts every id up to the last one they can be bound
// to (namedAccountsToBind binds them from matcher.FirstNamedAccount on,
// and refuses a start where the journal binds one no firm lists).
func riskAccounts(cfg config.Config) int {
	if k := len(cfg.NamedAccounts()); k > 0 {
		return matcher.FirstNamedAccount - 1 + k
	}
	return len(cfg.FIX.Sessions)
}
