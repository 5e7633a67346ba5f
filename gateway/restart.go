package gateway

import (
	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// Reports across a restart. A session store is written before the socket
// but not fsynced per message, and the publish stage hands a report to its
// session only after its command is durable: a crash can leave journaled
// commands whose reports no store holds. Each session's store keeps the
// mark (delivery.go) up to which it holds them (fix.Session.StoredMark);
// a node starting rebuilds from the journal the reports after it and
// resends them after the session's next Logon with PossResend=Y, as a
// promoted standby does (RebuildOnStart, then Regenerated). What the
// store holds reaches a broker that keeps its sequence numbers by
// ResendRequest (PossDup=Y).

// StoredMarks returns, for every account from 0 (unused) to the last, the
// mark up to which its session store holds every report: 0 where the
// store holds none (a new one, or one a power loss emptied:
// fix.Session.StoredMark); -1 where no session is, or its store is a
// memory one. Call it before Start. Cold path.
func (g *Gateway) StoredMarks() []int64 {
	marks := make([]int64, len(g.accounts))
	for a := 1; a < len(g.accounts); a++ {
		marks[a] = -1
		s := g.sessionOf(uint32(a))
		if s == nil {
			continue // no session (sessionOf)
		}
		if m, ok := s.StoredMark(); ok {
			marks[a] = m
		}
	}
	return marks
}

// StoresReach reads the session stores in dir (Options.StoreDir) without
// opening them and returns the last command whose reports one of them
// holds, or was told it holds (StoredThrough), and the file that shows
// it; 0 and "" when none does. The publish stage hands a session the
// reports of durable commands only, and a broker may have seen their
// OrderIDs and ExecIDs: a journal that ends below this seq lost durable
// records (journal.Options.Reported). Cold path.
func StoresReach(dir string) (seq int64, file string, err error) {
	mark, file, err := fix.HighestStoredMark(dir)
	if err != nil || mark <= 0 {
		return 0, "", err
	}
	// A report's mark is seq·ExecIDStride + n (n ≥ 1); StoredThrough(seq)
	// notes markBefore(seq+1).
	return (mark - 1) / matcher.ExecIDStride, file, nil
}

// DeliveredBeforeStart lowers each account's floor (SetDeliveredBefore)
// to the mark up to which its session store shows that the broker's TCP
// stack acknowledged every report before this start (fix.Session.Delivered
// of a session just opened): a report stored and never acknowledged (the
// broker away, or the connection ended or the node died before the
// acknowledgement) then counts as undelivered in the marks a standby
// hears, so a standby taking over resends it. An account with fresh[a]
// (one the journal holds no report of: bound at this start) keeps the
// floor, and so does a memory store (StoredMarks -1). Call it after
// SetDeliveredBefore and before Start. Cold path.
func (g *Gateway) DeliveredBeforeStart(fresh []bool) {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts); a++ {
		s := g.sessionOf(uint32(a))
		if s == nil || a < len(fresh) && fresh[a] {
			continue // no session (sessionOf), or nothing before this start
		}
		if _, ok := s.StoredMark(); ok {
			g.lowerFloor(a, s.Delivered())
		}
	}
}

// RebuildOnStart holds, for each account a with rebuild[a], its new
// reports until its reports after stored[a] (StoredMarks), rebuilt from
// the journal, come with Regenerated (published: the last command before
// the start); they then go to the session after its next Logon. Call it
// before Start and before the node publishes anything. Cold path.
func (g *Gateway) RebuildOnStart(stored []int64, rebuild []bool) {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts) && a < len(rebuild); a++ {
		if !rebuild[a] {
			continue
		}
		acct := &g.accounts[a]
		acct.held.Store(true)
		acct.rebuilding = true
		g.lowerFloor(a, stored[a])
	}
}

// ReleaseIdle stops holding the reports of every account that has nothing
// pending and nothing being rebuilt (RebuildOnStart found none to resend):
// its reports go to its session at once, as on any start. Cold path.
func (g *Gateway) ReleaseIdle() {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts); a++ {
		acct := &g.accounts[a]
		if acct.held.Load() && !acct.rebuilding && !acct.flushing && len(acct.pending) == 0 {
			acct.held.Store(false)
		}
	}
}

// StoredThrough tells the session store of every account whose reports
// are not held that it holds all of them of the commands up to seq, once
// what is queued is written (fix.Session.MarkStored): the publish stage
// has handed them all to their sessions. A broker with no reports for a
// while thus does not send a restart back to its last one. A held
// account's mark stays where its store stands. The node calls it at each
// checkpoint, at start and at a clean stop. One lock per session: called
// once per checkpoint, not per event.
func (g *Gateway) StoredThrough(seq int64) {
	mark := markBefore(seq + 1)
	for a := 1; a < len(g.accounts); a++ {
		if s := g.sessionOf(uint32(a)); s != nil && !g.accounts[a].held.Load() {
			s.MarkStored(mark)
		}
	}
}

// InitStoredMarks gives every session store at least its account's
// floor (SetDeliveredBefore, lowered by ResendOnLogon) as its mark: a
// promoted node's stores are new and hold nothing, and one that crashes
// before the broker logs on rebuilds from there. Cold path.
func (g *Gateway) InitStoredMarks() {
	for a := 1; a < len(g.accounts); a++ {
		if s := g.sessionOf(uint32(a)); s != nil {
			s.MarkStored(g.accounts[a].floor.Load())
		}
	}
}

// WriteOff records that account a's reports up to mark were written off:
// they could not be rebuilt (the journal no longer holds their commands),
// and the node said so loudly, naming the session and the commands. Its
// session store counts them as held (fix.Session.MarkStored), so that a
// later start does not try the same rebuild again and refuse to start,
// and its floor rises to mark, so that a standby of this node does not
// plan it either. The reports after mark are unchanged: pending, rebuilt
// or stored. Any goroutine; cold path.
func (g *Gateway) WriteOff(a int, mark int64) {
	s := g.sessionOf(uint32(a))
	if s == nil {
		return
	}
	g.pendMu.Lock()
	floor := &g.accounts[a].floor
	floor.Store(max(floor.Load(), mark))
	g.pendMu.Unlock()
	s.MarkStored(mark)
}

// HoldUntilLogon holds the new reports of each account a with hold[a]
// until its session's next Logon, which they then follow as they were
// made (no PossResend): reports made while no broker could be logged on
// (cancel-on-disconnect at start), which a Logon with ResetSeqNumFlag=Y
// would drop from the store; and the copies of them to a's drop copies.
// Call it before Start and before the node publishes them. Cold path.
func (g *Gateway) HoldUntilLogon(hold []bool) {
	g.pendMu.Lock()
	defer g.pendMu.Unlock()
	for a := 1; a < len(g.accounts) && a < len(hold); a++ {
		if hold[a] {
			g.accounts[a].held.Store(true)
			for _, c := range g.accounts[a].copies {
				g.accounts[c].held.Store(true) // its copies too (dropcopy.go)
			}
		}
	}
}
