// Package risk is ringex's pre-trade risk: per-account order limits and,
// in spot mode, cash and inventory reserved when an order is accepted and
// settled when it trades or ends. Like the matcher it is pure and
// deterministic: no I/O, no clock, no goroutines of its own; its state is
// a function of the commands and the matcher's events it is given, in
// sequence order.
//
// It has two halves, meant for two goroutines of the node's ring
// (docs/design.md, "Risk"):
//
//   - Check runs before matching, on every command in sequence order. It
//     decides a new order, a replace or a withdrawal against the account's
//     limits and what is free, and reserves what it accepts. It returns a
//     Hold, which travels with the command to the other half. A refused
//     new order must not reach a matcher (RefusalEvent is its answer); a
//     refused replace reaches its order's engine only to be answered with
//     the order's state, or "unknown order" when it is not working
//     (matcher.Partitions.RefuseReplace), and changes nothing there.
//   - Apply, Event and Done run after matching, in sequence order: Apply
//     puts the command's Hold into the balances, Event settles each of the
//     matcher's events (a fill moves cash and inventory between the two
//     accounts and releases the buyer's gap between held and traded price;
//     an order's end releases what it still holds), Done closes the
//     command.
//
// The settle half owns the balances; Check reads them through atomics,
// lagging behind by the commands being matched, and counts its own
// reservations until the settle half has applied them. Everything the
// settle half does to a balance makes it freer (releases, credits,
// deposits); everything that takes is decided by Check. So a lagging view
// is a lower bound of the exact one: Check's acceptance is always the exact
// state's. A refusal whose reason depends on the view (ViewDependent) is
// final only when the settle half has caught up to the command before; the
// caller ensures that and checks again. A replace refused for cash or
// inventory (Reducible) is always checked again so, by CheckExact, which
// then reads what its order holds and judges only the difference. The
// result is the sequential one (check, match, settle, one command at a
// time) whatever the timing.
//
// The operator's kill switch is per account, two blocks independent of
// each other, its own and its firm's (block.go): Check refuses the
// account's new orders and replaces while either holds, and each block
// record sets or lifts only the one it names.
//
// Units: prices in ticks, quantities in lots, as the matcher's; cash in
// the venue's cash unit, Symbol.CashPerTickLot of them per tick × lot.
// Invariants the tests hold: no total, hold or free amount is ever
// negative; total cash and each symbol's total inventory change only by
// deposits and withdrawals; an order's hold is released when it ends; a
// replay reproduces the state byte for byte (Snapshot).
//
// It refuses to know FIX, the ring, the journal and config files: the node
// builds its Config and carries Holds in its ring slots.
package risk
