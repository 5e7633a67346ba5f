package node

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// Reports across a restart of the same node. A crash can leave journaled
// commands whose reports no session store holds: the publish stage had not
// reached them, the session's writer had not run, or the machine lost the
// stores' page cache (they are not fsynced per message). Each store keeps
// the mark up to which it holds its account's reports (fix: storemark.go;
// gateway: restart.go). On every start, before the ring runs, the reports
// of the commands before the start that come after an account's stored
// mark are rebuilt from the journal, as a promotion rebuilds them
// (regenerate), and wait for the session's next Logon, which they follow
// with PossResend=Y; the account's new reports wait behind them.

// rebuildUnstored plans and runs that rebuild on g, a gateway built and
// not yet started, and tells every store how far it is complete. It waits
// for the rebuild: the engines replay from the newest snapshot at or
// before the oldest stored mark to the end of the journal. The stored
// marks move forward at every checkpoint (storedThrough), so that replay
// is about one checkpoint interval long after a crash, and none after a
// clean stop. A store that holds nothing (mark 0: new, or emptied by a
// power loss) of an account the journal may hold reports of is rebuilt
// from the start of the journal (a store from before marks meets only a
// journal from before bindings: read as holding everything, as that code
// had it); where the journal no longer reaches
// back that far, from where it can, and the rest is written off loudly
// (writeOffUnreachable). A rebuild from a mark a store did hold that
// fails fails the start, naming the sessions and the commands: starting
// without those reports would leave their brokers without them for good
// (their stores' marks then move past them), while the journal that holds
// them can be restored and the start tried again.
func (n *Node) rebuildUnstored(g *gateway.Gateway) error {
	fresh := n.unboundSessions()
	if len(n.partitions[0].engine.Bindings()) == 0 {
		// A journal that binds no session (written by a node without
		// bindings): its stores, if any, hold no marks, and are taken as
		// holding every report before this start. A node binds every
		// session before FIX opens, so its own stores never meet such a
		// journal.
		for a := range fresh {
			fresh[a] = true
		}
	}
	g.DeliveredBeforeStart(fresh)
	stored := g.StoredMarks()
	last := n.baseSeq - 1
	rebuild := make([]bool, len(stored))
	from, any := last, false
	var names []string
	for a := 1; a < len(stored) && last > 0; a++ {
		// -1: no session, or a memory store; a fresh account has no
		// reports before this start.
		if stored[a] < 0 || stored[a] >= n.baseSeq*matcher.ExecIDStride || a < len(fresh) && fresh[a] {
			continue
		}
		rebuild[a], any = true, true
		from = min(from, gateway.WhollyDelivered(stored[a]))
		names = append(names, n.sessionName(uint32(a)))
	}
	if !any {
		g.StoredThrough(last)
		return nil
	}
	g.RebuildOnStart(stored, rebuild)
	from = n.writeOffUnreachable(g, stored, rebuild, from)
	start := time.Now()
	evs, replayed, snap, err := n.regenerate(from, last, g.WithCopied(rebuild))
	if err != nil {
		return fmt.Errorf("ringex: the FIX session stores of %s lack the reports of commands after %d "+
			"(not yet sent to their brokers, or lost from the store by a crash or a power loss), "+
			"and rebuilding them from the journal failed: %w; the node does not start without them "+
			"(restore the journal segments or snapshot that hold those commands, then start again)",
			strings.Join(names, ", "), from, err)
	}
	reports, sessions := g.Regenerated(evs, stored, last, nil)
	if reports > 0 {
		n.log.Warn("reports that the session stores lack (not yet sent, or lost by a crash) rebuilt from the journal: each is resent with PossResend=Y after the session's next Logon",
			"reports", reports, "sessions", sessions, "took", time.Since(start).Round(time.Millisecond), "replayed", replayed, "replayed_from", startName(snap))
	}
	g.ReleaseIdle()
	g.StoredThrough(last)
	return nil
}

// writeOffUnreachable returns the seq after which the start's rebuild
// (rebuildUnstored) begins: from, unless a store that holds nothing
// (stored 0) asks for commands the journal no longer holds (it begins
// after a snapshot, journal.ReplayableFrom). Then those stores' reports
// before that snapshot are written off, loudly, naming each session and
// the commands, and recorded in their marks (gateway.WriteOff); the rest
// is rebuilt. A store that holds a mark is never written off here: its
// rebuild fails the start instead.
func (n *Node) writeOffUnreachable(g *gateway.Gateway, stored []int64, rebuild []bool, from int64) int64 {
	can, ok, err := journal.ReplayableFrom(n.journalDir())
	if err != nil || !ok || can <= from {
		return from // regenerate fails, and says why, if it cannot
	}
	var lost []string
	next := can
	for a, want := range rebuild {
		switch {
		case !want:
		case stored[a] == 0:
			lost = append(lost, n.sessionName(uint32(a)))
			g.WriteOff(a, gateway.MarkBefore(can+1))
		default:
			next = min(next, gateway.WhollyDelivered(stored[a]))
		}
	}
	if len(lost) > 0 {
		n.log.Error("REPORTS LOST: the FIX session stores of these sessions hold nothing (new, or emptied by a power loss), and the journal "+
			"begins after the commands up to last_seq: their reports are not rebuilt; the brokers get the reports after last_seq, and "+
			"OrderStatusRequest answers each order's state (docs/operations.md, \"Reports that cannot be rebuilt\")",
			"sessions", strings.Join(lost, ", "), "first_seq", 1, "last_seq", can, "journal", n.journalDir())
	}
	return next
}

// unboundSessions marks, by account, the configured sessions whose CompID
// the journal has not bound before this start or promotion (accounts.go):
// the journal holds none of their reports. A journal that binds nothing
// (written before bindings existed) marks none: its sessions may have
// reports. Call it before bindAccounts journals the new bindings.
func (n *Node) unboundSessions() []bool {
	ids := n.sessionIDs()
	fresh := make([]bool, maxSessionID(ids)+1)
	bound := n.partitions[0].engine.Bindings()
	if len(bound) == 0 || n.boundIDs() == nil {
		return fresh
	}
	byID := make(map[uint32]bool, len(bound))
	for _, b := range bound {
		byID[b.Account] = true
	}
	for _, id := range ids {
		fresh[id] = !byID[id]
	}
	return fresh
}

// storedThrough tells the gateway's session stores that the publish stage
// has handed them every report of the commands up to seq (see
// gateway.Gateway.StoredThrough). Publish stage, at each checkpoint.
func (n *Node) storedThrough(seq int64) {
	var p Publisher = n.publisher
	if n.repl != nil {
		to := n.switcher.to.Load()
		if to == nil {
			return // a standby: no sessions
		}
		p = *to
	}
	if g, ok := p.(*gateway.Gateway); ok {
		g.StoredThrough(seq)
	}
}

// storesReach is the last command the FIX session stores show reports of
// (gateway.StoresReach), and the file that shows it: the journal must
// reach it (journal.Options.Reported), since those commands were durable
// and a broker may have seen their ids. 0 on a standby, whose journal is
// its primary's and gets lost records again from it, and on a node
// without FIX.
func (n *Node) storesReach() (int64, string, error) {
	if n.publisher != nil || n.following.Load() {
		return 0, "", nil
	}
	seq, file, err := gateway.StoresReach(filepath.Join(n.cfg.DataDir, "fix"))
	if err != nil {
		return 0, "", fmt.Errorf("read the FIX session stores' marks: %w", err)
	}
	return seq, file, nil
}
