package node

// SetRecentEventsBound makes the standbys started after it keep only n
// events, so that a test can have reports fall out of the buffer; the
// function it returns puts the bound back.
func SetRecentEventsBound(n int) (restore func()) {
	was := recentEventsFor
	recentEventsFor = func(uint32) int { return n }
	return func() { recentEventsFor = was }
}
