// Package matcher is the exchange's matching engine: order books with
// price-time priority, the commands that drive them and the events they
// cause, snapshot and restore of the whole engine, and a hash of its state.
//
// It is pure: no I/O, goroutines, clocks or randomness. Outputs are a
// function of the command sequence alone, so the journal of commands is
// enough to rebuild every result by replay.
package matcher
