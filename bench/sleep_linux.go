package bench

import (
	"syscall"
	"time"
)

// sleepFor sleeps d. The runtime's timers wake through epoll_pwait,
// whose timeout is whole milliseconds, so time.Sleep(300µs) sleeps about
// a millisecond on an otherwise idle process; an open-loop generator that
// slept that way would add half a millisecond to every latency it reports.
// nanosleep(2) on Linux's high-resolution timers wakes within the timer
// slack (50 µs by default). The goroutine holds its thread meanwhile.
func sleepFor(d time.Duration) {
	if d <= 0 {
		return
	}
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
