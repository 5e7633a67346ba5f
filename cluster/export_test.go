package cluster

import "time"

// Freeze stops (true) or resumes (false) the member's keep-alives, as a
// process frozen by SIGSTOP would stop them.
func (m *Member) Freeze(frozen bool) { m.frozen.Store(frozen) }

// LastKeepAliveSent returns when the newest answered keep-alive (or the
// grant) was sent.
func (m *Member) LastKeepAliveSent() time.Time {
	return clockBase.Add(time.Duration(m.lastSentNs.Load()))
}

// ValidFor makes a guard valid for d from now, for benchmarks.
func (g *Guard) ValidFor(d time.Duration) { g.extend(sinceBase(time.Now().Add(d))) }
