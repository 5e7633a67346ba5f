package node

import (
	"fmt"

	"github.com/ringex/ringex/matcher"
)

// Cancel-on-disconnect across a restart. A crash (or a clean stop) drops
// every session, but the Day orders of a session configured to cancel on
// disconnect are still in the journal, and after the restart they would
// trade while their broker is away. So a node that starts as primary
// cancels them before FIX opens: one matcher.CancelOnDisconnect command
// per session and symbol with such orders, sequenced, journaled and
// matched like any other, ahead of anything a broker can send. Their
// reports wait for the session's next Logon (gateway.HoldUntilLogon), so
// that a broker logging on with ResetSeqNumFlag=Y gets them too.

// dayOrdersOfDroppedSessions lists, from the engines, the commands that
// cancel the resting Day orders of every cancel-on-disconnect session, and
// holds those sessions' reports until their next Logon. Before the ring
// starts: the engines are still the node's to read.
func (n *Node) dayOrdersOfDroppedSessions() []matcher.Command {
	var cmds []matcher.Command
	ids := n.sessionIDs()
	hold := make([]bool, maxSessionID(ids)+1)
	var symbols []uint32
	for i, s := range n.cfg.FIX.Sessions {
		if !s.CancelsOnDisconnect() {
			continue
		}
		account := ids[i]
		symbols = symbols[:0]
		for _, p := range n.partitions {
			symbols = p.engine.DayOrderSymbols(account, symbols)
		}
		for _, sym := range symbols {
			cmds = append(cmds, matcher.CancelOnDisconnect(account, sym))
		}
		hold[account] = len(symbols) > 0
	}
	if len(cmds) > 0 {
		n.gateway.HoldUntilLogon(hold)
	}
	return cmds
}

// cancelDayOrdersOfDroppedSessions submits cmds (dayOrdersOfDroppedSessions)
// once the ring runs, before FIX opens.
func (n *Node) cancelDayOrdersOfDroppedSessions(cmds []matcher.Command) error {
	for i := range cmds {
		if err := n.submit(&cmds[i]); err != nil {
			return fmt.Errorf("cancel the Day orders of cancel-on-disconnect sessions at start: %w", err)
		}
	}
	if len(cmds) > 0 {
		n.log.Info("cancel on disconnect at start: the Day orders of cancel-on-disconnect sessions cancelled (every session dropped with the last run); "+
			"each broker gets its cancels after its next Logon", "session_symbol_commands", len(cmds))
	}
	return nil
}
