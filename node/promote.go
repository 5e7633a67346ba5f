package node

// Promotion: a standby that takes over as primary in place.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ringex/ringex/matcher"
)

// watchPrimary promotes a standby whose primary has been silent for
// failoverMs, when that is allowed (config checks it: sync mode, wait on a
// lost standby) and it has once been in sync with it.
func (n *Node) watchPrimary() {
	r, rc := n.repl, n.cfg.Replication
	defer close(r.watchDone)
	if rc.FailoverMs <= 0 {
		<-r.stopWatch
		return
	}
	tick := time.NewTicker(time.Duration(max(rc.HeartbeatMs/4, 5)) * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.stopWatch:
			return
		case <-r.failed:
			return
		case <-tick.C:
		}
		silent := r.receiver.SilentFor()
		if !r.receiver.EverInSync() || silent < time.Duration(rc.FailoverMs)*time.Millisecond {
			continue
		}
		n.log.Warn("FAILOVER: no frame from the primary for failoverMs: promoting", "primary", rc.Primary, "waited", silent.Round(time.Millisecond), "failover_ms", rc.FailoverMs)
		go n.Promote() // Promote stops this watcher; if it fails, it stops the node (Done)
		return
	}
}

// Promote turns a standby into the primary: it stops following, lets the
// pipeline finish what was received, checks the configured sessions against
// the journal's account bindings, begins a new epoch, opens its
// replication port and then the FIX acceptor. It returns the new epoch. A
// promotion that fails once the standby has stopped following (or on a
// standby that already failed) leaves a node that is neither standby nor
// primary: it stops on its own (Done, FailErr), so that Run ends with the
// error.
func (n *Node) Promote() (uint64, error) {
	r := n.repl
	if r == nil {
		return 0, errors.New("replication is off")
	}
	r.promoteMu.Lock()
	defer r.promoteMu.Unlock()
	if !n.following.Load() {
		return r.history.Current(), errors.New("this node is already the primary")
	}
	if n.ring.Err() != nil {
		return n.promotionFailed(fmt.Errorf("this standby has stopped: %w", n.ring.Err()))
	}
	start := time.Now()
	select {
	case <-r.stopWatch:
	default:
		close(r.stopWatch)
	}
	r.receiver.Stop()
	<-r.recvDone
	last := r.followed.Load()
	for r.published.Load() < last {
		if err := n.ring.Err(); err != nil {
			return n.promotionFailed(fmt.Errorf("promotion: the pipeline failed: %w", err))
		}
		time.Sleep(100 * time.Microsecond)
	}
	if got := n.journal.LastSeq(); got != last {
		return n.promotionFailed(fmt.Errorf("promotion: journal ends at %d, applied to %d", got, last))
	}
	// The engines are quiet now (checkAccounts reads them), and no epoch,
	// sender or session has changed yet.
	var toBind []matcher.AccountBinding
	if n.opts.Publisher == nil {
		var err error
		if toBind, err = n.checkAccounts(); err != nil {
			return n.promotionFailed(fmt.Errorf("promotion refused: %w", err))
		}
	}
	// The sender opens while the node still counts as following: the ring
	// is drained, and nothing else submits until following is false (the
	// checkpointer waits for it, FIX is not open). A checkpoint submitted
	// between the two would be journaled but not shipped, and the next
	// batch would be handed to a sender that expects the checkpoint's seq:
	// the replicate handler would panic and the new primary stop.
	if err := n.startSender(true); err != nil {
		return n.promotionFailed(err)
	}
	n.feed.resume() // drained: nothing is published until following is false
	n.following.Store(false)
	plan := n.unpublished()
	if err := n.journalTermBreak(); err != nil { // before FIX opens: before any order of the term
		return n.promotionFailed(err)
	}
	if n.opts.Publisher == nil {
		if err := n.openGateway(plan, last, toBind); err != nil {
			return n.promotionFailed(err)
		}
	} else {
		p := n.opts.Publisher
		n.switcher.to.Store(&p)
		if evs, _ := n.switcher.recent.after(plan.published); len(evs) > 0 {
			n.log.Warn("events after the published seq may not have reached brokers; no FIX gateway here to resend them", "events", len(evs), "seq", plan.published)
		}
	}
	n.obs.promotions.Add(1)
	epoch := r.history.Current()
	n.log.Warn("PROMOTED to primary", "epoch", epoch, "seq", last, "listen", n.cfg.FIX.Listen, "took", time.Since(start).Round(time.Microsecond))
	return epoch, nil
}

// promotionFailed stops the pipeline and the node on its own with err
// (Done, FailErr) and returns it.
func (n *Node) promotionFailed(err error) (uint64, error) {
	n.fail(err)
	n.repl.stopOnItsOwn(err)
	return 0, err
}

// openGateway opens the FIX acceptor of a promoted standby whose last
// command is seq last. Session stores are not replicated: a store this
// node kept from an earlier term as primary is stale, so it is moved aside
// and every session starts at sequence 1 (brokers log on with
// ResetSeqNumFlag=Y; see the README). The reports of plan (see
// gateway.ResendOnLogon) are resent to each session after its next Logon,
// those rebuilt from the journal as soon as they are (rebuildReports).
// toBind are the account bindings to journal before FIX opens
// (checkAccounts, which Promote ran before the epoch began).
func (n *Node) openGateway(plan resendPlan, last int64, toBind []matcher.AccountBinding) error {
	rules, err := n.rulesToJournal()
	if err != nil {
		return err
	}
	firmBlocks := n.firmBlocksToJournal()
	store := filepath.Join(n.cfg.DataDir, "fix")
	if _, err := os.Stat(store); err == nil {
		aside := fmt.Sprintf("%s.epoch-%d-stale", store, n.repl.history.Current()-1)
		if err := os.Rename(store, aside); err != nil {
			return fmt.Errorf("promotion: move stale FIX session stores aside: %w", err)
		}
		n.log.Info("FIX session stores of an earlier term moved aside", "aside", aside)
		pruneStaleStores(n.cfg.DataDir, n.log)
	}
	g, err := n.newGateway()
	if err != nil {
		return err
	}
	if err := n.rememberClOrdIDs(g); err != nil {
		return err
	}
	g.SetDeliveredBefore(last + 1)
	reports, sessions := g.ResendOnLogon(plan.kept, plan.delivered, plan.published, plan.rebuild)
	g.InitStoredMarks() // a crash before the Logons rebuilds these again
	var p Publisher = g
	n.switcher.to.Store(&p)
	n.endDayLeftOpen()
	if err := n.bindAccounts(toBind); err != nil {
		return err
	}
	if err := n.journalRiskRules(rules); err != nil {
		return err
	}
	if err := n.journalFirmBlocks(firmBlocks); err != nil {
		return err
	}
	how := "by the delivery marks of its last heartbeat"
	if plan.delivered == nil {
		how = fmt.Sprintf("after seq %d (the last the old primary said it published)", plan.published)
	}
	n.log.Warn("PROMOTION: reports the old primary's brokers may lack are pending: each is resent with PossResend=Y after the session's next Logon",
		"reports", reports, "found", how, "sessions", sessions)
	if err := g.Start(); err != nil {
		return err
	}
	n.gateway = g
	if plan.rebuilding() {
		n.repl.rebuildDone = make(chan struct{})
		go n.rebuildReports(g, plan, last)
	}
	return nil
}
