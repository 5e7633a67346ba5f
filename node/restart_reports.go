package node

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ringex/ringex/gateway"
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
// clean stop. A rebuild that fails fails the start, naming the sessions
// and the commands: starting without those reports would leave their
// brokers without them for good (their stores' marks then move past
// them), while the journal that holds them can be restored and the start
// tried again.
func (n *Node) rebuildUnstored(g *gateway.Gateway) error {
	g.DeliveredBeforeStart()
	stored := g.StoredMarks()
	last := n.baseSeq - 1
	rebuild := make([]bool, len(stored))
	from, any := last, false
	var names []string
	for a := 1; a < len(stored); a++ {
		// -1: a new store, or one that predates marks: taken as holding
		// everything before this start, as before marks.
		if stored[a] < 0 || stored[a] >= n.baseSeq*matcher.ExecIDStride {
			continue
		}
		rebuild[a], any = true, true
		from = min(from, gateway.WhollyDelivered(stored[a]))
		names = append(names, n.sessionName(uint32(a)))
	}
	if any {
		g.RebuildOnStart(stored, rebuild)
		start := time.Now()
		evs, replayed, snap, err := n.regenerate(from, last, g.WithCopied(rebuild))
		if err != nil {
			return fmt.Errorf("ringex: the FIX session stores of %s lack the reports of commands after %d (a crash), "+
				"and rebuilding them from the journal failed: %w; the node does not start without them "+
				"(restore the journal segments or snapshot that hold those commands, then start again)",
				strings.Join(names, ", "), from, err)
		}
		reports, sessions := g.Regenerated(evs, stored, last, nil)
		if reports > 0 {
			n.log.Warn("reports that the session stores lacked (a crash) rebuilt from the journal: each is resent with PossResend=Y after the session's next Logon",
				"reports", reports, "sessions", sessions, "took", time.Since(start).Round(time.Millisecond), "replayed", replayed, "replayed_from", startName(snap))
		}
		g.ReleaseIdle()
	}
	g.StoredThrough(last)
	return nil
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
