package gateway

import "github.com/ringex/ringex/matcher"

// rejectReasons bounds the gateway's reject counters: one per
// matcher.Reason.
const rejectReasons = matcher.NumReasons

// SessionState is one FIX session as an operator sees it.
type SessionState struct {
	ID             string // BeginString:SenderCompID->TargetCompID
	TargetCompID   string
	LoggedOn       bool
	QueuedBytes    int   // waiting for the socket (the slow-consumer bound counts these)
	ResendRequests int64 // received from the broker since the start
	Throttled      int64 // messages its throttle refused since the start (never reached the gateway)
}

// Sessions returns the state of every configured session, in config
// order. Safe from any goroutine; it takes each session's lock briefly.
func (g *Gateway) Sessions() []SessionState {
	out := make([]SessionState, 0, len(g.opts.Sessions))
	for i := range g.opts.Sessions {
		s := g.accounts[g.opts.Sessions[i].Account].session
		out = append(out, SessionState{ID: s.ID(), TargetCompID: s.TargetCompID(), LoggedOn: s.LoggedOn(),
			QueuedBytes: s.Queued(), ResendRequests: s.ResendRequests(), Throttled: s.Throttled()})
	}
	return out
}

// Rejects returns how many orders and cancels the gateway itself refused
// (before the ring: malformed, unknown symbol, duplicate ClOrdID, ...), by
// matcher.Reason.
func (g *Gateway) Rejects() []uint64 {
	out := make([]uint64, rejectReasons)
	for i := range out {
		out[i] = g.rejects[i].Load()
	}
	return out
}
