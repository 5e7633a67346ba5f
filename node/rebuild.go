package node

// Rebuilding from the journal the reports a promotion resends but its
// buffer no longer holds.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// rebuildReports regenerates, beside the serving pipeline, the reports of
// plan's rebuild accounts from the journal and hands them to the gateway
// (gateway.Regenerated). The promotion does not wait for it: how long it
// takes grows with how far back the oldest such account's mark is.
func (n *Node) rebuildReports(g *gateway.Gateway, plan resendPlan, last int64) {
	defer close(n.repl.rebuildDone)
	start := time.Now()
	from := n.rebuildStart(g, plan)
	evs, replayed, snap, err := n.regenerate(from, last, g.WithCopied(plan.rebuild))
	reports, sessions := g.Regenerated(evs, plan.delivered, plan.published, err)
	if err != nil {
		n.log.Error("PROMOTION: REPORTS LOST: reports could not be rebuilt from the journal; those brokers get their new reports without them (OrderStatusRequest answers each order's state; docs/operations.md, \"Reports that cannot be rebuilt\")",
			"sessions", n.rebuildSessions(plan, last), "first_seq", from+1, "last_seq", last, "err", err)
		if !n.stopping.Load() {
			// Written off: a later start must not try again (gateway.WriteOff).
			for a, want := range plan.rebuild {
				if want {
					g.WriteOff(a, gateway.MarkBefore(last+1))
				}
			}
		}
		return
	}
	n.log.Info("PROMOTION: reports rebuilt from the journal", "reports", reports, "sessions", sessions,
		"took", time.Since(start).Round(time.Millisecond), "replayed", replayed, "replayed_from", startName(snap))
}

// rebuildStart is the seq after which the rebuild of plan begins:
// plan.rebuildFrom, unless this node's journal can rebuild events only
// after a later seq (journal.ReplayableFrom: it begins after seq 1, and its
// oldest snapshot is later). The primary sends a standby it catches up by
// snapshot one at or before every broker's mark (rebuildFloor), so that
// happens only where the records were removed from every node that held
// them: it then says loudly which sessions lose which reports, records
// that write-off in their marks (gateway.WriteOff: a later start does not
// try it again), and rebuilds the rest.
func (n *Node) rebuildStart(g *gateway.Gateway, plan resendPlan) int64 {
	can, ok, err := journal.ReplayableFrom(n.journalDir())
	if err != nil || !ok || can <= plan.rebuildFrom {
		return plan.rebuildFrom // regenerate fails, and says why, if it cannot
	}
	var lost []string
	for a, want := range plan.rebuild {
		if from := markedFrom(plan.delivered, plan.published, a); want && from < can {
			lost = append(lost, fmt.Sprintf("%s (after seq %d)", n.sessionName(uint32(a)), from))
			g.WriteOff(a, gateway.MarkBefore(can+1))
		}
	}
	n.log.Error("PROMOTION: REPORTS LOST: reports these sessions may lack, of the commands up to last_seq, cannot be rebuilt: this node's journal "+
		"begins after them, and no snapshot before them is kept; the brokers get the reports after last_seq, and OrderStatusRequest answers "+
		"each order's state (docs/operations.md, \"Reports that cannot be rebuilt\")",
		"sessions", strings.Join(lost, ", "), "first_seq", plan.rebuildFrom+1, "last_seq", can, "journal", n.journalDir())
	return can
}

// rebuildSessions names the sessions of plan's rebuild, for the log.
func (n *Node) rebuildSessions(plan resendPlan, last int64) string {
	var names []string
	for a, want := range plan.rebuild {
		if want {
			names = append(names, fmt.Sprintf("%s (seq %d to %d)", n.sessionName(uint32(a)), markedFrom(plan.delivered, plan.published, a)+1, last))
		}
	}
	return strings.Join(names, ", ")
}

func startName(snap int64) string {
	if snap == 0 {
		return "the first record"
	}
	return fmt.Sprintf("the snapshot at seq %d", snap)
}

// regenerate rebuilds from the journal the events of the commands after
// seq from, up to last, that go to the accounts want marks: fresh engines
// start from the newest snapshot at or before from (or from the first
// record) and apply the journal as the match stage did, so that the events
// are the ones the old primary published, with the same ExecIDs (the
// matcher is a pure function of the journaled input). It returns them in
// publish order, with the commands replayed and the snapshot's seq (0:
// none).
func (n *Node) regenerate(from, last int64, want []bool) (evs []matcher.Event, replayed int, snap int64, err error) {
	engines, err := matcher.NewPartitions(EngineConfig(n.cfg), len(n.partitions))
	if err != nil {
		return nil, 0, 0, err
	}
	rs, err := newRisk(n.cfg) // the risk stage decided which orders the engines saw
	if err != nil {
		return nil, 0, 0, err
	}
	if snap, err = n.restoreInto(engines, rs, from); err != nil {
		return nil, 0, 0, err
	}
	first, err := journal.FirstSeq(n.journalDir())
	if err != nil {
		return nil, 0, snap, err
	}
	if first > snap+1 {
		return nil, 0, snap, fmt.Errorf("journal %s begins at sequence %d, and no usable snapshot is at or before sequence %d", n.journalDir(), first, from)
	}
	replayed, _, err = applyJournalRisk(n.journalDir(), engines, rs, snap+1, last, func(cmdEvs []matcher.Event) error {
		if n.stopping.Load() {
			return errors.New("the node is stopping")
		}
		for i := range cmdEvs {
			// A mass cancel's counts are kept from before from too: its
			// report, if resent, adds them all (gateway.ResendOnLogon).
			if ev := &cmdEvs[i]; (ev.Seq > from || ev.Type == matcher.EvMassCancelReport) && int(ev.Account) < len(want) && want[ev.Account] {
				evs = append(evs, *ev)
			}
		}
		return nil
	})
	if err == nil && snap+int64(replayed) < last {
		err = fmt.Errorf("journal %s ends at sequence %d, before %d", n.journalDir(), snap+int64(replayed), last)
	}
	return evs, replayed, snap, err
}
