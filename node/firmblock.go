package node

// The kill switch of a firm (docs/design.md, "Risk"). `ringex account
// block FIRM` journals a matcher.FirmBlock record naming the firm, then
// one matcher.AccountBlock for each session and account the config lists
// in the firm; unblock does the same with unblock records. The engines
// keep the blocked firms' names (journal, snapshot, state hash), so a
// firm stays blocked across restarts and promotions: on each, before FIX
// opens, the node journals the firm's block of every member the config
// now lists in a blocked firm that does not hold it in the risk state (a
// session or an account added to the firm since), after the members'
// bindings. A standby keeps the names as it follows the firms' records
// (followFirmBlock), to name a member's firm. Every
// refusal still comes from a journaled block of the account, so the risk
// state stays a pure function of the journal, in a replay and on a
// standby alike. A crash between the firm's record and its members' is
// made good by the next start for a block; an unblock it leaves half done
// leaves members blocked (the safe side) until the operator runs it again.
//
// The members' records are the firm's blocks (matcher.AccountBlock.Firm),
// which the risk state keeps apart from each account's own block: the
// firm's unblock lifts only the firm's, so a member blocked on its own
// stays blocked (the CLI names them, OwnBlockedMembers), and a member's
// unblock by name lifts only its own, so it stays blocked by its blocked
// firm (FirmBlockOf). A start journals the firm's block for every member
// of a blocked firm that does not hold it, blocked on its own or not
// (a journal of an older build has only own blocks: its firm's members
// then hold both, and its firm's unblock leaves their own). An account
// that holds a firm's block that no blocked firm lists any more (it left
// the firm's config) has it lifted by its own unblock (BlockRef).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/risk"
)

// firmMember is one account of a blocked firm still to block.
type firmMember struct {
	account uint32
	name    string
	firm    string
}

// blockFirm journals the block (or unblock) of firm f: its record, then
// one for each of its sessions and accounts, each with the request's
// reference key (ref as the operator wrote it), all of them before it
// waits for any outcome, so a deadline that passes (a sync primary
// holding acknowledgements) leaves every member's record journaled, not
// the first alone; then it waits for their outcomes within ctx. A retry
// journals the firm's record again (it changes nothing) and skips the
// members applied already. A member whose reference the node knows for
// another request (RefConflictError) refuses the whole request before
// anything is journaled. It returns the journal sequence of the last
// record once the pipeline has settled them all, a *RepeatError when
// every member was applied already, else an error that names each member
// not done and wraps ErrOperatorPending when one is pending.
func (n *Node) blockFirm(ctx context.Context, f *config.Firm, key matcher.ClOrdID, ref string, unblock bool) (int64, error) {
	cmd, err := matcher.FirmBlock{Firm: f.Name, Unblock: unblock}.Command()
	if err != nil {
		return 0, fmt.Errorf("firm %s: %w", f.Name, err)
	}
	members := append(slices.Clone(f.Sessions), f.Accounts...)
	cmds := make([]matcher.Command, len(members))
	for i, one := range members {
		a, err := n.accountOf(one)
		if err == nil {
			cmds[i], err = n.blockCommand(a, key, unblock, true)
		}
		if err != nil {
			return 0, fmt.Errorf("firm %s: %s: %w (journaled nothing)", f.Name, one, err)
		}
		if ans, ok := n.refConflictKnown(&cmds[i]); ok {
			return 0, n.refConflict(ans, ref, one)
		}
	}
	seq, err := n.submitSeq(&cmd)
	if err != nil {
		return 0, err
	}
	n.keepFirmBlock(f.Name, unblock) // journaled: the engines apply it in journal order
	// Journal every member's record first, then wait for them all.
	starts := make([]operatorStart, len(members))
	var errs []error
	for i, one := range members {
		if starts[i], err = n.startOperator(&cmds[i]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", one, err))
		}
	}
	repeats, pending := 0, error(nil)
	for i, one := range members {
		if starts[i] == (operatorStart{}) {
			continue // not journaled: in errs
		}
		s, err := n.blockAnswer(ctx, starts[i], &cmds[i], one, unblock)
		seq = max(seq, s)
		if re := (*RepeatError)(nil); errors.As(err, &re) {
			repeats, err = repeats+1, nil
		}
		if errors.Is(err, ErrOperatorPending) && pending == nil {
			pending = err
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	if pending != nil || len(errs) != 0 {
		done := len(members) - len(errs)
		if pending != nil {
			done--
		}
		first, rest := pending, errs
		if first == nil {
			first, rest = errs[0], errs[1:]
		}
		more := ""
		for _, e := range rest {
			more += "; " + e.Error()
		}
		return seq, fmt.Errorf("firm %s: %d of its %d members not done: %w%s", f.Name, len(members)-done, len(members), first, more)
	}
	if len(members) > 0 && repeats == len(members) {
		return seq, &RepeatError{Seq: seq, Ref: ref}
	}
	if len(members) == 0 && !n.risk.stage.AwaitSettled(seq-n.baseSeq) {
		return seq, fmt.Errorf("firm %s: journaled at sequence %d, not settled: the pipeline stopped (%v)", f.Name, seq, n.ring.Err())
	}
	what, level := "unblocked", slog.LevelInfo
	if !unblock {
		what, level = "BLOCKED (kill switch): it stays blocked, sessions and accounts added to it later included, until unblocked", slog.LevelWarn
	}
	n.log.Log(context.Background(), level, "firm "+what, "firm", f.Name, "members", len(members), "seq", seq)
	return seq, nil
}

// firmBlocksToJournal are the members of blocked firms (the engines'
// matcher.FirmBlock records) that the config lists and that do not hold
// their firm's block in the risk state, in config order. It reads the engines and the risk state:
// call it after checkAccounts, before the ring starts or while the
// pipeline is drained (a promotion).
func (n *Node) firmBlocksToJournal() []firmMember {
	if n.risk == nil {
		return nil
	}
	blocked := n.partitions[0].engine.BlockedFirms()
	n.blockedFirms.Lock()
	n.blockedFirms.names = slices.Clone(blocked)
	n.blockedFirms.Unlock()
	var todo []firmMember
	for _, f := range n.cfg.Firms {
		if _, ok := slices.BinarySearch(blocked, f.Name); !ok {
			continue
		}
		for _, one := range append(slices.Clone(f.Sessions), f.Accounts...) {
			a, err := n.accountOf(one)
			if err != nil {
				continue // bound by checkAccounts before this runs
			}
			if b, _ := n.risk.state.Balance(a); !b.FirmBlock {
				todo = append(todo, firmMember{account: a, name: one, firm: f.Name})
			}
		}
	}
	for _, name := range blocked {
		if n.cfg.Firm(name) == nil {
			n.log.Warn("the journal has firm blocked, and the config lists no such firm: it stays blocked, with no member to block", "firm", name)
		}
	}
	return todo
}

// journalFirmBlocks journals the firm's blocks todo (firmBlocksToJournal)
// through the ring, after the members' bindings and before FIX opens:
// no order of a blocked firm's new member is decided before its block.
func (n *Node) journalFirmBlocks(todo []firmMember) error {
	for _, m := range todo {
		if _, err := n.blockOne(context.Background(), m.account, matcher.ClOrdID{}, m.name, false, true); err != nil {
			return fmt.Errorf("block %s of blocked firm %s: %w", m.name, m.firm, err)
		}
	}
	if len(todo) > 0 {
		n.log.Warn("BLOCKED (kill switch): the members of blocked firms that did not hold the firm's block (added to the firm since it was blocked, or blocked by a build that did not keep a firm's block apart)", "accounts", len(todo), "first", todo[0].name, "firm", todo[0].firm)
	}
	return nil
}

// keepFirmBlock keeps firm's block (or unblock), journaled, in the
// node's blocked firms, as the engines apply it.
func (n *Node) keepFirmBlock(firm string, unblock bool) {
	n.blockedFirms.Lock()
	defer n.blockedFirms.Unlock()
	fs := n.blockedFirms.names
	i, found := slices.BinarySearch(fs, firm)
	switch {
	case unblock && found:
		n.blockedFirms.names = slices.Delete(fs, i, i+1)
	case !unblock && !found && len(fs) < matcher.MaxBlockedFirms:
		n.blockedFirms.names = slices.Insert(fs, i, firm)
	}
}

// followFirmBlock keeps firm block record c, streamed to a standby and
// applied by its engines, in the node's blocked firms, so a standby's
// `account show` names the firm of a member blocked after it started
// (a primary keeps its own as it journals them, blockFirm). Cold path:
// the firms' block records only; it takes the blocked firms' lock.
func (n *Node) followFirmBlock(c *matcher.Command) {
	if f, ok := matcher.FirmBlockOf(c); ok {
		n.keepFirmBlock(f.Firm, f.Unblock)
	}
}

// blockedFirmOf is the blocked firm that lists name (a session or a named
// account) as a member, or nil.
func (n *Node) blockedFirmOf(name string) *config.Firm {
	n.blockedFirms.Lock()
	defer n.blockedFirms.Unlock()
	for i := range n.cfg.Firms {
		f := &n.cfg.Firms[i]
		if !slices.Contains(f.Sessions, name) && !slices.Contains(f.Accounts, name) {
			continue
		}
		if _, ok := slices.BinarySearch(n.blockedFirms.names, f.Name); ok {
			return f
		}
	}
	return nil
}

// OwnBlockedMembers are the sessions and accounts the config lists in
// firm name, in config order, that hold their own block (a firm's unblock
// leaves it: `ringex account unblock FIRM` names them); ok is false when
// no firm has that name. Without risk, none.
func (n *Node) OwnBlockedMembers(name string) (members []string, ok bool) {
	f := n.cfg.Firm(name)
	if f == nil {
		return nil, false
	}
	for _, one := range append(slices.Clone(f.Sessions), f.Accounts...) {
		if b, _ := n.blockOf(one); b.OwnBlock {
			members = append(members, one)
		}
	}
	return members, true
}

// FirmBlockOf says whether account name (a session or a named account)
// holds its firm's block, and the blocked firm that lists it ("" when
// none does: it left the firm's config while the firm was blocked).
func (n *Node) FirmBlockOf(name string) (firm string, blocked bool) {
	b, ok := n.blockOf(name)
	if !ok || !b.FirmBlock {
		return "", false
	}
	if f := n.blockedFirmOf(name); f != nil {
		return f.Name, true
	}
	return "", true
}

// blockOf is account name's balance as the risk state has it, for its
// blocks; ok is false without risk or for a name no account has.
func (n *Node) blockOf(name string) (b risk.Balance, ok bool) {
	if n.risk == nil {
		return b, false
	}
	a, err := n.accountOf(name)
	if err != nil {
		return b, false
	}
	return n.risk.state.Balance(a)
}

// blocksShown says which blocks b, account name's, holds, as `ringex
// account show` prints them after "blocked true" (risk.Balance.BlocksHeld,
// with the name of the blocked firm it belongs to).
func (n *Node) blocksShown(name string, b risk.Balance) string {
	firm := ""
	if f := n.blockedFirmOf(name); f != nil {
		firm = f.Name
	}
	return b.BlocksHeld(firm)
}
