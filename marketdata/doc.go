// Package marketdata is the exchange's market data over FIX: every broker
// session may ask for the books, aggregated by price, and the trades of any
// symbol, as a snapshot or as a subscription that streams every change.
//
// It owns a copy of the books rebuilt from the matcher's events, the
// subscriptions, and the FIX market-data messages: MarketDataRequest (V)
// in, MarketDataSnapshotFullRefresh (W), MarketDataIncrementalRefresh (X)
// and MarketDataRequestReject (Y) out. It refuses to know how commands are
// sequenced, journaled or matched: it reads the engines once, at start
// (matcher.Engine.Resting), and the events after that. It never holds
// up the pipeline for a subscriber.
//
// # Where it runs
//
// Three kinds of goroutine touch a Feed, each its own part:
//
//   - The publish stage calls Apply with every event, after the command
//     that caused it is durable and matched, and EndBatch once per batch,
//     after the batch's reports are queued. Apply keeps the tap: every
//     resting order by id and every level's quantity (hot path: two map
//     operations an event, no lock, no allocation once the maps have
//     grown; BenchmarkPublishStage). EndBatch hands the market-data
//     goroutine the quantity now at each level the batch touched, and the
//     batch's trades, under one lock, and wakes it.
//   - The market-data goroutine makes a pass per wake-up over everything
//     handed to it since its last: it updates its own copy of each book
//     (levels sorted, best first) and sends each subscription what changed
//     in its view. A goroutine that falls behind conflates: a pass sees
//     each level once, at its latest quantity, however many batches
//     touched it. Trades are not conflated unless more than
//     Options.MaxTradesPending wait, which is logged.
//   - A session's reader goroutine calls Request and SessionEnded. A
//     request takes the same lock as a pass, so its snapshot is the book
//     as of a pass boundary and every X that follows it applies to it.
//
// Nothing here waits on a broker: Send queues a message and returns
// (package fix). A subscriber with more than Options.BehindBytes (1 MiB)
// waiting for its socket is conflated: it is sent nothing until half of
// that has drained, then a snapshot (W) of each of its symbols and updates
// again, so market data alone never makes a broker's session a slow
// consumer (fix.Config.OutQueueMaxBytes, 8 MiB), which would disconnect
// it and cancel its Day orders. A session that is not connected has no
// subscriptions: they end with the connection.
//
// # Messages
//
// MarketDataRequest (V), FIX 4.2 and 4.4. SubscriptionRequestType 0
// (snapshot: one W per symbol), 1 (subscribe: one W per symbol, then
// updates until unsubscribed or the session ends) or 2 (unsubscribe, by
// MDReqID; nothing is sent back). MarketDepth 0 (the whole book), 1 (the
// top) or N up to MaxDepth. MDUpdateType 1 (incremental, the default) or 0
// (a W per symbol at every change). MDEntryType 0 bid, 1 offer, 2 trade.
// Many symbols per request (NoRelatedSym; one named twice counts once),
// many requests per session, each with its own MDReqID.
//
// W carries MDReqID, Symbol, RptSeq and the entries asked for: the bids
// best first, the offers best first (each MDEntryPx, MDEntrySize: the
// level's resting quantity), and the last trade (its size when this node
// saw it). X carries MDReqID and, per entry, MDUpdateAction (0 new, 1
// change, 2 delete), MDEntryType, Symbol, MDEntryPx, MDEntrySize (not on a
// delete) and RptSeq; a level is named by its price. One X per
// subscription per pass carries all its symbols' entries, up to 256 a
// message. A trade is an entry with action 0 and type 2, once per trade,
// at the resting order's price.
//
// RptSeq(83) counts a symbol's updates since this node started: each
// trade and each change of a level is one, whatever its entry type (FIX's
// RptSeq is per instrument). A whole-book subscriber to all three entry
// types sees every one, in order: a gap means lost updates. One that asked
// for some entry types sees only theirs, each with the symbol's RptSeq: a
// gap there may be updates of the types it did not ask for. A view of the
// first N levels sees only what changes inside it, each entry with the
// RptSeq of the symbol's last update in that pass. W carries the RptSeq it
// is current to. RptSeq sits in the body of W and in each entry of X, as
// FIX 5.0 has it; FIX 4.2 and 4.4 dictionaries need the tag added there.
//
// Y carries MDReqID, MDReqRejReason and Text: 0 an unknown symbol (the
// whole request is refused), 1 a duplicate MDReqID (a subscription with it
// is active in the session), 2 more than MaxSubsPerSession
// subscriptions, 4 a SubscriptionRequestType other than 0-2, 5 a
// MarketDepth beyond MaxDepth, 6 an MDUpdateType other than 0 or 1, 7
// AggregatedBook N (books are aggregated by price only), 8 an MDEntryType
// other than 0-2, or none. An unsubscribe naming no active subscription
// gets a Y with Text only. A malformed request (a missing required field,
// a bad group count) is the session layer's: a session Reject.
//
// # Sequence numbers, resend and delivery
//
// Market data takes the session's MsgSeqNums, but a ResendRequest gets a
// SequenceReset-GapFill over it (NotResent, fix.Config.NotResent), and the
// session's store keeps a Heartbeat in its place, which holds the
// MsgSeqNum without the bytes: market data is stale once missed, so a
// broker that lost some subscribes again for a fresh snapshot, as most
// venues have it, and a store is not filled with books nobody will ask
// for again. It carries no delivery mark, so it never counts in the report
// delivery the gateway keeps for failover, and a promoted standby resends
// none of it.
//
// # Start, restart, failover
//
// A node builds its Feed after replaying its journal, from the engines'
// resting orders and last trade prices, before the pipeline starts; a
// standby feeds its own from its publish stage, so a promoted standby
// serves market data at once. Subscriptions and RptSeqs do not survive a
// restart or a failover: brokers log on again and subscribe again.
//
// Not kept: opening, closing, high and low prices (they would have to be
// rebuilt from the journal at every start), and books by order over FIX.
// A market-data-only session (gateway.Session.MarketDataOnly) is the
// gateway's: it hands such a session's V here and refuses its orders.
//
// # Invariant
//
// After every pass, each book the goroutine holds is the matcher's book as
// of the last batch handed to it, level for level, and a subscriber that
// applies its W and then every X it was sent holds that book as its view
// shows it (TestBookFromSnapshotAndIncrementalsEqualsMatcher, over random
// order streams cut into random batches).
package marketdata
