package node

import "time"

// SetRecentEventsBound makes the standbys started after it keep only n
// events, so that a test can have reports fall out of the buffer; the
// function it returns puts the bound back.
func SetRecentEventsBound(n int) (restore func()) {
	was := recentEventsFor
	recentEventsFor = func(uint32) int { return n }
	return func() { recentEventsFor = was }
}

// Regenerate is regenerate for a figure: the events of the commands after
// from, up to last, that go to the accounts want marks.
func (n *Node) Regenerate(from, last int64, want []bool) (events, replayed int, err error) {
	evs, replayed, _, err := n.regenerate(from, last, want)
	return len(evs), replayed, err
}

// SetHandoffBounds sets the handoff's lag, approach and hold bounds
// (shard_handoff.go); the function it returns puts them back.
func SetHandoffBounds(lag int64, approach, hold time.Duration) (restore func()) {
	l, a, h := handoffLag, handoffApproach, handoffHold
	handoffLag, handoffApproach, handoffHold = lag, approach, hold
	return func() { handoffLag, handoffApproach, handoffHold = l, a, h }
}

// Delivered is the gateway's delivery marks by account
// (gateway.Gateway.Delivered): what the node's heartbeats tell a standby.
func (n *Node) Delivered() []int64 { return n.gateway.Delivered(nil) }
