package node

import (
	"fmt"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// journalMissing journals a marker at each seq the journal says was
// durable and is gone (journal.Journal.Missing: the operator started it
// anyway with startFromLastGood), so that the next command does not take
// one of those seqs again: an OrderID is its command's seq and an ExecID
// derives from it, and a broker may have seen them. The marker is a
// checkpoint hash naming no checkpoint (OrderID 0, Qty 0 partitions):
// engines apply nothing, replay and the publish stage pass it over, and it
// has no event; the market-data feed begins a new session at a run of them
// (package feed), since it cannot know the feed seqs the lost records
// took. journalTermBreak journals the same marker, with an epoch, where
// a term begins. Runs before the pipeline starts. A standby journals none.
//
// A replicated primary first begins an epoch at the first lost seq: its
// standby may hold the lost records at those seqs, under the epoch both
// had. The new epoch tells it, at its next hello, that the two journals
// part there (replica.DivergedError): it sets its copies aside and takes
// the markers, instead of following on with other records at the same
// seqs. (Taking the records from the standby instead would need the
// replication stream to run the other way; an operator who wants them
// starts that standby as primary rather than this node from its last good
// record.) The epoch is begun before the markers, so a crash between the
// two begins it again at the next start.
func (n *Node) journalMissing() error {
	first, last := n.journal.Missing()
	if last == 0 {
		return nil
	}
	if n.following.Load() {
		// A standby's seqs are its primary's: it asks for them again
		// from the end of its journal, and markers would diverge from them.
		n.log.Warn("the standby's journal lost seqs; it follows its primary from the first and gets them again", "first_seq", first, "last_seq", last)
		return nil
	}
	if n.repl != nil {
		epoch, err := n.repl.history.Begin(first)
		if err != nil {
			return fmt.Errorf("begin an epoch at lost seq %d: %w", first, err)
		}
		n.log.Warn("a new epoch begins at the first lost seq: a standby holding other records from there is told it diverged", "epoch", epoch, "seq", first)
	}
	var buf [matcher.CommandSize]byte
	for seq := first; seq <= last; seq++ {
		marker := matcher.CheckpointHash{}.Command() // names no checkpoint
		marker.Seq, marker.TimeNs = seq, n.lastNs    // the time goes on from the last good record's (lastStamp)
		if err := n.journal.Append(seq, marker.Encode(buf[:])); err != nil {
			return fmt.Errorf("journal a marker for lost seq %d: %w", seq, err)
		}
		if (seq-first+1)%(1<<16) == 0 || seq == last {
			if err := n.journal.Commit(); err != nil {
				return fmt.Errorf("journal markers for lost seqs %d..%d: %w", first, last, err)
			}
		}
	}
	n.log.Warn("journaled markers for the lost seqs: OrderIDs and ExecIDs go on after them, never reused", "first_seq", first, "last_seq", last)
	return nil
}

// journalTermBreak journals, through the ring, a session-break marker for
// the market-data feed where a primary's term begins (at start, or on
// promotion, before FIX opens): the lost-record marker with the term's
// epoch in its hash field, so that package feed begins a new session
// there even right after other markers. A predecessor may have put on its
// feed records this journal lacks (async replication, a sync primary
// that went on alone, a shard's forced promotion) under the seqs this
// term's messages take; the new session tells receivers so. Only with
// feed.enabled, where this node publishes a feed, and only after records
// some earlier term may have published: a term that may have lost none
// (sync, waiting for a lost standby) journals none.
func (n *Node) journalTermBreak() error {
	r, rc := n.repl, n.cfg.Replication
	if !n.cfg.Feed.Enabled || r == nil || n.journal.LastSeq() == 0 ||
		(n.shard == nil && rc.Mode == config.ModeSync && rc.OnStandbyLost == config.LostWait) {
		return nil
	}
	epoch := r.history.Current()
	marker := matcher.CheckpointHash{Hash: epoch}.Command() // names no checkpoint
	seq, err := n.submitSeq(&marker)
	if err != nil {
		return fmt.Errorf("journal the feed's session break of epoch %d: %w", epoch, err)
	}
	n.log.Info("feed: a new session begins with this term: receivers of an earlier term's feed take a snapshot", "epoch", epoch, "seq", seq)
	return nil
}
