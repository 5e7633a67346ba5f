package gateway

import (
	"github.com/ringex/ringex/matcher"
)

// Delivery marks: which reports a broker's FIX engine has confirmed (its
// TCP stack acknowledged them and it answered a TestRequest sent after
// them, fix/delivery.go), so that a standby taking over resends exactly
// the ones a broker may lack.
//
// Every event the publish stage hands to an account is numbered by its
// mark, seq·matcher.ExecIDStride + n, for the n-th event (from 1) of
// command seq that goes to the account: marks grow in the order reports
// are sent, whichever partition made them, and a standby that holds the
// same events numbers them the same (markCounter). An event that makes no
// message (a mass cancel's count from one partition) is numbered but sends
// no mark; the message that carries its count does. A session's delivered
// mark (fix.Session.Delivered) then says that every report up to it has
// reached the broker.

// markCounter numbers the events of one account, in publish order.
type markCounter struct{ seq, n int64 }

// next is ev's mark; ev is the account's next event.
func (c *markCounter) next(ev *matcher.Event) int64 {
	if c.seq != ev.Seq {
		c.seq, c.n = ev.Seq, 0
	}
	c.n++
	return ev.Seq*matcher.ExecIDStride + c.n
}

// markBefore is the mark below every report of command seq.
func markBefore(seq int64) int64 { return seq * matcher.ExecIDStride }

// MarkBefore is the mark below every report of command seq: a mark that
// covers every report of the commands before it.
func MarkBefore(seq int64) int64 { return markBefore(seq) }

// WhollyDelivered is the last command every report of which to the
// account a delivered mark covers (0: none): the mark's own command may
// be covered only in part.
func WhollyDelivered(mark int64) int64 { return max(mark/matcher.ExecIDStride-1, 0) }

// SetDeliveredBefore says that the reports of commands before seq went out
// before this gateway: a node starting (or promoted) at seq calls it before
// Start. Until a session's broker acknowledges a report of its own, the
// session counts as delivered up to there (Delivered), so that a standby
// resends what it was sent since, and nothing older.
func (g *Gateway) SetDeliveredBefore(seq int64) {
	for a := range g.accounts {
		g.accounts[a].floor.Store(markBefore(seq))
	}
}

// Delivered appends, for every account from 0 (unused) to the last, the
// mark up to which its broker has acknowledged every report (see
// markCounter): what a standby needs to hear in each heartbeat. An account
// with a session has a mark of at least 1; 0 says unknown (no session
// here: this node knows nothing of its broker), and a standby keeps the
// last mark it heard for it (replica.Receiver.PrimaryDelivered). Any
// goroutine; one system call per session with reports in flight.
func (g *Gateway) Delivered(dst []int64) []int64 {
	dst = append(dst, 0)
	for a := 1; a < len(g.accounts); a++ {
		s := g.sessionOf(uint32(a))
		if s == nil {
			dst = append(dst, 0) // unknown (sessionOf)
			continue
		}
		dst = append(dst, max(s.Delivered(), g.accounts[a].floor.Load()))
	}
	return dst
}

// pendingReport is a report to resend after a failover, or one held until
// the session's Logon (live: never sent), with its mark.
type pendingReport struct {
	ev   matcher.Event
	mark int64
	live bool
}
