package replica

import (
	"fmt"
	"net"
	"slices"
	"sync/atomic"
)

// MaxStandbys bounds the standbys a Sender serves at once; a hello from
// one more is refused (RefuseFull) until one of them leaves.
const MaxStandbys = 8

// standbyConn is one standby connection past its hello. Its identity is the
// name its hello carries (ReceiverOptions.Name); a hello without one (a
// Receiver of a pair, or of a ringex that predates names) is the nameless
// standby, of which there is one at a time. A hello from a name already
// connected replaces that connection: the standby reconnected.
type standbyConn struct {
	name     string
	addr     string
	conn     net.Conn
	data     chan struct{} // Ship → this standby's writer
	acked    atomic.Int64  // highest seq it acknowledged as durable (on connecting: what it already holds)
	ready    atomic.Bool   // past the handshake: acked counts
	caughtUp atomic.Bool   // it acknowledged (or held on connecting) everything shipped once since it connected
}

// StandbyStats are one connected standby's figures.
type StandbyStats struct {
	Name     string // from its hello; "" for a nameless standby
	Addr     string // where it connects from
	Acked    int64  // highest seq it acknowledged as durable
	Ready    bool   // past the handshake
	CaughtUp bool   // it acknowledged (or held on connecting) everything shipped once since it connected
}

// admitStandby makes c the standby named name, replacing the connection of
// the same name (or the nameless one) if there is one. It refuses, with
// the reason, a new name when MaxStandbys are connected. Under mu.
func (s *Sender) admitStandby(c net.Conn, name string) (*standbyConn, string) {
	for i, old := range s.standbys {
		if old.name != name {
			continue
		}
		s.log.Warn("a new connection of the standby replaces its old one", "standby", name, "remote", c.RemoteAddr().String(), "old_remote", old.addr)
		old.conn.Close()
		s.standbys = slices.Delete(s.standbys, i, i+1)
		break
	}
	if len(s.standbys) >= MaxStandbys {
		return nil, fmt.Sprintf("this primary serves %d standbys already, its most: one must leave first", MaxStandbys)
	}
	sb := &standbyConn{name: name, addr: c.RemoteAddr().String(), conn: c, data: make(chan struct{}, 1)}
	s.standbys = append(s.standbys, sb)
	s.recount()
	return sb, ""
}

// dropStandby forgets sb once its connection has ended, unless a newer
// connection of the same name replaced it already. Under mu.
func (s *Sender) dropStandby(sb *standbyConn) {
	if s.isClosing() {
		return // Stats after Close shows the standbys as they stood
	}
	if i := slices.Index(s.standbys, sb); i >= 0 {
		s.standbys = slices.Delete(s.standbys, i, i+1)
	}
	s.recount()
}

// current reports whether sb is still a served standby. Under mu.
func (s *Sender) current(sb *standbyConn) bool { return slices.Contains(s.standbys, sb) }

// SetSync names the standbys whose acknowledgements Await counts (the
// shard's sync set, less the leader): Await returns once every one of
// them holds the seq. A named standby that is not connected counts with
// what it acknowledged while it was (durable there), which holds only
// for seqs it already had. nil (the default, and a pair's mode) counts
// the most advanced connected standby. An empty, non-nil set needs no
// standby: Await returns at once. Cold path: the caller changes the set
// once per standby that joins or leaves it.
func (s *Sender) SetSync(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if names == nil {
		s.syncSet = nil
	} else {
		s.syncSet = slices.Clone(names)
	}
	s.syncNone.Store(names != nil && len(names) == 0)
	for name := range s.held {
		if !slices.Contains(s.syncSet, name) {
			delete(s.held, name)
		}
	}
	s.recount()
}

// recount computes what Await counts as acknowledged and whether the
// standbys it counts have caught up, after any change to the standbys,
// their acks or the sync set, and wakes Await. Under mu; at most
// MaxStandbys² steps.
func (s *Sender) recount() {
	for _, sb := range s.standbys {
		if sb.ready.Load() && sb.name != "" && slices.Contains(s.syncSet, sb.name) {
			s.held[sb.name] = max(s.held[sb.name], sb.acked.Load())
		}
	}
	acked, caughtUp, any := s.acked.Load(), false, false
	if s.syncSet == nil {
		// The most advanced connected standby. With none connected the
		// figure stays: nothing Await has not already returned for.
		best := int64(-1)
		for _, sb := range s.standbys {
			if sb.ready.Load() {
				any = true
				best = max(best, sb.acked.Load())
				caughtUp = caughtUp || sb.caughtUp.Load()
			}
		}
		if any {
			acked = best
		}
	} else {
		acked, caughtUp = s.shipped.Load(), true
		for _, name := range s.syncSet {
			acked = min(acked, s.held[name]) // 0 for a member never heard from
			sb := s.byName(name)
			caughtUp = caughtUp && sb != nil && sb.ready.Load() && sb.caughtUp.Load()
		}
	}
	outside, ready := 0, false
	for _, sb := range s.standbys {
		ready = ready || sb.ready.Load()
		if sb.ready.Load() && sb.caughtUp.Load() && sb.name != "" && !slices.Contains(s.syncSet, sb.name) {
			outside++
		}
	}
	s.acked.Store(acked)
	s.caughtUp.Store(caughtUp)
	s.outside.Store(int64(outside))
	s.anyReady.Store(ready)
	notify(s.ack)
}

// Acked is Stats' Acked and Connected without the list of standbys: two
// atomic loads, for the hot path.
func (s *Sender) Acked() (seq int64, connected bool) {
	// Connected first: a handshake stores the standby's acked, then
	// recounts, so a connected standby's seq read here is never a
	// replaced one's.
	connected = s.anyReady.Load()
	return s.acked.Load(), connected
}

// Outside is how many named standbys have caught up (acknowledged
// everything shipped once) without being in the sync set: the caller's
// cue to widen it. One atomic load: the replicate handler reads it every
// batch.
func (s *Sender) Outside() int64 { return s.outside.Load() }

// Held is the highest seq the standby name is known to hold durably: the
// most it acknowledged while a member of the sync set (the seq it holds,
// if it came back with less), or what it acknowledged on its connection
// if it is connected; 0 if neither. Cold path: it takes the lock.
func (s *Sender) Held(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.held[name]
	if sb := s.byName(name); sb != nil && sb.ready.Load() {
		h = max(h, sb.acked.Load())
	}
	return h
}

// byName is the connected standby named name, nil if none. Under mu.
func (s *Sender) byName(name string) *standbyConn {
	for _, sb := range s.standbys {
		if sb.name == name {
			return sb
		}
	}
	return nil
}

// standbyStats lists the connected standbys. Under mu.
func (s *Sender) standbyStats() []StandbyStats {
	out := make([]StandbyStats, 0, len(s.standbys))
	for _, sb := range s.standbys {
		out = append(out, StandbyStats{Name: sb.name, Addr: sb.addr, Acked: sb.acked.Load(), Ready: sb.ready.Load(), CaughtUp: sb.caughtUp.Load()})
	}
	return out
}
