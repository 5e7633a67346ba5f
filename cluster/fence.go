package cluster

import (
	"fmt"
	"sync/atomic"
)

// Token is the fencing token of one term of a shard's leadership: the
// create revision of the leader's election key in etcd. etcd's revision
// only grows, and each won election creates a new key, so a later leader
// always holds a higher token. It is the epoch number the journal's epoch
// history records for the term and that every replication frame of the term
// carries; a receiver refuses a frame whose token is lower than the newest
// it has seen (Fence). Zero is no token.
type Token uint64

// StaleTokenError is Fence's refusal: a frame from a leader whose term has
// ended, because a later leader has been seen.
type StaleTokenError struct {
	Got    Token // the token the refused frame carried
	Newest Token // the newest token the receiver has seen
}

func (e *StaleTokenError) Error() string {
	return fmt.Sprintf("cluster: fencing token %d is stale: token %d has been seen (a later leader holds the shard)", e.Got, e.Newest)
}

// Fence is the receiving side of fencing: it remembers the newest token
// seen and refuses a lower one. Safe for concurrent use; the zero value has
// seen no token. A receiver that restarts seeds it with the newest token its
// epoch history holds (Advance), so that a restart does not forget a term.
type Fence struct {
	newest atomic.Uint64
}

// Admit records t as seen and returns nil when t is at least the newest
// token seen, and a *StaleTokenError naming both tokens when it is lower.
// Equal tokens are the same term and pass. Runs per frame: one atomic load
// in the common case, no allocation unless it refuses.
func (f *Fence) Admit(t Token) error {
	for {
		n := f.newest.Load()
		if uint64(t) < n {
			return &StaleTokenError{Got: t, Newest: Token(n)}
		}
		if uint64(t) == n || f.newest.CompareAndSwap(n, uint64(t)) {
			return nil
		}
	}
}

// Advance raises the newest token seen to t (a restart seeding the fence
// from the epoch history, or a member that learned of a leader through
// etcd); a lower t changes nothing.
func (f *Fence) Advance(t Token) { _ = f.Admit(t) }

// Newest returns the newest token seen, 0 when none.
func (f *Fence) Newest() Token { return Token(f.newest.Load()) }
