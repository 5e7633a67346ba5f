//go:build unix

package httpd_test

import "syscall"

// processCPUNs is the CPU time (user and system) this process has used, all
// threads together: on a shared machine it tells what the work costs apart
// from what the neighbours take.
func processCPUNs() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
