package bench

import (
	"syscall"
	"time"
)

const prSetTimerSlack = 29 // prctl(2) PR_SET_TIMERSLACK

// sleepFor sleeps d. The runtime's timers wake through epoll_pwait,
// whose timeout is whole milliseconds, so time.Sleep(300µs) sleeps about
// a millisecond on an otherwise idle process; an open-loop generator that
// slept that way would add half a millisecond to every latency it reports.
// nanosleep(2) on Linux's high-resolution timers wakes within the timer
// slack, which this sets to 1 ns on the sleeping thread first (50 µs by
// default: as much again as a 10,000/s schedule's p50 at the target). The
// goroutine holds its thread meanwhile.
func sleepFor(d time.Duration) {
	if d <= 0 {
		return
	}
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
