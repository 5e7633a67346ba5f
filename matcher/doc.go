// Package matcher is the exchange's matching engine: the order books of the
// symbols one match goroutine owns, price-time priority, the commands that
// drive them and the events they cause, snapshot and restore of the whole
// engine, and a hash of its state.
//
// It is pure: no I/O, goroutines, clocks or randomness, and nothing that
// decides an outcome depends on map iteration or memory layout. The events
// are a function of the command sequence alone, so the journal of commands is
// enough to rebuild every result by replay. It knows nothing of FIX,
// sessions, journals or rings: prices arrive as int64 ticks and quantities
// as int64 lots (the gateway checks tick and lot size), times and sequence
// numbers as the ingress stage set them.
//
// # Commands and events
//
// Engine.Apply takes one Command and appends the events it caused, in
// order, to a caller's slice. Event i of a command has ExecID
// Seq×ExecIDStride+i, except an end-of-day expiry (EndOfDayExecID); a new
// order's OrderID is its command's Seq. Every event
// carries the order's whole state after it (quantities, notional, prices,
// ClOrdIDs, side, type, time in force; Owner, its trading account when
// that is not the session's own, a firm's named account, else 0, as in
// the status answer of a finished order, whose record keeps no owner) and
// the Kind, Seq and TimeNs of the causing command. A refusal built from
// the command alone carries the command's (Command.EventOwner). Nothing is ever dropped: a command causes at most
// 2·MaxOrders+2 events, under ExecIDStride. Engine.Top gives the best bid
// and offer after a command.
//
//   - New order: checked in this order, the first failure rejecting it
//     (EvRejected) and changing nothing: known symbol; side, type and time in
//     force; quantity (> 0, within the symbol's MinQty..MaxQty and MaxQtyLots);
//     limit price (1..MaxPriceTicks); ClOrdID unused by the account (see
//     below); limit price within BandTicks of the last trade (or of
//     RefPrice before one); Seq above the last accepted new order's (order ids
//     never repeat); fewer than MaxOrders resting. An accepted order gets
//     EvAccepted, then trades: for each trade one EvFill for the incoming
//     order, then one for the resting order, at the resting order's price,
//     best price first, oldest first within a price. What is left rests (Day,
//     GTC) or expires (EvExpired): IOC with ReasonIOCRemainder, market with
//     ReasonMarketRemainder, or ReasonNoLiquidity when it traded nothing. A
//     FOK that cannot fill completely, taking self-trade prevention into
//     account, expires with ReasonFOKUnfilled and leaves no other trace. A
//     market order never trades beyond BandTicks from the last trade price,
//     nor beyond its Price when that is set (a protection price: the risk
//     stage sets a market buy's to the price it held the buyer's cash at).
//     Day and GTC differ only at the end of the day (below) and in the
//     scope of a Day mass cancel.
//   - Cancel and replace name their target by OrderID when non-zero, else by
//     (Account, OrigClOrdID), in Symbol. Another account's order, or one in
//     another symbol, is unknown (ReasonUnknownOrder); a finished order, or a
//     ClOrdID a replace took away, is ReasonTooLate while the engine remembers
//     it and unknown after. A replace that names a Side other than the
//     order's is ReasonInvalidOrder. It is then checked for quantity, price,
//     an unused new ClOrdID and (when the price changes) the band, and
//     rejected with EvCancelRejected. A quantity decrease at the same price
//     keeps time priority; a price change or an increase loses it and may
//     trade (EvReplaced, then fills). A new quantity at or below the filled
//     quantity cancels the rest (EvCancelled, ReasonUserCancel). The
//     replace's ClOrdID becomes the order's; a cancel's appears only on its
//     EvCancelled. The Type and TIF of a cancel or replace, and the Side
//     of a cancel, are not looked at: an order keeps its own.
//   - Self-trade prevention (Config.STP) acts when an incoming order meets a
//     resting order of its own party (Engine.selfMatch: the same trading
//     account, Command.OwnerID; the same firm when the firm's scope is
//     STPScopeFirm; and when either is in an STP group, Command.STPGroup,
//     the same group within one firm): cancel the resting one and go on,
//     cancel the rest of the incoming one, or both (resting first); each is
//     an EvCancelled with ReasonSelfTrade. STPDecrement trades nothing: the
//     order with the smaller leaves is cancelled (both when equal, resting
//     first) and the other's quantity and leaves go down by as much, an
//     EvReplaced with ReasonSelfTrade (same ClOrdID and price; a resting
//     order keeps its time priority), and the incoming one goes on matching.
//     The incoming order's mode decides: its own (Command.STP, a new order
//     or a replace; a value past STPDecrement+1 is ReasonInvalidOrder), else
//     its trading account's (Config.AccountSTP, Config.NamedSTP), else
//     Config.STP (the named modes, the venue's mode and the firms' scopes
//     a KindSTP record put in force, once one has); an order in an STP
//     group whose mode comes to STPNone cancels itself on meeting its
//     group.
//   - A replace names the order's trading account (Command.Owner, 0 for
//     the session's own); another is ReasonUnknownOrder. A cancel that
//     names a firm's account (Owner not 0) that is not the order's is
//     ReasonUnknownOrder too; one that names none cancels the session's
//     order whatever its account.
//   - Mass cancel cancels the account's orders in Symbol, or in every
//     symbol of the engine when Symbol is 0, oldest first; a kill switch's
//     (OriginKillSwitch) then also those other sessions placed for the
//     account as their trading account, oldest first (EvCancelled,
//     ReasonMassCancel); its scope (MassCancel.Scope) says which:
//     ScopeDayOrders, the cancel-on-disconnect kind, takes Day orders only,
//     ScopeAllOrders takes every order. With nothing to cancel it causes
//     no event; with Report it ends with one EvMassCancelReport.
//   - Status answers with one EvStatus, finding the order as a cancel
//     would: a live order as it stands; a finished order (filled,
//     cancelled, expired) as it ended, with LeavesQty 0 and the Reason
//     it ended (ReasonNone when it filled), while the engine remembers it
//     (see ClOrdIDs); else the reason it cannot be shown. A ClOrdID that
//     a replace took away stays ReasonTooLate: the order answers by its
//     latest ClOrdID and by its OrderID.
//   - Checkpoint markers (KindCheckpoint, KindCheckpointHash) are for the
//     node and replay: the engine applies nothing and says nothing.
//   - An account binding (KindBindAccount, AccountBinding in account.go)
//     binds an account id to a broker's name for good. Every engine keeps
//     every binding, in its snapshot and its hash, and says nothing; one
//     that would rebind a bound account, or a bound name, is ignored.
//   - A block record (KindBlock, AccountBlock in block.go, the kill
//     switch) is applied by every engine: each cancels every resting order
//     of the account, its session's and those placed for it (EvCancelled,
//     ReasonMassCancel, ExecID EndOfDayExecID), oldest first, whether it
//     is the account's own block or its firm's (AccountBlock.Firm, in
//     Type: the risk stage keeps the two apart).
//   - A firm block record (KindBlockFirm, KindUnblockFirm, FirmBlock in
//     firmblock.go) is applied by every engine, which keeps the blocked
//     firms' names in its snapshot (version 6, or 7 with bands) and its
//     hash, and says nothing.
//   - Funds and unblock records (KindDeposit, KindWithdraw, Funds in
//     funds.go; KindUnblock in block.go) and the
//     risk rules (KindRiskLimits, KindRiskSymbol, KindRiskFee in
//     risklimits.go and riskvenue.go) are the risk stage's: no engine applies them (Route) and an engine given one
//     says nothing. So is the risk venue record (KindRiskVenue, RiskVenue
//     in riskvenue.go), which the node checks against its config.
//   - A symbol scale record (KindSymbolScale, SymbolScale in
//     symbolscale.go: the name at a symbol id, its tick and lot sizes)
//     is applied by the engine that owns the symbol (Route, as an
//     order), which keeps the last one of each symbol it lists
//     (Engine.Scale) in its snapshot (version 9, written only once one
//     is applied) and hash, and says nothing; the node checks it against
//     its config, whether read from the journal or the snapshot. The
//     snapshot's symbol count is the Config's until such a record, then
//     the highest symbol those named: a Config with symbols appended
//     restores a snapshot of fewer (their books empty) to the same hash,
//     and refuses one of more (a symbol removed).
//   - A gateway reject (KindReject, GatewayReject in gwreject.go) is the
//     gateway's own refusal of an order message, journaled for its
//     report: the engine that owns its Symbol (Route, as an order) answers
//     it with one event built from the record alone (RejectEvent:
//     EvRejected or EvCancelRejected, Kind KindReject, OrderID 0) and
//     changes nothing, its hash included.
//   - A band record (KindBand, Band in band.go) sets its symbol's
//     BandTicks and RefPrice from then on, in the engine that owns the
//     symbol (a new RefPrice is also the band's anchor until the next
//     trade); it says nothing, and is in the snapshot (version 7, written
//     only while a band differs from the Config's) and the hash.
//   - A self-trade prevention record (KindSTP, STPRecord in stprecord.go)
//     is applied by every engine: a venue record sets the venue's mode and
//     clears every named mode and firm scope, an account record sets a
//     name's mode, a firm record a firm's scope, from then on, in place of
//     the Config's (STP, NamedSTP, FirmSTP.Scope); it says nothing. An
//     engine a record set them in writes snapshot version 8, which carries
//     them, and hashes them with it.
//
// Mass cancels and checkpoint hashes are control records: their fields
// are named by MassCancel and CheckpointHash (control.go), which alone map
// them onto a Command's fields. Which of P match partitions applies a
// command is Route's to say. A Command's bytes, the journal's record
// payload, are drawn at CommandSize (command.go), packed fields (Owner,
// STP, STPGroup) included; Encode and Decode alone read and write them.
//   - End of day (KindEndOfDay) expires every resting Day order of every
//     book, lowest order id first (EvExpired, ReasonExpired, LeavesQty 0),
//     and leaves GTC orders as they are; with none to expire it causes no
//     event. Then a new ClOrdID day begins: the engine forgets every
//     retired ClOrdID (see below), so cancels, replaces and status
//     requests naming a finished order find it unknown. The node gives the
//     command to every engine at once, so an expiry's ExecID derives from
//     its order, not from its index in the command: EndOfDayExecID(OrderID),
//     the one id below the next command's that no command reaches.
//
// # ClOrdIDs
//
// An account may not reuse a ClOrdID it used on a new order or a replace
// while the engine remembers it: ClOrdIDs of resting orders always, and at
// least Config.ClOrdIDWindow (default 12288, up to 7/6 of that) of the most
// recently retired ones, those of finished orders and those replaced away.
// The window bounds the memory: 64 bytes of record (with a finished
// order's final state, for status requests), 37 of hash table and 7 of
// Bloom filters per remembered ClOrdID, allocated as it fills (the
// record ring whole with the first record, its pages touched as it
// fills; the tables a generation at a time) and never more (1.47 MiB by
// default), laid out so that checking a fresh ClOrdID
// reads one word of a 32 KiB union filter, and the generations' filters
// and tables only when that says "maybe" (see index.go). It is engine
// state, in the snapshot and the hash, since replay rebuilds it.
// An end of day empties it, keeping its memory: the ClOrdIDs of live (GTC)
// orders stay in use, every other one may be used again the next day.
//
// # Memory
//
// A resting order costs 120 bytes in the order pool plus two 8-byte index
// slots (order id, ClOrdID) at a load between 1/8 and 1/4, so 184 to 248
// bytes. A price level
// costs 32 bytes in the level pool. Each side of a book finds its levels
// by direct index in a window of 2048 ticks (8,456 bytes: a 4-byte level
// reference per tick and a bitmap over them) placed around its best price;
// a level outside the window costs 12 more bytes in the side's sorted
// arrays (up to twice that with slice slack). A side takes a window from
// the engine's pool with its first level and gives it back when it
// empties, so the windows are bounded by the sides that hold orders (at
// most twice the symbols, and at most the resting orders); moving a window
// uses a scratch of 4 bytes per level of the widest side moved. An account
// with resting orders costs a 16-byte slot: below 16384 in a table indexed
// by account and sized to the largest such account seen (256 KiB at most),
// above in a hash table at a load between 1/4 and 1/2. Resting
// orders are bounded by Config.MaxOrders (default and most 524286, so that
// one command's events fit under ExecIDStride), price levels by the
// resting orders, since a level exists only while an order rests in it.
// Pools and tables grow by doubling up to those bounds and never shrink;
// once they have reached the working set, Apply allocates nothing.
//
// # Testing and speed
//
// Run the property tests over 4 M commands and 1 M short streams with
// go test -run Model -long; fuzz with go test -fuzz FuzzEngine (also
// FuzzDecode, FuzzRestore). go test -bench . ./matcher measures Apply
// (0 allocs/op); docs/performance.md has the figures and what changed them.
package matcher
