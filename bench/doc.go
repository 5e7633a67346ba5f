// Package bench is ringex's load generator and latency report: open-loop
// load at a planned rate (latency counts from each request's planned send
// time, so a stall is never hidden), HDR histograms (one per goroutine,
// merged at the end), the standard .hgrm percentile files, a JSON summary,
// a terminal table and an SVG chart of percentile curves.
//
// It drives four kinds of target:
//
//   - Journal: records at the planned rate straight into a real journal,
//     one write and one Commit per batch of what is due (journal.go): the
//     disk's floor under any durable acknowledgement, measured in the same
//     run as the rest.
//   - Pipeline: commands straight into a node's ring (no network), through
//     journal (the chosen fsync mode), match and publish to a sink.
//   - FIX: N sessions of this package's own small initiator codec
//     (client.go) against any acceptor at an address: ringex itself
//     (started in-process with Self), the trivial Responder of this package
//     (the generator's own ceiling), or the bare quickfixgo acceptor
//     (QuickfixgoBaseline) that answers each order at once, and the peer
//     exchange: QuickFIX/C++'s ordermatch example (peer.go), built from
//     Debian's packages by scripts/ordermatch.sh, under PeerMix over FIX 4.2.
//   - Sweep: one of the above at rising rates until p99 passes a bound.
//
// The order mix (mix.go) is generated from a seed, per session, and can be
// written to a file and replayed. It knows nothing of the target's state:
// cancels and replaces name orders the session believes rest, and a
// "too late" reject for one that traded meanwhile is an answer, not an
// error.
package bench
