// Package audit is `ringex replay`: it answers, from a journal alone and on
// a machine that never ran the exchange, what happened to an order, what a
// book looked like at a moment, and whether the exchange did exactly what
// its journal says.
//
// audit owns reading a journal offline and replaying it into the matcher:
// verification (CRC and continuity through journal.Scan, of every copy the
// journal keeps, every checkpoint's
// state hash, every snapshot, and an end at or after the journal's DURABLE
// mark, journal.DurableSeq, as the node requires to start), the audit trail (every command and every
// event it caused), the depth of book at a seq or a time, the diff of two
// journals, and the command line of `ringex replay`. It refuses to write:
// no journal, snapshot or config file is ever modified. It knows nothing of
// FIX sessions or the network.
//
// # Using it
//
//	ringex replay verify --journal data/journal
//	ringex replay trail  --journal data/journal --broker BROKER02 --from-time 10:30:00 --to-time 10:35:00 --format json
//	ringex replay trail  --journal data/journal --order 81234
//	ringex replay book   --journal data/journal --symbol AAPL --at 10:31:02
//	ringex replay diff   primary/journal standby/journal
//
// `ringex replay --help` explains every verb and flag. Exit status: 0 when
// everything holds, 1 for a failed check or a damaged journal, 2 for a usage
// error. Damage is never skipped: a journal error names the file and the
// byte offset (in the uncompressed segment) and, at a frame boundary, the
// seq. A torn tail (bytes after the last whole record of the last segment,
// what a crash mid-write leaves) is a problem for verify unless
// --allow-torn-tail; the other verbs, like the node on start, read up to
// the last whole record.
//
// # Same answers as the exchange
//
// Replay builds its engines exactly as node does: one matcher.Engine per
// match partition, partition = symbol id % P, each with the matcher config
// node builds (symbol specs with defaults only; see Venue.EngineConfig, which
// is node.EngineConfig itself). P is the config's match.partitions unless
// --partitions says otherwise; snapshots and checkpoint-hash records carry
// their own P, and verify replays once more for each other P it meets, so a
// node restarted with another partition count still verifies. --config must
// list the symbols in the order the exchange used (ids are positions).
// Brokers are named by the journal: the node binds each account to its
// session's CompID in a journaled record, and snapshots carry the
// bindings (accounts.go), so no config is needed for them; the config's
// session list names only the accounts of a journal written before
// bindings existed.
//
// Checkpoints (node/checkpoint.go) are verified by recomputing: at each
// KindCheckpoint record every partition's Engine.Hash is taken and combined
// with matcher.CombineHashes, and the later KindCheckpointHash record must
// carry the same value; every snapshot file must restore, hash to its header
// and equal, byte for byte, the replayed state at its seq
// (TestVerifyALiveNodesCheckpoints runs a node that takes them under load).
//
// --from-snapshot starts from the newest sound snapshot (the node's: the P
// partitions' Engine.Snapshot bytes, framed [u32 P][u32 len, bytes]...) that
// precedes what is asked for; TestFromSnapshotGivesTheSameAnswers shows the
// trail, the books and verify agree with a replay from seq 1.
//
// A book "at TIME" is the state after every record before the first one
// stamped later than TIME; ingress times from several gateway writers may
// step back by microseconds, and the summary of verify counts such steps.
//
// The book is read out of Engine.Snapshot by the matcher's own decoder
// (matcher.SnapshotBook), since the matcher's view of resting orders
// (Engine.Resting) leaves out their ClOrdIDs, cum and notional;
// TestBookShowsTimePriority checks it against time priority rebuilt from
// events alone.
//
// # Proof
//
// TestTrailReproducesLiveExecutionReports starts an exchange in-process,
// sends a seeded random load over real FIX sessions (4 brokers, 3 symbols,
// 600 orders, cancels and replaces that rest, cross, trade, replace, expire
// and get rejected), captures every ExecutionReport and OrderCancelReject,
// and compares them, session by session and field by field (MsgType,
// OrderID, ExecID, ExecType, OrdStatus, ClOrdID, OrigClOrdID, Symbol, Side,
// OrderQty, Price, LastQty, LastPx, CumQty, LeavesQty, AvgPx, TimeInForce,
// TransactTime), with the JSON trail replayed from the journal.
//
// # Speed
//
// Replay reads with journal.Scan (framing and CRC-32C), decodes, and applies
// each command to its partition's engine; verify adds its summary and the
// checkpoint and snapshot checks. With more cores than partitions the
// partitions replay on their own goroutines behind a reader, as the node
// matches; otherwise on one goroutine, which costs less CPU.
//
// BenchmarkReplay, BenchmarkVerify and BenchmarkTrail measure each step;
// docs/performance.md has the figures.
package audit
