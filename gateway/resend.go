package gateway

// Reports held and resent after a failover: a promoted node hands over
// the reports its brokers may lack (ResendOnLogon, Regenerated); each
// account's new reports wait behind them (hold) until its session logs on,
// then a paced flush sends them all in order (resendPending, flush).

import (
	"time"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// ResendOnLogon takes reports a broker may not have received: after a
// failover, the events a standby kept of the commands after seq from
// (node.Promote), whole commands in publish order. An event whose mark
// (delivery.go) is above its account's entry in delivered, the marks the
// old primary last said its brokers had acknowledged, goes to the
// account's session right after that session's next Logon, as the same
// report (same ExecID) with PossResend(97)=Y, so that a broker that did
// get it can tell it is a duplicate; an account delivered lacks goes by
// published instead (the last seq the old primary handed to its
// sessions). Mass-cancel reports are rebuilt from their events as the
// publish stage built them; evs should reach back to the first command of
// a mass cancel whose report is resent (node.Promote passes every event it
// kept). evs is copied.
//
// An account for which rebuilding is true lost events from the kept ones:
// its events in evs are passed over, and its reports go out only once
// Regenerated brings them, rebuilt from the journal.
//
// From here until its session's next Logon, an account's new reports wait
// with these (hold): a broker failing over logs on with
// ResetSeqNumFlag=Y, which would drop a report queued for resend in its
// session store before it came back. It returns how many reports are
// pending for how many sessions. Call it before Start. Cold path.
func (g *Gateway) ResendOnLogon(evs []matcher.Event, delivered []int64, published int64, rebuilding []bool) (reports, sessions int) {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts); a++ {
		acct := &g.accounts[a]
		acct.held.Store(true)
		if a < len(rebuilding) && rebuilding[a] {
			acct.rebuilding = true
			// Nothing after where the old primary stood is delivered
			// until the rebuilt reports go out.
			g.lowerFloor(a, resendAfter(a, delivered, published))
		}
	}
	for a, run := range g.toResend(evs, delivered, published) {
		if len(run) == 0 || g.accounts[a].rebuilding {
			continue
		}
		sessions++
		reports += g.queueFirst(a, run)
	}
	return reports, sessions
}

// Regenerated takes the reports of the accounts ResendOnLogon was told are
// rebuilding, rebuilt from the journal (node: regenerate): evs, delivered
// and published as ResendOnLogon takes them. Each such account's reports
// go before the new ones held since, at once when its session is logged
// on, else after its next Logon. With err (they could not be rebuilt),
// the new ones go without them. Any goroutine; cold path.
func (g *Gateway) Regenerated(evs []matcher.Event, delivered []int64, published int64, err error) (reports, sessions int) {
	var runs [][]pendingReport
	if err == nil {
		runs = g.toResend(evs, delivered, published)
	}
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts); a++ {
		acct := &g.accounts[a]
		if !acct.rebuilding {
			continue
		}
		acct.rebuilding = false
		if a < len(runs) && len(runs[a]) > 0 {
			sessions++
			reports += g.queueFirst(a, runs[a])
		}
		if s := g.sessionOf(uint32(a)); s != nil && s.LoggedOn() {
			g.flushLocked(s, uint32(a))
		}
	}
	return reports, sessions
}

// resendAfter is the mark after which account a's reports are resent:
// its delivered mark; 0 (every report) where delivered has none for it
// (0, or beyond its end: unknown, an account the old primary had no
// session for); by published when delivered is nil (no mark heard).
func resendAfter(a int, delivered []int64, published int64) int64 {
	switch {
	case delivered == nil:
		return markBefore(published + 1)
	case a < len(delivered):
		return delivered[a]
	}
	return 0
}

// toResend selects, by account, the reports of evs to resend (see
// ResendOnLogon), each with its mark.
func (g *Gateway) toResend(evs []matcher.Event, delivered []int64, published int64) [][]pendingReport {
	runs := make([][]pendingReport, len(g.accounts))
	count := make([]markCounter, len(g.accounts))
	held := make([][]pendingReport, len(g.accounts)) // a mass cancel's counts so far, by account
	add := func(a uint32, ev *matcher.Event) {
		p := pendingReport{ev: *ev, mark: count[a].next(ev)}
		if ev.Type == matcher.EvMassCancelReport && !g.reportsMassCancel(ev) {
			// Sends nothing; its count goes with the report that ends
			// the mass cancel, resent or not with it.
			held[a] = append(held[a], p)
			return
		}
		run := held[a]
		held[a] = nil
		if p.mark <= resendAfter(int(a), delivered, published) {
			return
		}
		runs[a] = append(runs[a], append(run, p)...)
	}
	for i := range evs {
		ev := &evs[i]
		a := ev.Account
		if g.sessionOf(a) == nil {
			continue // no one's to tell (sessionOf), as in Publish
		}
		add(a, ev)
		for _, c := range g.accounts[a].copies {
			add(c, ev) // in Publish's order (dropcopy.go)
		}
	}
	return runs
}

// queueFirst puts run before the reports pending for account a and
// returns how many reports it holds. Under pendMu.
func (g *Gateway) queueFirst(a int, run []pendingReport) (reports int) {
	// Until these are delivered again, a standby of this node must not
	// take them for delivered.
	g.lowerFloor(a, run[0].mark-1)
	acct := &g.accounts[a]
	acct.pending = append(run, acct.pending...)
	s := g.sessionOf(uint32(a))
	for i := range run {
		ev := &run[i].ev
		refusedMassCancel := ev.Kind == matcher.KindReject && byte(ev.OrdType) == 'q' // an OrderMassCancelReport too (reportOf)
		switch {
		case ev.Type == matcher.EvMassCancelReport:
			if g.reportsMassCancel(ev) && (s == nil || hasMassCancelReport(s)) {
				reports++
			}
		case !refusedMassCancel || s == nil || hasMassCancelReport(s):
			reports++
		}
	}
	return reports
}

// lowerFloor lowers account a's floor (SetDeliveredBefore) to mark, and
// never below 1: a standby reads 0 as no mark known (Delivered), while 1
// says that no report is delivered. Under pendMu; Delivered reads the
// floor on any goroutine.
func (g *Gateway) lowerFloor(a int, mark int64) {
	floor := &g.accounts[a].floor
	floor.Store(max(min(floor.Load(), mark), 1))
}

// hold keeps a report to account a, held (ResendOnLogon), in its pending
// reports instead of sending it, and reports whether it did: false once
// the account's session has had them. Publish stage; cold path.
func (g *Gateway) hold(a uint32, ev *matcher.Event, mark int64) bool {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	acct := &g.accounts[a]
	if !acct.held.Load() {
		return false
	}
	p := pendingReport{ev: *ev, mark: mark, live: true}
	if ev.Type == matcher.EvMassCancelReport {
		// The counts add up here as Publish adds them, so that a mass
		// cancel half held, half sent, still reports its whole total.
		acct.affected += ev.CumQty
		if !g.reportsMassCancel(ev) {
			return true
		}
		p.ev.CumQty, acct.affected = acct.affected, 0
	}
	acct.pending = append(acct.pending, p)
	return true
}

// resendPending starts sending what is pending for s (ResendOnLogon,
// hold) just after its Logon was answered, unless its older reports are
// still being rebuilt (Regenerated then starts it).
func (g *Gateway) resendPending(s *fix.Session) {
	account := g.accountIDs[s]
	if account == 0 {
		return
	}
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	if g.accounts[account].rebuilding {
		g.log.Info("reports from before the failover are being rebuilt from the journal; this session's reports wait for them", "session", s.ID())
		return
	}
	g.flushLocked(s, account)
}

// flushChunk and flushBacklog pace a flush: it queues flushChunk reports
// at a time, then waits for the session's socket queue to fall below
// flushBacklog bytes, so that a broker owed many reports is not taken for
// a slow consumer (fix.Config.OutQueueMaxBytes, 8 MiB by default; a report
// is a few hundred bytes).
const (
	flushChunk   = 2048
	flushBacklog = 1 << 20
)

// flushLocked makes sure a flush goroutine sends account's pending reports
// on s, or, with none pending, stops holding its reports. Under pendMu.
func (g *Gateway) flushLocked(s *fix.Session, account uint32) {
	acct := &g.accounts[account]
	switch {
	case acct.flushing:
		// The running flush sends whatever is pending when it looks again.
	case len(acct.pending) == 0:
		acct.held.Store(false)
	default:
		acct.flushing = true
		go g.flush(s, account)
	}
}

// flush sends account's pending reports on s, in order, a chunk at a time:
// resent ones with PossResend=Y, held new ones as they are. Each chunk goes
// under pendMu, so Publish (hold) waits and appends behind it; the account
// stops being held only when nothing is left, so that no new report passes
// an older one (on the wire, and in the delivery mark a later standby
// hears). A session that logs out keeps the rest for its next Logon.
func (g *Gateway) flush(s *fix.Session, account uint32) {
	acct := &g.accounts[account]
	var body fix.Fields
	var affected int64
	resent, sent := 0, 0
	firstSeq, lastSeq := int64(0), int64(0)
	for {
		g.pendMu.Lock()
		pend := acct.pending
		if len(pend) == 0 || !s.LoggedOn() {
			if len(pend) == 0 {
				acct.held.Store(false)
			}
			acct.flushing = false
			g.pendMu.Unlock()
			break
		}
		chunk := pend[:min(len(pend), flushChunk)]
		acct.pending = pend[len(chunk):]
		if firstSeq == 0 {
			firstSeq = chunk[0].ev.Seq
		}
		lastSeq = chunk[len(chunk)-1].ev.Seq
		for i := range chunk {
			p := &chunk[i]
			ev := &p.ev
			msgType, ok := g.reportOf(&body, s, ev, &affected)
			if !ok {
				continue
			}
			if err := s.SendMarked(msgType, reportHeader(acct.copyMark, msgType, p.live), &body, p.mark); err != nil {
				// Only a stopped session refuses: the gateway is stopping.
				g.log.Warn("reports not sent", "session", s.ID(), "reports", len(chunk)-i, "err", err)
				acct.flushing = false
				g.pendMu.Unlock()
				return
			}
			if p.live {
				sent++
			} else {
				resent++
			}
		}
		g.pendMu.Unlock()
		for s.Queued() > flushBacklog && s.LoggedOn() {
			time.Sleep(time.Millisecond)
		}
	}
	if resent+sent > 0 {
		g.log.Info("resent reports from before the failover or restart (PossResend=Y) and sent those held since", "session", s.ID(),
			"resent", resent, "sent", sent, "first_seq", firstSeq, "last_seq", lastSeq)
	}
}

const tagPossResend = 97 // header: a report that may have been sent before (ResendOnLogon)
