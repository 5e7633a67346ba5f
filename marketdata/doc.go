// Package marketdata is the exchange's market data over FIX: every broker
// session may ask for the books, aggregated by price (or by order, where
// the session is configured so), the trades and the day's open, close,
// high and low of any symbol, as a snapshot or as a subscription that
// streams every change.
//
// It owns a copy of the books rebuilt from the matcher's events, the day's
// prices, the subscriptions, and the FIX market-data messages: MarketDataRequest (V)
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
//     that caused it is durable and matched, EndOfDay at a KindEndOfDay
//     after its expiries, and EndBatch once per batch, after the batch's
//     reports are queued. Apply keeps the tap: every resting order by id,
//     with its place in time priority, every level's quantity, and each
//     symbol's day prices (hot path: two map operations an event, no lock,
//     no allocation once the maps have grown; BenchmarkPublishStage).
//     EndBatch hands the market-data goroutine the quantity now at each
//     level the batch touched, the batch's trades, the day prices that
//     changed and, where books by order are kept, each order's state now,
//     under one lock, and wakes it. A trade that finds no room (below)
//     marks its symbol instead, which keeps its last such trade.
//   - The market-data goroutine makes a pass per wake-up over everything
//     handed to it since its last: it updates its own copy of each book
//     (levels sorted, best first; by order, each price's orders in time
//     priority) and sends each subscription what changed in its view. A
//     goroutine that falls behind conflates: a pass sees each level, and
//     each order, once, at its latest state, however many batches touched
//     it. Trades are not conflated unless more than
//     Options.MaxTradesPending wait, which is logged: the pass then takes
//     each marked symbol's last trade as its own and, after its updates,
//     sends each incremental subscription to the symbol's trades a
//     snapshot (W). The day prices are kept on the publish stage, so a
//     conflated trade never changes them.
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
// (a W per symbol at every change). AggregatedBook Y or absent (by price)
// or N (by order). MDEntryType 0 bid, 1 offer, 2 trade, 4 open, 5 close, 7
// high, 8 low. Many symbols per request (NoRelatedSym; one named twice
// counts once), many requests per session, each with its own MDReqID.
//
// W carries MDReqID, Symbol and the entries asked for: the bids
// best first, the offers best first (each MDEntryPx, MDEntrySize: the
// level's resting quantity), the last trade (its size when this node
// saw it), then open, close, high and low (MDEntryPx only), those known.
// X carries MDReqID and, per entry, MDUpdateAction (0 new, 1
// change, 2 delete), MDEntryType, Symbol, MDEntryPx and MDEntrySize (not
// on a delete, nor on a day price); a level is named by its price.
// One X per subscription per pass carries all its symbols' entries, up to
// 256 a message. A trade is an entry with action 0 and type 2, once per
// trade, at the resting order's price, followed by the day prices it
// changed.
//
// A book by order (AggregatedBook N) is served to the sessions named in
// Options.ByOrderSessions (config fix.sessions[].marketDataByOrder), whole
// (MarketDepth 0). Its W has one entry per resting order: price, size (the
// order's leaves), OrderID (as in its ExecutionReports) and
// MDEntryPositionNo (1 the side's first order), the side's orders best
// price first and in time priority within a price. Its X names an order
// by OrderID: new (the order joins the back of its
// price's queue; entries of one pass come in time priority), change (its
// new size, in place: a partial fill, or a replace that keeps priority,
// one that keeps its price and does not grow), delete (a cancel, a full
// fill, an expiry). A replace that loses priority is a delete and then a
// new. X carries no MDEntryPositionNo: a receiver places a new at the back
// of its price.
//
// The day's prices are those of the trading day (package node's
// KindEndOfDay ends it): open, the day's first trade; high and low, its
// highest and lowest; close, the symbol's last trade price when the last
// day ended (the matcher's, which is the symbol's reference price before
// its first trade). An end of day deletes open, high and low and sets the
// close; the next day's first trade brings them again. They are a
// function of the journal: the publish stage takes them from every trade
// in order (never conflated), and a node that starts rebuilds them by
// matching again from a snapshot at or before the last end of day
// (package node, seedDay; SeedClose, SeedDay).
//
// W, X and Y carry only fields that FIX 4.2 and 4.4 define in them, so
// a broker engine that validates with its version's stock dictionary
// takes them as they are (quickfixgo's FIX42.xml and FIX44.xml,
// TestStockDictionaryAcceptsMarketData). So no RptSeq(83), which
// neither version has in W or X, unless the session asks for it (below);
// and an order is named by OrderID(37),
// which W's and X's entries both define, not MDEntryID(278), which W's do
// not. A subscription needs no count of its own: its W and the X that
// follow go in order on one session, under its MsgSeqNums. Within a
// subscription with MDUpdateType 1, every W after the first says that
// what came before it was not all sent (its subscriber fell behind, or
// trades of the symbol were conflated away): its view starts again from
// it.
//
// RptSeq(83) is sent to the sessions named in Options.RptSeqSessions
// (config fix.sessions[].marketDataRptSeq), whose dictionaries add it as
// venues do: last in each entry of X, and in W's body after Symbol. It is
// per subscription and per symbol (subscription.rptSeq): the first W
// carries 0, each entry of X the subscription is sent is one more, and
// every later W the count it is current to. A view counts only what it is
// sent (its entry types, its first N levels), so a gap means loss: the
// count goes on over entries held back while its subscriber is behind and
// over trades conflated away (Feed.tellLost), and the W that follows
// carries it. With MDUpdateType 0 each W on a change is one. Whether a
// subscription counts is settled when it is made; counting is one
// increment per entry queued, in the pass, with no allocation.
// X entries carry a subscription's own counts, so two subscriptions with
// RptSeq share an encoding (Feed.encoded) only where their counts agree.
//
// Y carries MDReqID, MDReqRejReason and Text: 0 an unknown symbol (the
// whole request is refused), 1 a duplicate MDReqID (a subscription with it
// is active in the session), 2 more than MaxSubsPerSession
// subscriptions, 4 a SubscriptionRequestType other than 0-2, 5 a
// MarketDepth beyond MaxDepth, or other than 0 for a book by order, 6 an
// MDUpdateType other than 0 or 1, 7 AggregatedBook N from a session not
// configured for books by order, 8 an MDEntryType other than 0, 1, 2, 4,
// 5, 7, 8 (3 imbalance, 6 settlement, 9 VWAP and the rest are not kept),
// or none. An unsubscribe naming no active subscription
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
// serves market data at once. Subscriptions do not survive a
// restart or a failover: brokers log on again and subscribe again.
//
// The day's prices survive both: a restarted node rebuilds them from its
// journal, a standby keeps them from its publish stage. A journal that no
// longer holds the open day (its oldest records removed, no snapshot
// before them) leaves them unknown until the next trade and end of day,
// which the log says.
//
// A market-data-only session (gateway.Session.MarketDataOnly) is the
// gateway's: it hands such a session's V here and refuses its orders.
//
// # Invariant
//
// After every pass, each book the goroutine holds is the matcher's book as
// of the last batch handed to it, level for level, and by order, order for
// order in time priority; a subscriber that applies its W and then every X
// it was sent holds that book as its view shows it, and the day prices
// the trades and ends of day make
// (TestBookFromSnapshotAndIncrementalsEqualsMatcher, over random order
// streams cut into random batches).
package marketdata
