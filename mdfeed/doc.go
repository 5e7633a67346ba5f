// Package mdfeed is the by-order binary market-data feed's message format
// and its two ends that need no network: the generator, which turns the
// matcher's events, command by command, into messages, and the book a
// receiver rebuilds from them, order by order in time priority.
//
// It owns the format (drawn below) and what each message means. It
// refuses to know where events come from (the publish stage, or a replay
// of the journal: the generator is a pure function of the commands and
// their events, so any past range can be made again exactly) and how
// messages travel. Not here yet: the UDP publisher, the TCP recovery
// service (a range of messages again, a snapshot of the books) and the
// `ringex md` subcommand; the packet header below is what they will
// share.
//
// # Messages
//
// Every message is MsgSize (48) bytes, little-endian, as the journal's
// records are:
//
//	+------+------+-----+--------+---------+---------+-------+-------+--------+
//	| type | side | pad | symbol | cmd seq | orderID | price | qty   | timeNs |
//	| u8   | u8   | u16 | u32    | u64     | u64     | i64   | i64   | i64    |
//	+------+------+-----+--------+---------+---------+-------+-------+--------+
//	0      1      2     4        8         16        24      32      40       48
//
// cmd seq is the journal sequence of the command that caused the message,
// timeNs its ingress time: a message says where in the journal it comes
// from. side is 1 buy, 2 sell; price is in ticks, qty in lots.
//
//	'A' add:      order orderID rests at price with qty, at the back of its level
//	'E' executed: qty of resting order orderID traded at price (its own); an
//	              order executed to nothing leaves the book. Each trade is one E,
//	              on its resting side.
//	'X' reduce:   orderID's qty goes down by qty, keeping its place (a replace
//	              that lowers the quantity at the same price)
//	'D' delete:   orderID leaves the book (cancel, expiry, self-trade prevention,
//	              or a replace that took it out and did not let it rest again)
//	'U' replace:  orderID moves to price with qty, at the back of that level
//	              (a replace that lost time priority and rests again)
//	'S' system:   qty is the event: 'C' the trading day ended (before its
//	              expiries, which are D)
//
// Fields a type does not use are zero. Within one command the messages
// come in the order the matcher's events do, except that an order that
// arrives (or is replaced) and then rests is added (A, U) after its trades:
// between two commands the book a receiver holds is the matcher's.
//
// # Packets
//
// The transport will carry messages in packets: a 20-byte header, then
// count messages.
//
//	+---------+-----------+-------+-----+
//	| session | first seq | count | pad |
//	| u64     | u64       | u16   | u16 |
//	+---------+-----------+-------+-----+
//	0         8           16      18    20
//
// A session numbers its messages from 1; a receiver that sees a first seq
// beyond the one it expects has a gap, and asks the recovery service for
// the range, or for a snapshot and the seq to go on from.
package mdfeed
