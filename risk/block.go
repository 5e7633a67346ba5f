package risk

import (
	"github.com/ringex/ringex/matcher"
)

// An account's blocks (the kill switch, matcher.AccountBlock): its own,
// which the operator sets and lifts by the account's name, and its
// firm's, which the node journals for each member of a firm the operator
// blocks or unblocks. They are independent: a record sets or lifts only
// the one it names, and Check refuses the account's orders and replaces
// while either holds. A block record written before AccountBlock.Firm
// existed is the account's own, as every block then was, so an old
// journal replays to the states (and hashes) it always gave.
const (
	blockOwn  uint8 = 1 << iota // the operator blocked the account by name
	blockFirm                   // the operator blocked the account's firm
)

// blockOf is which block record b sets or lifts.
func blockOf(b matcher.AccountBlock) uint8 {
	if b.Firm {
		return blockFirm
	}
	return blockOwn
}

// withBlock is an account's blocks after record b.
func withBlock(blocks uint8, b matcher.AccountBlock) uint8 {
	if b.Unblock {
		return blocks &^ blockOf(b)
	}
	return blocks | blockOf(b)
}

// settleBlock applies block record c, which Check accepted, to the
// settle half's blocks. Cold path: the operator's.
func (s *State) settleBlock(c *matcher.Command) {
	b, ok := matcher.BlockOf(c)
	if !ok {
		return // Check refused it: not reached
	}
	f := &s.blockedSettled[b.Account]
	f.Store(uint32(withBlock(uint8(f.Load()), b)))
}

// firmBlocked reports whether the settle half holds a firm's block of
// any account (the snapshot's version says it: version 4, else 3).
func (s *State) firmBlocked() bool {
	for a := range s.blockedSettled {
		if uint8(s.blockedSettled[a].Load())&blockFirm != 0 {
			return true
		}
	}
	return false
}
