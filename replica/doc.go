// Package replica keeps a standby ringex process one step behind the
// primary: it ships the primary's journal records to the standby over TCP,
// has the standby journal them (one fsync per frame) and acknowledge the
// highest durable sequence, catches a late or returning standby up from the
// primary's journal (or from a snapshot, when the journal no longer reaches
// back far enough), and keeps the epochs that tell one primary term from the
// next.
//
// replica owns the wire format, the primary's Sender, the standby's
// Receiver, the epoch history file, the cutting of a diverged journal and
// the installing of a snapshot sent to a standby. It
// refuses to know what a record means: records are the journal's opaque
// bytes, and applying them (matching) is the caller's callback. It imports
// journal only.
//
// # Frames
//
// All integers are little-endian. Every message in both directions is one
// frame:
//
//	frame (20 bytes + body)
//	+--------+--------+------+---------+----------+-------+------------------+
//	| crc32c | length | type | version | reserved | epoch | body (length)    |
//	| u32    | u32    | u8   | u8      | 2 bytes  | u64   |                  |
//	+--------+--------+------+---------+----------+-------+------------------+
//	  crc32c (Castagnoli) covers everything after itself; length is the
//	  body's; version is the sender's ProtocolVersion (1; 0 from a ringex
//	  that predates it); epoch is the sender's current epoch (0 for a
//	  standby that has never followed anyone). This header is the same in
//	  every version: only what follows it may change
//
//	hello     standby → primary, first frame of a connection
//	          | last durable seq u64 | n u32 | n × (epoch u64, first seq u64, term u64) | name |
//	          name: the standby's name (UTF-8, the rest of the body, at
//	          most 256 bytes; ReceiverOptions.Name); empty for the
//	          nameless standby of a pair, and from a ringex that predates it
//	welcome   primary → standby, the answer to hello
//	          | keep u64 | n u32 | n × (epoch u64, first seq u64, term u64) |
//	          keep: the standby's journal agrees with the primary's up to
//	          this seq; records after it must be discarded before following
//	records   primary → standby
//	          | first seq u64 | count u32 | shipped u64 | count × (len u32, bytes) |
//	          shipped: the primary's last shipped seq when it sent the frame
//	ack       standby → primary: | highest durable seq u64 |
//	heartbeat both ways: | last seq u64 | (primary: shipped, standby: durable)
//	          primary → standby adds | published u64 |: the last seq whose
//	          events the primary's publish stage handed to its FIX sessions
//	          (SenderOptions.Published, Receiver.PrimaryPublished); a reader
//	          takes an 8-byte heartbeat as one without it. Then
//	          | count u32 | count × delivered u64 |: by account (from 0),
//	          the mark up to which that broker's TCP stack has acknowledged
//	          every report (SenderOptions.Delivered, gateway's delivery
//	          marks; Receiver.PrimaryDelivered); count 0 when the primary
//	          has no gateway. The primary
//	          sends one every heartbeat interval even while records stream
//	refuse    primary → standby or prober: | code u32 | reason (UTF-8) |,
//	          after which the primary closes the connection. The code
//	          (RefuseCode) is what the standby acts on; the reason is for
//	          the operator. RefuseStale (1, the standby knows a later epoch)
//	          and RefuseVersion (3) are final: the standby stops
//	          (RefusedError.Final). RefuseNoSnapshot (2), RefuseFull (4:
//	          MaxStandbys are served already), and a code the
//	          standby does not know, may heal: it asks again, 1 s later
//	          doubling to RefusedRetryMaxMs
//	snapshot  primary → standby, after welcome, before any records frame,
//	          for a standby the journal no longer reaches; one or more:
//	          | seq u64 | hash u64 | total u64 | offset u64 | chunk |
//	          the state after record seq (the bytes of the snapshot file's
//	          data, opaque here) with its state hash; total is the state's
//	          length, offset where this chunk begins in it; chunks come in
//	          order, each of at most 4 MiB, so that a frame stays under
//	          MaxFrameBytes; records frames from seq+1 follow
//	probe     anyone → primary, the only frame of its connection: || (epoch
//	          in the header: the prober's, for the primary's log)
//	answer    primary → prober, the answer to probe, after which the
//	          primary closes the connection:
//	          | last shipped seq u64 | n u32 | n × (epoch u64, first seq u64, term u64) | published u64 |
//	          published: the last seq its publish stage passed (what it has
//	          acknowledged); a reader takes an answer that ends after the
//	          history as one from before the field (published unknown)
//
// A connection is nobody's standby until its first frame: a hello makes it
// a standby, a probe is answered and closed without touching any
// standby's connection or acknowledgements (Probe). A primary serves up to
// MaxStandbys standbys at once, told apart by the name in their hello: a
// hello of a name it serves (or, nameless, while it serves the nameless
// one) replaces that connection, the standby reconnecting; one more name
// is refused (RefuseFull).
//
// Both sides check every frame's version before anything else of it. A
// primary answers a first frame of another version (hello or probe) with a
// refuse coded RefuseVersion naming both versions; a standby or prober that
// reads a frame of another version stops with a *VersionError naming both.
// Frames of two versions are never mixed on a connection, and there is no
// negotiation: both nodes of a pair run the same ProtocolVersion.
//
// A frame body is at most MaxFrameBytes. A bad CRC, an unknown type, a
// length over the bound, a records frame whose first seq is not the next
// expected one or a snapshot chunk out of order ends the connection with an error naming what was wrong;
// the standby reconnects and says again where it stands, so nothing is
// skipped and nothing applied twice.
//
// # The stream
//
// The primary's replicate handler hands each ring batch to Sender.Ship,
// which copies the records into a bounded window of recent records shared
// by every standby; each standby's connection has its own writer, cursor,
// catch-up and snapshot, so a slow standby delays no other. The writer
// sends everything in the window from its standby's cursor as one records
// frame (so one ring batch is one frame when the
// standby keeps up, and several coalesce when it does not). A standby that
// connects with a lower last seq than the window holds is first streamed
// what it lacks from the primary's journal (journal.Read: plain and zstd
// segments alike), in frames of up to catchUpFrameRecords records, then from
// the window: the cursor moves one seq at a time over one source or the
// other, so there is no gap and no duplicate.
//
// A standby further behind than the primary's journal keeps (its oldest hot
// and archived segments were removed, so the journal begins after the
// standby's next seq) is sent a snapshot instead, at seq S, one beside the
// primary's journal that the journal holds S+1 after: the newest valid one
// at or before SenderOptions.RebuildFrom (the seq after which some broker
// may lack reports), so that the standby's own journal, once promoted,
// rebuilds them; the oldest such one, logged, when none is that old
// (journal.OpenSnapshotToReplay); then records from S+1 as above. When there is no
// such snapshot the standby is refused, with the reason (seed it with a
// copy of the primary's data folder, or wait for a checkpoint); it keeps
// asking, logging each refusal, and is sent the snapshot once the primary
// has checkpointed. The
// standby's journal ends before S and lacks the records up to S, so it
// cannot be continued: the Receiver stops with a *BehindError naming the
// snapshot file, and InstallSnapshot sets the old journal folder aside
// (<journal>.behind-<unix ns>) and puts in its place an empty journal that
// begins at S+1 with the snapshot beside it. The standby then starts again
// as any node does (restore the newest snapshot, replay what follows) and
// says it stands at S: the primary streams from S+1.
//
// Neither side holds a snapshot whole. The primary verifies the file
// (journal.OpenLatestSnapshot), keeps it open and reads each chunk just
// before it sends it: snapshot files are written once under a temporary
// name and renamed, so the open file cannot change, and a checkpoint that
// prunes it meanwhile does not cut it short. The standby writes each chunk
// as it arrives to <SnapshotDir>/snapshot.incoming in the snapshot file
// format, fsyncs it after the last, and InstallSnapshot verifies it whole
// (CRC, seq, state hash) and renames it into the new journal folder; a
// snapshot cut short is removed. The state hash is proven where every
// snapshot's is: the restarted standby restores it and compares.
//
// Sync mode: the replicate handler calls Sender.Await for the batch's last
// seq and returns only when it is acknowledged, so the stages after the
// first see a batch only when the journal has fsynced it and the standbys
// Await counts have: by default (a pair) the most advanced standby; with a
// sync set (Sender.SetSync, a shard's, kept in etcd by the caller) every
// standby named in it, by the name of its hello. Async mode: Await is not called; a standby may lag, and a primary
// that dies loses what the standby had not received.
//
// # Epochs
//
// Every primary term has an epoch number, carried in every frame. The
// history (which epoch began at which seq) lives in <dataDir>/epoch beside
// the journal folder (History). A primary starts a new epoch each time it
// starts or is promoted, at the seq after its last durable record. A
// standby's hello carries its history; the primary compares the two and
// answers with keep, the last seq up to which both journals are the same
// (Kafka's leader-epoch rule): the first entry where the histories differ
// starts where the logs may diverge. Each entry also carries a random term
// id drawn when the term began: two nodes both started as primary from the
// same history pick the same epoch number, often at the same seq, and only
// the term id tells their histories apart (Epoch). A standby whose history
// has an epoch the primary lacks is newer than the primary: it is refused,
// and the stale primary is the one that must step down.
//
// A node about to start as primary first probes its peer's replication
// port (Probe): an old primary that comes back after a failover finds its
// successor serving at a higher epoch and follows it as standby instead of
// beginning a term of its own; its hello then tells it what to discard.
//
// That probe alone leaves a window: an old primary restarted while its
// standby has not yet promoted itself finds nothing serving and begins a
// term, and the standby then begins another. So a primary with a peer and
// no standby probes the peer every heartbeat, and when a primary answers
// there, both decide with StepsDown, on the other's answer, which one
// yields: never one that acknowledged, in its current term, a record the
// other lacks (CanYield); of two that both may, the one whose term ranks
// lower (Epoch.Outranks). The one that yields stops with a StepDownError
// and starts again as the other's standby, discarding what the other
// lacks. In sync mode with onStandbyLost "wait", the only mode with
// automatic failover, the restarted primary acknowledges nothing without a
// standby, so it is the one that yields, about a heartbeat after the two
// can reach each other: its brokers are disconnected instead of waiting
// forever, and two primaries never both acknowledge.
//
// What remains is not fenced: where a primary may acknowledge alone (mode
// async, onStandbyLost "async"), two primaries that cannot reach each other
// both acknowledge, and once they can, each holds acknowledged records the
// other lacks (SplitBrain): neither yields, both say so, and an operator
// must stop one. Nothing stops a primary that is cut off from its peer
// from acknowledging alone in those modes; that needs a third party.
//
// # Fencing tokens
//
// In a shard led through etcd (the caller's package cluster) the third
// party decides, and neither Probe nor StepsDown is used. Each term's
// epoch number is its fencing token, which only grows (History.BeginAt),
// so the epoch field of every frame carries the token and the layout is
// unchanged. The Receiver hands the epoch of the welcome and of every
// frame to ReceiverOptions.Admit before anything of the frame is used;
// the caller's fence refuses a token lower than the newest it has seen,
// and the connection ends with that error: a primary whose term has ended
// lands nothing in this standby's journal, even on a connection opened
// before the next term began.
package replica
