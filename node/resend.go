package node

// Resending after a failover: what a standby keeps of the reports it
// applied, and what a promotion resends of them.

import (
	"math/bits"
	"slices"
	"sync/atomic"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

// switchPublisher lets a standby keep the most recent events (recent) until
// it is promoted, then hand them to the gateway. Hot path: one atomic load
// and, while following, one copy per event.
type switchPublisher struct {
	to     atomic.Pointer[Publisher]
	recent *recentEvents // nil on a node that started as primary
}

func (p *switchPublisher) Publish(ev *matcher.Event) {
	if to := p.to.Load(); to != nil {
		(*to).Publish(ev)
	} else if p.recent != nil {
		p.recent.add(ev)
	}
}

// recentEvents is a standby's bounded memory of the events it applied last,
// kept so that a promotion can resend the reports its old primary may not
// have got out (Promote). Only the publish stage writes it; Promote reads it
// once the pipeline is drained and before the publisher switches.
type recentEvents struct {
	evs     []matcher.Event // by count & mask, allocated once
	mask    int64           // len(evs)-1: a power of two long
	count   int64           // events added
	lostSeq int64           // seq of the newest event overwritten; 0: none
	lost    []int64         // the same by account (accounts beyond it: lostSeq)
}

func newRecentEvents(capacity, accounts int) *recentEvents {
	if capacity <= 0 {
		panic("recentEvents: capacity must be positive")
	}
	size := 1 << bits.Len(uint(capacity-1)) // the capacity, rounded up to a power of two
	return &recentEvents{evs: make([]matcher.Event, size), mask: int64(size - 1), lost: make([]int64, accounts)}
}

// add copies ev in, overwriting the oldest. Hot path: no allocation.
func (r *recentEvents) add(ev *matcher.Event) {
	i := r.count & r.mask
	if r.count >= int64(len(r.evs)) {
		old := &r.evs[i]
		r.lostSeq = old.Seq
		if int(old.Account) < len(r.lost) {
			r.lost[old.Account] = old.Seq
		}
	}
	r.evs[i] = *ev
	r.count++
}

// after returns a copy, in order, of the events kept of commands with seq >
// from, and whether the buffer still held all of them (false when events
// of such commands were overwritten). A from below 0 (no published seq
// heard yet) asks for every event. Cold path.
func (r *recentEvents) after(from int64) (evs []matcher.Event, whole bool) {
	for c := max(0, r.count-int64(len(r.evs))); c < r.count; c++ {
		if ev := &r.evs[c&r.mask]; ev.Seq > from {
			evs = append(evs, *ev)
		}
	}
	return evs, r.lostSeq <= max(from, 0) // lostSeq 0: none overwritten
}

// lostAfter reports whether an event of account of a command after seq
// from was overwritten. A seq is at least 1, and 0 says none was: a from
// below 0 (no published seq heard) asks the same as 0.
func (r *recentEvents) lostAfter(account uint32, from int64) bool {
	from = max(from, 0)
	if int(account) < len(r.lost) {
		return r.lost[account] > from
	}
	return r.lostSeq > from
}

// recentEventsFor is the bound of a standby's recentEvents: twice the
// ring's capacity, in events, and at least 64 Ki. The primary's publish
// stage trails what it shipped by at most the ring's capacity in commands;
// the rest covers the heartbeat that carries the published seq lagging, and
// commands with more than one event.
var recentEventsFor = func(ringCapacity uint32) int {
	return max(2*int(ringCapacity), 1<<16)
}

// resendPlan is what a promoted standby resends of the reports its old
// primary may not have got to its brokers (unpublished).
type resendPlan struct {
	kept      []matcher.Event // every event the buffer kept, oldest first
	delivered []int64         // the delivery marks of the primary's last heartbeat, by account; nil when none came
	published int64           // the last seq the primary said it published
	// rebuild marks, by account, those whose reports after their mark the
	// buffer no longer holds: they are rebuilt from the journal
	// (rebuildReports), from the commands after rebuildFrom, the lowest
	// such mark's seq.
	rebuild     []bool
	rebuildFrom int64
}

// unpublished plans, on a drained standby about to serve, the resending of
// the reports its old primary may not have got to its brokers: the events
// the buffer kept, and the accounts whose reports after their mark it no
// longer holds.
func (n *Node) unpublished() resendPlan {
	recent := n.switcher.recent
	if recent == nil {
		return resendPlan{}
	}
	ids := n.sessionIDs()
	plan := resendPlan{published: n.repl.receiver.PrimaryPublished(), delivered: n.repl.receiver.PrimaryDelivered(),
		rebuild: make([]bool, maxSessionID(ids)+1)}
	plan.kept, _ = recent.after(0)
	// The buffer began when this standby started: the events of the
	// commands it replayed from its own journal before it (baseSeq) are
	// not in it.
	before := n.baseSeq - 1
	fresh := n.unboundSessions()
	for i, id := range ids {
		a := int(id)
		if fresh[a] {
			continue // bound by this promotion: no report of it before
		}
		from := markedFrom(plan.delivered, plan.published, a)
		lost := recent.lostAfter(uint32(a), from) || from < before
		if len(n.cfg.FIX.Sessions[i].DropCopyOf) > 0 {
			// A drop copy's events are other accounts': any lost one may be its.
			lost = recent.lostSeq > max(from, 0) || from < before
		}
		if !lost {
			continue
		}
		if !plan.rebuilding() || from < plan.rebuildFrom {
			plan.rebuildFrom = from
		}
		plan.rebuild[a] = true
		n.log.Info("PROMOTION: reports for a session are no longer in the buffer of recent events: "+
			"they are rebuilt from the journal, and its reports wait for them", "target_comp_id", n.sessionName(id), "seq", from, "buffered_events", len(recent.evs))
	}
	return plan
}

// markedFrom is the last command every report of which to account a the
// broker has, by the delivery marks (by account) and the published seq of
// a primary: the reports of the commands after it may be missing. A mark
// of 0, or none for a, is unknown (gateway.Gateway.Delivered: no primary
// had a session for it since this node heard one): every command's
// reports may be missing, 0. With no marks at all (none heard) it is the
// published seq (0 when none was heard either: -1).
func markedFrom(delivered []int64, published int64, a int) int64 {
	switch {
	case delivered == nil:
		return max(published, 0)
	case a < len(delivered) && delivered[a] > 0:
		return gateway.WhollyDelivered(delivered[a])
	}
	return 0
}

// rebuildFloor is, on a primary, the lowest seq after which a broker may
// lack reports: a standby caught up by snapshot is sent one at or before
// it (replica.SenderOptions.RebuildFrom), so that, promoted, it can
// rebuild them from its own journal. Cold path: once per such catch-up.
func (n *Node) rebuildFloor() int64 {
	published := n.repl.published.Load()
	marks := n.switcher.Delivered(nil)
	floor := published
	for _, id := range n.sessionIDs() {
		floor = min(floor, markedFrom(marks, published, int(id)))
	}
	return max(floor, 0)
}

func (p *resendPlan) rebuilding() bool { return slices.Contains(p.rebuild, true) }

// deliveryReporter is a publisher that knows how far each account's
// reports reached its broker: the gateway (gateway.Gateway.Delivered).
type deliveryReporter interface {
	Delivered(dst []int64) []int64
}

// Delivered is the Sender's Delivered: the delivery marks of the publisher
// the node serves with, none while it follows or has no gateway. The
// heartbeat goroutine calls it; to is atomic.
func (p *switchPublisher) Delivered(dst []int64) []int64 {
	if to := p.to.Load(); to != nil {
		if d, ok := (*to).(deliveryReporter); ok {
			return d.Delivered(dst)
		}
	}
	return dst
}
