package node

// Accounts: which broker each account id is, for good.
//
// A broker's identity is its CompID, never its place in a list. The
// journal binds every account id to a name: before FIX opens, a primary
// journals one matcher.KindBindAccount record (account id, TargetCompID)
// through the ring for each configured session that is not bound yet.
// Every engine keeps the bindings, so they are rebuilt by replay like the
// books, carried by snapshots (a journal that begins after one) and
// covered by the state hash, and a standby receives them in the stream
// like any record. A binding never changes.
//
// On every start (and on a promotion) each configured session gets the id
// the journal binds its CompID to, wherever the config lists it: a
// reordered fix.sessions changes nothing. A session the journal has never
// seen takes the next free id (one above the highest session id ever
// bound, in config order), bound before it can trade. A session removed
// from the config keeps its id reserved, never reused: its orders and
// balances stay its own, and it finds them again when it comes back. A
// journal written before bindings existed has none: its sessions take ids
// 1, 2, ... in config order on the first start, the positions its records
// were written with. Session ids stay below matcher.FirstNamedAccount.
//
// A firm's named accounts (config firms[].accounts, FIX Account tag 1) are
// bound the same way, by name: an account the journal has not bound takes
// the next id from matcher.FirstNamedAccount on, in config order, and
// keeps it for good. Reordering firms or their accounts changes nothing;
// an account the journal binds that no firm lists any more refuses the
// start, naming it, since its orders and balances would have no owner.

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
// order and the journal's bindings. A bound CompID keeps its id; each
// unbound one takes the next free session id, in config order. A session
// id is never reused: the next free one is above every session id the
// journal binds, removed sessions' included. It refuses a CompID that
// cannot be bound, one the journal binds to a firm's named account, and a
// venue whose session ids ran out.
func accountsToBind(sessions []config.Session, bound []matcher.AccountBinding) ([]matcher.AccountBinding, error) {
	byName := make(map[string]uint32, len(bound))
	next := uint32(1)
	for _, b := range bound {
		byName[b.Name] = b.Account
		if b.Account < matcher.FirstNamedAccount && b.Account >= next {
			next = b.Account + 1
		}
	}
	var todo []matcher.AccountBinding
	var errs []error
	for i, s := range sessions {
		id, known := byName[s.TargetCompID]
		switch {
		case known && id >= matcher.FirstNamedAccount:
			errs = append(errs, fmt.Errorf("config: fix.sessions[%d] %s: the journal binds that name to account %d, a firm's named account: "+
				"a session's CompID must not be a firm account's name", i, s.TargetCompID, id))
		case known:
			// bound: keeps its id wherever it is listed
		case next >= matcher.FirstNamedAccount:
			errs = append(errs, fmt.Errorf("config: fix.sessions[%d] %s cannot be bound: the journal binds session ids up to %d, the last one (ids are never reused)",
				i, s.TargetCompID, next-1))
		default:
			b := matcher.AccountBinding{Account: next, Name: s.TargetCompID}
			if err := b.Check(); err != nil {
				errs = append(errs, fmt.Errorf("config: fix.sessions[%d].targetCompID %q cannot be bound to an account: %w", i, s.TargetCompID, err))
				continue
			}
			todo = append(todo, b)
			byName[b.Name] = next
			next++
		}
	}
	return todo, errors.Join(errs...)
}

// sessionIDs is the account id of each session of cfg, in config order:
// the id ids (Node.accountIDs) binds its CompID to. With ids nil (a node
// with Options.Publisher, which binds nothing) they are the positions, as
// journals without bindings number them.
func sessionIDs(cfg config.Config, ids map[string]uint32) []uint32 {
	out := make([]uint32, len(cfg.FIX.Sessions))
	for i, s := range cfg.FIX.Sessions {
		if ids == nil {
			out[i] = uint32(i + 1)
		} else {
			out[i] = ids[s.TargetCompID]
		}
	}
	return out
}

// sessionIDs is sessionIDs of the node's config and bindings.
func (n *Node) sessionIDs() []uint32 { return sessionIDs(n.cfg, n.boundIDs()) }

// sessionName is the TargetCompID of the configured session whose
// account is id (sessionIDs), or "#id" when none is.
func (n *Node) sessionName(id uint32) string {
	if i := slices.Index(n.sessionIDs(), id); i >= 0 {
		return n.cfg.FIX.Sessions[i].TargetCompID
	}
	return fmt.Sprintf("#%d", id)
}

// maxSessionID is the highest of ids (sessionIDs), for tables by account.
func maxSessionID(ids []uint32) uint32 {
	var m uint32
	for _, id := range ids {
		m = max(m, id)
	}
	return m
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
// match.stpAccounts names it or its firm has one (firms[].stp); then the
// mode match.stpAccounts gives a session in no firm. All by name: the
// engine gives an account its mode when the binding of its name is
// applied, whatever id the journal binds it to.
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
		mc.Firms = append(mc.Firms, matcher.FirmSTP{Name: f.Name, Scope: scope, Names: names})
		for _, name := range names {
			if m, ok := override[name]; ok {
				mc.NamedSTP = append(mc.NamedSTP, matcher.NamedSTP{Name: name, Mode: stpMode(m)})
			} else if f.STP != nil {
				mc.NamedSTP = append(mc.NamedSTP, matcher.NamedSTP{Name: name, Mode: stpMode(*f.STP)})
			}
		}
	}
	for _, a := range cfg.Match.STPAccounts {
		if !slices.ContainsFunc(mc.NamedSTP, func(x matcher.NamedSTP) bool { return x.Name == a.CompID }) {
			mc.NamedSTP = append(mc.NamedSTP, matcher.NamedSTP{Name: a.CompID, Mode: stpMode(a.Mode)})
		}
	}
}

// gatewayAccounts gives each session in o (in config order) its bound
// account id, and those of a firm the firm's named accounts, which its
// orders may name with FIX Account (tag 1): their ids as checkAccounts
// found or bound them.
func (n *Node) gatewayAccounts(o *gateway.Options) {
	ids, bound := n.sessionIDs(), n.boundIDs()
	for i := range o.Sessions {
		o.Sessions[i].Account = ids[i]
		f := n.cfg.FirmOf(o.Sessions[i].TargetCompID)
		if f == nil || len(f.Accounts) == 0 {
			continue
		}
		o.Sessions[i].Accounts = make(map[string]uint32, len(f.Accounts))
		for _, a := range f.Accounts {
			if id := bound[a]; id != 0 {
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
		if f := cfg.Firm(name); f != nil {
			out = append(out, f.Sessions...)
			continue
		}
		out = append(out, name)
	}
	return out
}

// riskAccounts is the number of account ids risk keeps: every session id
// there can be (below matcher.FirstNamedAccount, whatever the sessions'
// order or how many came and went), and with firms' named accounts every
// id up to the last one they can be bound to (namedAccountsToBind binds
// them from matcher.FirstNamedAccount on, and refuses a start where the
// journal binds one no firm lists). It depends on no session's place, so
// a reordered, shortened or longer session list keeps the same risk state.
func riskAccounts(cfg config.Config) int {
	return matcher.FirstNamedAccount - 1 + len(cfg.NamedAccounts())
}
