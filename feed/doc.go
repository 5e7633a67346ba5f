// Package feed is ringex's by-order market-data feed for machines: an
// ITCH-like stream of fixed-size binary messages, sent in UDP packets
// (MoldUDP64-like), with a TCP recovery service that retransmits any range
// and snapshots the books, all made from the journal.
//
// feed owns the wire format (one codec: format.go), the translation of
// matcher events into messages and their sequence numbers (Translator),
// the replay of a journal into the same messages (Replayer), the UDP
// publisher, the recovery service and its client, and the receiver's book
// (Receiver, Book). It refuses to know FIX, sessions, accounts or
// ClOrdIDs: the feed is anonymous, and names symbols by their ids (the
// config's order). It never writes the journal.
//
// # Sequence numbers are a function of the journal
//
// A Translator is given each command with the events it caused, in
// journal order, as the node's pipeline gives them (the order its
// publish stage hands them on: an order the risk stage refused reaches no
// engine and has none). It numbers every message from 1 at the feed's
// origin, and never starts again. The origin (Origin) is the journal's
// first record, or, for a journal that no longer begins at seq 1 (a
// standby that installed its primary's snapshot, old segments removed),
// the newest snapshot the node starts from. The session is the trading
// day: 1 at the journal's start (the snapshot's seq + 1 from a snapshot:
// above any session a feed numbered from an earlier origin gave by then,
// as each record begins at most one session and a snapshot's record
// none), one more after each end of day (KindEndOfDay); and one more at
// each session break: a run of lost-record markers (a checkpoint hash
// naming no checkpoint, which a node journals at the seqs of acknowledged
// records it lost: node/missing.go), and each such marker carrying an
// epoch, which a node journals where its term as primary begins when a
// predecessor may have published records this journal lacks (async
// replication, a primary that went on without its standby, a shard led
// through etcd). The feed cannot know how many messages the lost records
// made, so the seqs after them may repeat ones receivers had; the new
// session tells them apart: a (session, seq) names one message. So the
// feed is a pure function of the journal and its origin: replaying the
// journal from the origin (Replayer) gives every message again, byte for
// byte, which is how the recovery service answers, and why its answers
// are exact.
//
// # What the events become
//
//   - An order that comes to rest: Add (A), with what rests after it
//     traded on arrival. An order that trades in full, or expires (IOC,
//     FOK, market), or that self-trade prevention cancels on arrival,
//     never rests and has no Add.
//   - Each trade: Executed (E) of the resting order (its id, the lots,
//     the price), then Trade (P), the tape (the incoming order's side);
//     both carry the match number, the ExecID of the incoming order's
//     fill. An order executed down to nothing leaves the book.
//   - A cancel, a mass cancel, self-trade prevention's cancel of a
//     resting order, an end-of-day expiry: Delete (D).
//   - A replace that keeps the order's place (same price, quantity not
//     raised): Reduce (X) by the lots it took away (nothing when none).
//     A replace that loses the place (a new price, or more lots) and so
//     may trade: its trades as above, then Replace (U): the order, with
//     the same id, at its new price and leaves, at the back of its level;
//     or Delete when nothing is left to rest. Until then receivers keep
//     it where it was: books agree at the end of each command, not
//     inside one.
//   - System events (S): start of day (O) before the journal's first
//     command's messages and after each end of day; end of day (C) after
//     the day's expiries; records lost (L), the first message of the
//     session a session break begins. A session numbered from a snapshot
//     begins with its first command's messages, no system event. In
//     snapshots: snapshot start (S) and end (E).
//
// Rejects, status answers and checkpoints put nothing on the feed.
//
// # Byte layout
//
// Every integer is little-endian: the journal's and the command record's
// order, and the one the hosts that run and read ringex (x86-64, arm64)
// load natively, so a receiver decodes a field with one load. Network
// byte order would buy nothing but a swap per field on both ends.
//
//	message (72 bytes)
//	+------+------+------+-----+---------+---------+-------------+---------+
//	| type | side | code | 0   | session | seq     | journal seq | time ns |
//	| u8   | u8   | u8   | u8  | u32     | u64     | i64         | i64     |
//	+------+------+------+-----+---------+---------+-------------+---------+
//	0      1      2      3     4         8         16            24
//	+--------+-----+----------+-----+-------+-------+
//	| symbol | 0   | order id | qty | price | match |
//	| u32    | u32 | i64      | i64 | i64   | i64   |
//	+--------+-----+----------+-----+-------+-------+
//	32       36    40         48    56      64      72
//
//	  type   'S' system, 'A' add, 'E' executed, 'X' reduce, 'D' delete,
//	         'U' replace, 'P' trade
//	  side   'B' or 'S' (A, U: the order's; P: the incoming order's); 0 otherwise
//	  code   system events: 'O' start of day, 'C' end of day,
//	         'L' records lost, 'S' snapshot start, 'E' snapshot end;
//	         0 otherwise
//	  seq    the feed sequence, 1, 2, 3, ...; 0 in a snapshot
//	  journal seq, time ns: the command that caused the message (a
//	         snapshot's: the last command it includes)
//	  qty    lots: A what rests, E executed, X taken away, U what rests
//	         after the replace, P traded
//	  price  ticks: A, U the limit; E, P the trade price
//	  match  E, P: the match number; snapshot start and end: the seq
//	         that follows the state they show, where to resume
//
//	packet (24-byte header, then count messages)
//	+--------+---------+-----------+-------+--------------+-----+
//	| "RXF1" | session | first seq | count | message size | 0   |
//	| 4      | u32     | u64       | u16   | u16 = 72     | u32 |
//	+--------+---------+-----------+-------+--------------+-----+
//
// A packet holds up to 20 messages with consecutive seqs from first seq
// (1464 bytes, inside one Ethernet MTU), or seq-0 snapshot messages
// (first seq 0). A packet with count 0 is a heartbeat: first seq is the
// seq of the next message, so a receiver learns of messages it missed
// at the end of a burst. The session of a packet is that of its first
// message. Decoding checks the magic, sizes, reserved bytes, each type's
// required fields and each message's seq: bad bytes are an error that
// says what is wrong, never a panic (FuzzDecodePacket).
//
// # Where it runs
//
// In a node (config feed.enabled, node/feed.go) the publish stage hands
// each command and its events to a Translator right after the gateway
// gets them, never on a match goroutine, and flushes the packet being
// filled at the end of each batch; a node starting up numbers the feed
// by replaying its journal from the origin, and tells the publisher where
// the feed stands (Publisher.Resume; a standby, which sends nothing, when
// it is promoted). `ringex md serve` follows a
// journal up to its DURABLE mark instead: an audit tool, which puts on
// the feed what the journal holds, acknowledged or not. Either way a
// Publisher packs messages (Publish, Flush: no allocation) and hands
// whole packets to its own sender goroutine through a bounded queue; a
// packet that finds the queue full is dropped and counted (Dropped), so
// a slow or absent receiver never holds the exchange back, and receivers
// recover what they missed. The sender writes each packet to every
// address in PublisherConfig.Send (unicast, or a multicast group where
// the host routes one: TestMulticastWhereTheHostAllows) and to every
// receiver that joined through the recovery service, and sends a
// heartbeat after HeartbeatMs of silence, from the start: a receiver that
// missed the last messages before a restart learns of them at once.
//
// # Recovery service (TCP)
//
// A request is 16 bytes: kind ('R' retransmit, 'S' snapshot, 'J' join),
// 3 zero bytes (others are refused), a u32 (R: count, at most
// RetransmitMax; J: a UDP port), a u64 (R: the first seq; with count,
// not past seq 2^64-1). Each answer is frames of a u16 length and a
// packet as above, ended by a packet with count 0 whose first seq is
// the seq after the answer: for R, from+count, or less when the journal
// ends first; for S, where to resume. A refused request is answered by
// one frame "ERR " and the reason. Join sends the UDP feed to the
// client's IP at that port until the connection closes: one join per
// connection, JoinMax in all; more are refused.
//
// A node's service serves only records the node has published
// (ServerConfig.Published: the last journal seq its publish stage passed,
// the same point the live feed is sent from), never the journal's
// durable records past it: a sync primary waiting for its standby, or one
// whose lease guard ran out, holds durable records no broker was told
// of, and a lost term sets them aside; a trade of them on the feed would
// never have happened. A retransmission past that bound gets the
// messages up to it and an end seq below what it asked ("not yet": ask
// again), a snapshot resumes at most there. A standby's service refuses
// retransmissions and snapshots ("ERR" naming the standby): its journal
// holds what its primary shipped, not what that primary acknowledged, and
// receivers recover from the primary, whose UDP feed they get.
// `ringex md serve` has no such bound: it serves to the DURABLE mark.
//
// The service follows the journal with its own Replayer (journal.ScanFrom
// beside the live journal, hot and archived segments alike: each pass
// reads on from where the last ended, into engines it keeps), on its own
// goroutine every ServerConfig.FollowEvery (1 s) whether or not anyone
// asks, and up to Published also on a standby, so that a record it has
// passed may leave the journal (hot retention, then the archive moved
// away) and it still answers snapshots and kept ranges, at once after a
// promotion too. It keeps the last RetainMax messages for retransmission
// (an answer copies its range out and writes it without holding them),
// and replays the journal from the origin, on the requesting connection's
// goroutine, one replay at a time, for an older range, reading archived
// segments where retention removed the hot ones, so the answer is exact;
// when neither holds the records after the origin any more, such a range
// is refused ("ERR", naming the oldest seq it holds): take a snapshot.
// Each write to a client has WriteTimeout: one that stops reading
// loses its connection and holds back no other client. A snapshot is
// the matcher's own books (matcher.Engine.Resting) after a whole
// record, so a receiver that applies it and then the stream from its
// resume seq holds the exchange's book after every command
// (TestBookFromFeedEqualsMatchersAtEveryStep).
//
// # Receivers
//
// Receiver applies packets to a Book: snapshot first, then messages in
// seq order; a duplicate is ignored; a gap, seen from a later message or
// a heartbeat, is filled by retransmission, or by a new snapshot when it
// is longer than SnapshotOver. A later session is taken in order only
// from its first message (start of day, records lost); any other message
// of it, or a packet of it at a seq the receiver had, means records were
// lost under the receiver's book: it takes a new snapshot. ReadFrom ends
// with ErrFeedLost when the recovery connection closes (a join lasts as
// long as it) or the feed is silent past SilenceMax; Rejoin goes on over
// a new connection from where the book stands, by retransmission in the
// same session, else by a snapshot. `ringex md` is a receiver, and joins
// again when the feed is lost.
package feed
