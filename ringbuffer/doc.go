// Package ringbuffer is the sequenced pipeline the exchange runs on: writers
// claim fixed-size, pointer-free slots in a ring, fill them and publish them;
// stages of handlers see each slot in sequence order, a stage only after the
// stage before it has passed the slot, and each handler gets the inclusive
// batch [lo, hi] that is ready so that it can do its I/O once per batch.
//
// It owns slots, sequences, stage groups, waiting and shutdown. It knows
// nothing of orders, journals or partitions: a handler that owns part of the
// slots (a match partition) skips the others itself.
//
// Sequencing is github.com/smarty/go-disruptor's: Claim is its Sequencer's
// Reserve (one writer, or several with an atomic claim), Publish its Commit.
// The stage goroutines are ringbuffer's own listeners, because go-disruptor's
// listener loop shares one WaitStrategy among all listeners and gives it no
// way to park without losing wake-ups (see wait.go and gate.go).
package ringbuffer
