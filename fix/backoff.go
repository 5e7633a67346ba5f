package fix

import (
	"sync"
	"time"
)

// Logon back-off: failed logons are counted per remote address, and wrong
// passwords also per (session, address) pair. After logonFailuresFree
// failures in a row, further logons from that address, or for that
// session from that address, are refused with a Logout saying until when,
// without looking at their password: for Config.LogonBackoff after the
// next failure, and twice as long after each failure after that, up to
// logonBackoffMax. Counts are never kept per CompID alone: a CompID is in
// every message the broker sends, so anyone could lock a broker out with
// it; the right password from an address that has not failed is always
// taken. A logon that succeeds clears its address's count and its pair's.
// A count is forgotten logonFailureMemory after its last failure once no
// refusal is in force.
//
// Memory is bounded: at most logonAddrsMax addresses and as many pairs;
// when a table is full the entries no longer in force go first, then an
// arbitrary one.
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
	byPair map[logonPair]*logonFailures
	byAddr map[string]*logonFailures
}

// logonPair is a session and a remote address: wrong passwords count
// for it.
type logonPair struct {
	s    *Session
	addr string
}

func newLogonBackoff(base time.Duration) *logonBackoff {
	return &logonBackoff{base: base, byPair: map[logonPair]*logonFailures{}, byAddr: map[string]*logonFailures{}}
}

// refusedUntil is when the refusal in force for addr, or for s (nil:
// unknown) from addr, ends; zero when none is.
func (b *logonBackoff) refusedUntil(s *Session, addr string, now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	var until time.Time
	if f := b.byAddr[addr]; f != nil && now.Before(f.until) {
		until = f.until
	}
	if f := b.byPair[logonPair{s, addr}]; s != nil && f != nil && now.Before(f.until) && f.until.After(until) {
		until = f.until
	}
	return until
}

// failed counts a failed logon from addr, for s from addr when it names a
// session (a wrong password), and returns until when logons are refused,
// if this failure starts or extends a refusal; else zero.
func (b *logonBackoff) failed(s *Session, addr string, now time.Time) (until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s != nil {
		if f, refused := recordFailure(b.byPair, logonPair{s, addr}, now, b.base); refused {
			until = f.until
		}
	}
	if f, refused := recordFailure(b.byAddr, addr, now, b.base); refused && f.until.After(until) {
		until = f.until
	}
	return until
}

// recordFailure counts a failure at now for key in table, making room for
// it (makeRoom) when the key is new; it reports whether a refusal follows.
func recordFailure[K comparable](table map[K]*logonFailures, key K, now time.Time, base time.Duration) (*logonFailures, bool) {
	f := table[key]
	if f == nil {
		makeRoom(table, now)
		f = &logonFailures{}
		table[key] = f
	}
	return f, f.record(now, base)
}

// makeRoom keeps table under logonAddrsMax entries.
func makeRoom[K comparable](table map[K]*logonFailures, now time.Time) {
	if len(table) < logonAddrsMax {
		return
	}
	for k, f := range table {
		if !now.Before(f.until) {
			delete(table, k)
		}
	}
	for k := range table {
		if len(table) < logonAddrsMax {
			return
		}
		delete(table, k)
	}
}

// succeeded clears the counts of addr and of s from addr.
func (b *logonBackoff) succeeded(s *Session, addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.byPair, logonPair{s, addr})
	delete(b.byAddr, addr)
}
