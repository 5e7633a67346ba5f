// Package ringbuffer is the sequenced pipeline the exchange runs on. Writers
// claim fixed-size, pointer-free slots in a ring, fill them and publish them;
// stages of handlers see every slot in sequence order, a stage only after
// every handler of the stage before it has passed the slot; and a handler is
// handed the whole inclusive batch [lo, hi] that is ready, so that it can do
// its I/O once per batch. A PartialHandler may pass on less than its batch
// and get the rest at once in the next one: so a handler can wait, mid-batch,
// for a later stage to reach the slot before.
//
//	r, err := ringbuffer.New[slot](ringbuffer.Options{Writers: 8},
//		ringbuffer.Stage{Name: "journal+match", Handlers: []ringbuffer.Handler{journal, replicate, match0, match1}},
//		ringbuffer.Stage{Name: "publish", Handlers: []ringbuffer.Handler{publisher}})
//	r.Start()
//	seq, err := r.Claim() // blocks while the ring is full
//	*r.Slot(seq) = cmd
//	r.Publish(seq)
//	...
//	err = r.Close() // drains everything published, then stops
//
// It owns slots, sequences, stage groups, waiting, back-pressure, shutdown and
// the counters of all that. It refuses to know what a slot means: nothing
// here knows orders, journals or partitions. A handler that owns only part of
// the slots (a match partition) skips the others itself.
//
// # Sequencing: go-disruptor's Sequencer, ringbuffer's own listeners
//
// Claim is github.com/smarty/go-disruptor's Sequencer.TryReserve (one writer,
// or several racing on an atomic claim) and Publish its Commit. The stage
// goroutines are not go-disruptor's listeners. Its listener loop calls
// Handle, then stores the handled sequence, then asks its WaitStrategy to
// wait; that one strategy value is shared by every listener and is told
// nothing but a retry count. A strategy that parks must re-check, after
// announcing that it is going to sleep, the very condition its listener
// checked; it cannot, because it does not know which listener is calling or
// what that listener read. It can only poll, or sleep with a timeout and
// lose wake-ups in between. So ringbuffer runs each handler on a listener of
// its own (stage.go): it knows its upstream, and parks with no lost wake-up
// and no timeout.
//
// go-disruptor's Sequencer still has to see some handler make progress, or it
// refuses every claim after the first lap. It gets one stand-in handler, the
// gate (gate.go): it does nothing with slots and follows the committed
// sequence lazily, woken by a writer once per quarter of its ring, so it
// costs a few wake-ups per lap, not one per event. go-disruptor's wrap check
// therefore only bounds how far writers run ahead of the gate; the real one,
// against the last stage, is Claim's own. go-disruptor gets at least 4096
// slots of sequence space so that the gate can sleep for a while even on a
// small ring. Nothing is copied from go-disruptor; it is used through its
// public API only.
//
// # Waiting
//
// WaitHybrid, the default, re-checks 128 times, then yields its P up to 16
// times, then parks. One hand-off keeps the two-core case fast: a handler
// that has just woken the next stage goes straight to sleep, so the woken
// goroutine, queued on its P, gets the P at once, as after a channel send to
// a waiting receiver. A writer that wakes the first stage does not yield to
// it: the stage runs when the writer blocks, and a writer with a burst to
// send hands it the whole burst as one batch. WaitBusySpin never parks: it
// re-checks, yielding every 32 checks so that Go's scheduler and the race
// detector still get through.
//
// No lost wake-up, and no timeout anywhere. Every sleeper follows the same
// protocol: announce that you are about to sleep, then check your condition
// once more, then sleep only if it still does not hold. Every waker first
// stores its progress, then looks for an announcement. Go's atomics are
// sequentially consistent, so one of the two sees the other: either the last
// check sees the progress, or the waker sees the announcement and wakes the
// sleeper (a handler sleeps on its own one-token channel, writers waiting for
// room on an epoch counter under a condition variable; wait.go). The
// conditions are exact: a handler re-checks its upstream's sequences (or the
// writers' published marks), a writer the last stage's sequence. A writer
// refused by go-disruptor (the gate has lagged) nudges the gate after
// announcing itself and before its last TryReserve; a nudge always leads to
// another gate callback, after go-disruptor has stored the gate's progress,
// and every callback wakes waiting writers. Close and Fail store their flags
// and then wake everyone, and every re-check includes them. TestNoLostWakeup
// sends one slot at a time with random pauses and waits for each; with no
// timeout to hide behind, a lost wake-up would hang it.
//
// # Back-pressure, shutdown, failure
//
// A writer whose slot is still in use by the last stage (the ring is full)
// waits in Claim, and that wait counts as back-pressure in Stats: a counter,
// never a drop. Close makes Claim refuse (ErrClosed), waits until every claim
// it let through is published, lets every stage handle everything published,
// and stops the goroutines. Fail (or a handler's panic, recovered as a
// *PanicError carrying the value and the stack) makes Claim refuse, wakes and
// releases every writer waiting in Claim with ErrClosed, lets no stage start
// another batch, and keeps the failing handler's batch from every later
// stage: a handler's progress is stored only after it returns, and only if
// the ring has not failed. Close then returns the error.
//
// The compromises: with Options.Writers <= 1 the writer side is
// go-disruptor's single-writer sequencer, which is not safe for concurrent
// Claims; Close polls (every 20 µs, off the hot path) while it waits for
// claimed slots to be published; and a handler must not call Close, which
// would wait for itself.
//
// # On dedicated cores
//
// On a machine with a core for every stage goroutine and every writer (and
// the rest of the process kept off them), use WaitBusySpin. A parked handler
// costs a wake-up (a channel hand-off and, when its P is idle, an OS thread
// wake-up) of a few microseconds on every event under sparse load; a spinning
// one sees the next slot within a cache-line transfer, tens of nanoseconds,
// and never makes the writer pay for a wake-up. It burns its cores while
// idle, which a dedicated core can afford. On two shared cores it cannot:
// there spinners take turns on the Ps, and busy-spin measured several times
// slower than the hybrid wait and burned about half a core while idle
// (docs/performance.md has the benchmarks against Go channels and
// go-disruptor's own listeners).
package ringbuffer
