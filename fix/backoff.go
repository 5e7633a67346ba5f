package fix

import (
	"sync"
	"time"
)

// Logon back-off: failed logons (a wrong password, a CompID no session
// has) are counted per CompID and per remote address. After
// logonFailuresFree failures in a row, further logons from that CompID, or
// from that address, are refused with a Logout saying until when, without
// looking at their password: for Config.LogonBackoff after the next
// failure, and twice as long after each failure after that, up to
// logonBackoffMax. A logon that succeeds clears its CompID's count and its
// address's. A count is forgotten logonFailureMemory after its last
// failure once no refusal is in force.
//
// Memory is bounded: CompIDs are tracked only for configured sessions, and
// at most logonAddrsMax addresses; when the address table is full the
// entries no longer in force go first, then an arbitrary one.
const (
	logonFailuresFree  = 5
	logonBackoffMax    = 5 * time.Minute
	logonFailureMemory = time.Hour
	logonAddrsMax      = 4096
)

type logonFailures struct {
	count int
	last  time.Time // the last failure
	until time.Time // logons refused until then
}

// record counts a failure at now and sets the refusal that follows it,
// if any; it reports whether it set one.
func (f *logonFailures) record(now time.Time, base time.Duration) bool {
	if f.stale(now) {
		*f = logonFailures{}
	}
	f.count++
	f.last = now
	if over := f.count - logonFailuresFree; over > 0 {
		d := logonBackoffMax
		if over < 20 && base<<(over-1) < logonBackoffMax {
			d = base << (over - 1)
		}
		f.until = now.Add(d)
		return true
	}
	return false
}

func (f *logonFailures) stale(now time.Time) bool {
	return !now.Before(f.until) && now.Sub(f.last) >= logonFailureMemory
}

type logonBackoff struct {
	base   time.Duration
	mu     sync.Mutex
	byComp map[*Session]*logonFailures
	byAddr map[string]*logonFailures
}

func newLogonBackoff(base time.Duration) *logonBackoff {
	return &logonBackoff{base: base, byComp: map[*Session]*logonFailures{}, byAddr: map[string]*logonFailures{}}
}

// refusedUntil is when the refusal in force for s (nil: unknown) or addr
// ends; zero when none is.
func (b *logonBackoff) refusedUntil(s *Session, addr string, now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	var until time.Time
	if f := b.byAddr[addr]; f != nil && now.Before(f.until) {
		until = f.until
	}
	if f := b.byComp[s]; s != nil && f != nil && now.Before(f.until) && f.until.After(until) {
		until = f.until
	}
	return until
}

// failed counts a failed logon from addr, for s when it names a session,
// and returns until when logons are refused, if this failure starts or
// extends a refusal; else zero.
func (b *logonBackoff) failed(s *Session, addr string, now time.Time) (until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s != nil {
		f := b.byComp[s]
		if f == nil {
			f = &logonFailures{}
			b.byComp[s] = f
		}
		if f.record(now, b.base) {
			until = f.until
		}
	}
	f := b.byAddr[addr]
	if f == nil {
		b.makeRoomLocked(now)
		f = &logonFailures{}
		b.byAddr[addr] = f
	}
	if f.record(now, b.base) && f.until.After(until) {
		until = f.until
	}
	return until
}

// makeRoomLocked keeps the address table under logonAddrsMax entries.
func (b *logonBackoff) makeRoomLocked(now time.Time) {
	if len(b.byAddr) < logonAddrsMax {
		return
	}
	for a, f := range b.byAddr {
		if !now.Before(f.until) {
			delete(b.byAddr, a)
		}
	}
	for a := range b.byAddr {
		if len(b.byAddr) < logonAddrsMax {
			return
		}
		delete(b.byAddr, a)
	}
}

// succeeded clears the counts of s and addr.
func (b *logonBackoff) succeeded(s *Session, addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.byComp, s)
	delete(b.byAddr, addr)
}
