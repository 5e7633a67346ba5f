//go:build !linux

package bench

import "time"

// sleepFor sleeps d (see sleep_linux.go for why it is its own function).
func sleepFor(d time.Duration) { time.Sleep(d) }
