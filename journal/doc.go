// Package journal is ringex's source of truth: a segmented, append-only log
// of byte records with contiguous sequences, written in batches with one
// write and one fsync each (group commit), verified by CRC-32C, recovered
// after a crash, compressed into cold storage, with snapshot files beside it.
//
// journal owns the bytes on disk: framing, checksums, group commit, recovery,
// segment rolling, archiving and retention, and the snapshot files. It refuses
// to know what a record means: it never decodes one, and it does not know
// orders, symbols or the matcher. Callers give it sequences and bytes.
//
// # Files
//
//	<Dir>/00000000000000000001.seg          hot segments, named by first seq
//	<Dir>/archive/00000000000000000001.seg.zst  sealed segments, zstd
//	<Dir>/snap-00000000000000004096.snap     snapshots, named by seq
//	<Dir>/LOCK                               one writer per folder
//	<Dir>/DURABLE                            the last seq made durable (durable.go)
//
// # Byte layout
//
// All integers are little-endian. A segment is a header followed by frames:
//
//	segment header (24 bytes)
//	+--------+---------+-------+-------------+----------+--------+
//	| "RGXJ" | version | flags | first seq   | reserved | crc32c |
//	| 4      | u16 = 1 | u16   | u64         | u32      | u32    |
//	+--------+---------+-------+-------------+----------+--------+
//	  crc32c covers bytes 0..19 of the header
//
//	frame (16 bytes + payload)
//	+--------+--------+---------+------------------------+
//	| crc32c | length | seq     | payload (length bytes) |
//	| u32    | u32    | u64     |                        |
//	+--------+--------+---------+------------------------+
//	  crc32c (Castagnoli) covers length, seq and payload
//
// The first frame's seq is the header's first seq, which is also in the file
// name; each later frame's seq is the previous one plus one, and each segment
// starts at the seq after the previous segment's last. A batch (one Commit) is
// one write and never spans two segments; a segment rolls before a batch that
// would take it past Options.SegmentBytes. An archived segment is the plain
// segment's bytes, whole, as one zstd stream: it is read and verified by the
// same code.
//
// The active segment is zero-filled ahead of the writer (journal/zero.go says
// why: an fdatasync that need not commit a new file size is about a third
// faster), so its records are followed by zeros. A frame header of sixteen
// zero bytes followed only by zeros to the end of the file ends a segment
// cleanly; followed by anything else it is damage, judged like any other.
// A segment is cut at its last record when it is sealed, so sealed and
// archived segments hold no zeros.
//
// # Damage
//
// Two kinds of damage are told apart, as in etcd's and Pebble's logs:
//
//   - A torn tail: damage in the last hot segment after which no whole frame
//     with a valid CRC and a later seq can be found (a short header, a short
//     record, a zeroed or garbled end), past the last record a Commit made
//     durable (DURABLE, the newest snapshot or the caller's
//     Options.Reported says which: a journal that ends below it lost
//     durable records, and Open refuses that as corruption, as it refuses a
//     damaged DURABLE; DurableSeq lets a reader hold the journal to it too).
//     This is what a crash mid-write leaves.
//     Open truncates the segment at the last whole record and logs the bytes
//     dropped; Read stops there without error. A damaged final record looks
//     exactly like a torn write and is treated as one.
//   - Corruption: anything else — a bad CRC or header in a sealed segment, a
//     bad CRC in the last segment with a valid record after it, a frame with
//     a valid CRC but the wrong seq, a gap between segments, a read error or
//     a damaged zstd stream. It is a *CorruptError naming the file and the
//     offset. Open refuses to start on it unless Options.StartFromLastGood
//     is set, in which case the damaged segment is cut at its last good
//     record (a copy and every later segment go to a quarantine folder) and
//     the log says so loudly. Nothing is ever skipped silently.
//
// A hot segment missing between two others is not a gap when the archive
// holds it: Read reads the archived copy in its place, and Open verifies
// that copy whole and does the same (and logs it). The archive never holds
// the active segment or anything after it; Open refuses a folder where it
// does, and StartFromLastGood moves such copies to the quarantine folder.
//
// Readers that must account for every byte (`ringex replay`) use Segments,
// Scan (Read with each record's file and offset, and the torn tail it
// stopped at) and CheckFile (one copy verified whole, such as the archived
// copy of a segment that is also hot, which Read passes over). A reader that
// follows a live journal (the feed's recovery service) uses ScanFrom: each
// read starts where the last one ended (Record.At) in the active segment,
// so it reads each record once, not the active segment from its start again.
//
// The rule errs towards refusing. A bit flip in the very last record is taken
// for a torn write (that record is dropped, and logged) only when DURABLE
// does not show it was durable (SyncNone writes no mark). After a power loss
// under SyncInterval or SyncNone, where the disk may keep later pages of the
// unsynced tail and lose earlier ones, a hole followed by whole records reads
// as corruption, and an operator decides (StartFromLastGood). The crash test
// kills a writer with SIGKILL and adds torn tails; it cannot pull the power.
//
// Open verifies every hot segment (CRC and continuity) before it accepts an
// append, logging progress every few seconds and a summary line; keep the hot
// folder bounded with HotRetentionMs. Read verifies every record it passes,
// from the start of the segment that holds fromSeq (ScanFrom: from where the
// read before it, which verified what came before, ended). A damaged snapshot is
// skipped (and logged) in favour of the one before; WriteSnapshot keeps the
// newest SnapshotsKept and, in a journal that begins after seq 1, its
// anchor: the oldest valid snapshot the journal holds the record after, so that
// the state after any seq the journal holds can still be replayed
// (ReplayableFrom, OpenSnapshotToReplay). A snapshot too large to hold whole is read with
// OpenLatestSnapshot (verified in blocks, then read at offsets from the
// open file) and written with CreateSnapshot (piece by piece, fsynced by
// Finish, put in place by MoveSnapshot).
//
// # Writing
//
// The journal stage calls Append for each record of a ring batch and Commit
// once per batch, on one goroutine. Append copies into a batch buffer; Commit
// does one write(2) of the whole batch and, per Options.Sync, one fdatasync:
//
//   - SyncBatch (default): every Commit fsyncs.
//   - SyncInterval: fsyncs at least SyncIntervalMs apart; Commit waits for
//     the fsync that covers it, and batches that pile up meanwhile share it.
//   - SyncNone: no fsync (benchmarks only; a machine crash loses
//     acknowledged records; a process crash does not).
//
// A failed write or fsync fails the journal for good: Commit returns the
// error, LastSeq stays at the last durable record, and every later call
// returns the same error. It is never retried: after a failed fsync the page
// cache may have dropped the dirty pages, so a retry that succeeds proves
// nothing. The same holds when the files are gone: after each fsync,
// Commit fstats the active segment and the folder (held open), and a link
// count of 0 (the folder deleted while running) fails the journal before
// the batch counts as durable. A segment rolls (create, one extra fsync of
// the folder) before a batch that would take it past SegmentBytes; the
// outgoing segment's link count is checked first, so one deleted since the
// last Commit fails the journal instead of being sealed.
//
// # Cold storage and retention
//
// With Options.Archive, a goroutine compresses each sealed segment with zstd
// (klauspost/compress, SpeedBetterCompression, encoder and decoder
// concurrency 1, so it uses at most one core) into <Dir>/archive: it verifies
// the plain segment as it reads it (a damaged one is logged and never
// archived), writes a .tmp file, fsyncs it, reads it back and verifies it,
// renames it into place and fsyncs the folder. zstd's own checksum is off:
// every byte of the decompressed stream is under a record's or the header's
// CRC-32C already. With HotRetentionMs, a hot segment is removed once it has
// been archived, all its records are at or before the newest snapshot's seq,
// and it was last written longer ago than that; the active segment and
// anything after an unarchived segment always stay. The archive is never
// pruned by the journal.
//
// docs/performance.md has the measured figures: commit rates and latency
// with and without fsync, read and verify rates, the archive's ratio and
// speed.
package journal
