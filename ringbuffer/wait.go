package ringbuffer

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// WaitStrategy says what a goroutine does while the thing it waits for (a
// writer's publish, the stage before it, room in the ring) has not happened.
type WaitStrategy int

const (
	// WaitHybrid spins briefly, then yields its P, then parks until the
	// progress it waits for is signalled. Idle CPU is zero; it is the default
	// and the right choice whenever goroutines outnumber dedicated cores.
	WaitHybrid WaitStrategy = iota
	// WaitBusySpin never parks: it re-checks, yielding its P only every
	// busySpinYieldEvery checks. For machines with a dedicated core per stage
	// goroutine; on a shared or small machine it wastes cores and slows the
	// pipeline down.
	WaitBusySpin
)

func (w WaitStrategy) String() string {
	switch w {
	case WaitHybrid:
		return "hybrid"
	case WaitBusySpin:
		return "busy-spin"
	}
	return "WaitStrategy(?)"
}

// The hybrid wait's phases, in checks of the awaited condition. Spinning
// catches progress that is already on its way (the stage before us is
// storing its sequence); yielding lets the goroutine that will make the
// progress run on our P (on two cores, it often is waiting for one); parking
// costs a wake-up of a few microseconds but no CPU.
const (
	hybridSpinChecks   = 128
	hybridYieldChecks  = 16
	busySpinYieldEvery = 32
)

// signal is where any number of anonymous goroutines waiting for one kind of
// progress park: writers waiting for the last stage to free a slot.
//
// No lost wake-up. A waiter registers (waiters.Add), reads the epoch, and only
// then re-checks its condition; it parks only while the epoch is still the one
// it read. A notifier stores its progress first and then reads waiters. Go's
// atomics are sequentially consistent, so either the waiter's re-check sees
// the progress, or the notifier sees the waiter and bumps the epoch after the
// waiter read it, and the waiter does not sleep through it (the epoch is
// compared under the mutex that Broadcast also takes).
type signal struct {
	_       [cacheLine]byte
	waiters atomic.Int32
	epoch   atomic.Uint64
	mu      sync.Mutex
	cond    sync.Cond
	_       [cacheLine]byte
}

func (s *signal) init() { s.cond.L = &s.mu }

// notify wakes every goroutine parked on s and reports whether there was one.
// Costs one atomic load when nobody waits. Hot path.
func (s *signal) notify() bool {
	if s.waiters.Load() == 0 {
		return false
	}
	s.epoch.Add(1)
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
	return true
}

// prepare registers the caller as a waiter and returns the epoch to park on.
// The caller must re-check its condition after prepare and then call either
// cancel or park.
func (s *signal) prepare() uint64 {
	s.waiters.Add(1)
	return s.epoch.Load()
}

func (s *signal) cancel() { s.waiters.Add(-1) }

// park sleeps until the epoch moves past e, then deregisters.
func (s *signal) park(e uint64) {
	s.mu.Lock()
	for s.epoch.Load() == e {
		s.cond.Wait()
	}
	s.mu.Unlock()
	s.waiters.Add(-1)
}

// parker is where one goroutine that others know by name sleeps: a stage's
// handler, or the gate. It is cheaper than a signal (a channel hand-off, no
// mutex to re-take on waking) and is what every stage waits on.
//
// No lost wake-up: the sleeper announces itself (parked = 1) before its last
// check of the condition; a waker stores its progress before it looks for
// the announcement. With sequentially consistent atomics, either the last
// check sees the progress or the waker sees the announcement, takes it
// (Swap) and hands over a token that the sleeper then receives.
type parker struct {
	_      [cacheLine]byte
	parked atomic.Int32
	wake   chan struct{}
	_      [cacheLine]byte
}

func (k *parker) init() { k.wake = make(chan struct{}, 1) }

// prepare announces that the caller is about to sleep. The caller re-checks
// its condition, then calls cancel or sleep.
func (k *parker) prepare() { k.parked.Store(1) }

// cancel withdraws the announcement. If a waker took it first, its token is
// sent or about to be, and cancel consumes it so the next sleep is not cut
// short by a stale token.
func (k *parker) cancel() {
	if k.parked.Swap(0) == 0 {
		<-k.wake
	}
}

func (k *parker) sleep() { <-k.wake }

// unpark wakes the goroutine if it sleeps or is about to, and reports
// whether it did. One atomic load when it does not. Hot path.
func (k *parker) unpark() bool {
	if k.parked.Load() == 0 || k.parked.Swap(0) == 0 {
		return false
	}
	k.wake <- struct{}{}
	return true
}

// backoff runs the spin and yield phases of a wait: it returns true when the
// caller should stop spinning and park (hybrid) and never does for busy-spin.
// try counts the checks made so far.
func backoff(w WaitStrategy, try int) (parkNow bool) {
	switch {
	case w == WaitBusySpin:
		if try%busySpinYieldEvery == busySpinYieldEvery-1 {
			runtime.Gosched()
		}
		return false
	case try < hybridSpinChecks:
		return false
	case try < hybridSpinChecks+hybridYieldChecks:
		runtime.Gosched()
		return false
	}
	return true
}
