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

import (
	"errors"
	"fmt"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// checkAccounts checks the configured sessions against the bindings the
// engines hold and returns the bindings still to journal, in session
// order. It reads the engines: call it before the ring starts, or while
// the pipeline is drained and nothing else binds (a promotion).
func (n *Node) checkAccounts() ([]matcher.AccountBinding, error) {
	return accountsToBind(n.cfg.FIX.Sessions, n.partitions[0].engine.Bindings())
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
		n.logf("ringex: bound %d account(s) to their sessions' CompIDs in the journal, from account %d (%s)", len(todo), todo[0].Account, todo[0].Name)
	}
	return nil
}
