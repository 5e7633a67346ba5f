//go:build race

package ringbuffer

const raceEnabled = true
