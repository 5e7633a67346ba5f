package risk

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/ringex/ringex/matcher"
)

// Mode is a venue's risk mode.
type Mode uint8

const (
	ModeNone   Mode = 0 // no risk stage: today's behaviour
	ModeLimits Mode = 1 // per-account order limits
	ModeSpot   Mode = 2 // limits, and cash and inventory reserved at entry
)

// Limits bound one account's orders; 0 is no limit.
type Limits struct {
	MaxOrderQty      int64 // lots per order (a replace's new quantity)
	MaxOrderNotional int64 // cash units per order: quantity × price × CashPerTickLot
	MaxOpenOrders    int64 // orders accepted and not yet ended
}

// Symbol is what risk needs of one symbol.
type Symbol struct {
	CashPerTickLot  int64 // cash units one lot costs at one tick; at least 1
	ProtectionPrice int64 // ticks: a market buy holds (and trades no worse than) this; 0: market buys have no price to hold
}

// Config shapes a State. Account ids run 1..Accounts and symbol ids
// 1..len(Symbols), as the node numbers them.
type Config struct {
	Mode     Mode
	Accounts int
	Symbols  []Symbol
	Default  Limits
	Account  map[uint32]Limits // overrides Default for an account
	// FeeBps is the fee on each fill, in basis points of its notional,
	// paid by both sides (spot): the buyer on top of the price, the seller
	// out of the proceeds, rounded down; it goes to the venue's fee
	// account (account 0). A buy holds it on top of quantity × price,
	// rounded up per lot. 0: no fee.
	FeeBps int64
	// CashUnit is the config's risk.cashUnit with no trailing zeros ("" in
	// mode limits without one): not a rule (CashPerTickLot carries it into
	// the rules), but what the state's cash amounts are whole numbers of,
	// so it is in the snapshot and its hash, and Restore refuses another.
	CashUnit string
}

// Bounds of a Config.
const (
	MaxAccounts       = 1 << 16
	MaxCashPerTickLot = 1 << 20
)

// Validate reports the first thing wrong with c.
func (c *Config) Validate() error {
	if len(c.CashUnit) > matcher.IDLen {
		return fmt.Errorf("risk: cash unit %q: at most %d characters", c.CashUnit, matcher.IDLen)
	}
	if c.Mode > ModeSpot {
		return fmt.Errorf("risk: unknown mode %d", c.Mode)
	}
	if c.Accounts < 0 || c.Accounts > MaxAccounts {
		return fmt.Errorf("risk: %d accounts (0 to %d)", c.Accounts, MaxAccounts)
	}
	for i, s := range c.Symbols {
		if s.CashPerTickLot < 1 || s.CashPerTickLot > MaxCashPerTickLot {
			return fmt.Errorf("risk: symbol %d: cash per tick and lot %d (1 to %d)", i+1, s.CashPerTickLot, MaxCashPerTickLot)
		}
		if s.ProtectionPrice < 0 || s.ProtectionPrice > matcher.MaxPriceTicks {
			return fmt.Errorf("risk: symbol %d: protection price %d ticks (0 to %d)", i+1, s.ProtectionPrice, int64(matcher.MaxPriceTicks))
		}
	}
	if c.FeeBps < 0 || c.FeeBps > 10000 {
		return fmt.Errorf("risk: fee %d basis points (0 to 10000)", c.FeeBps)
	}
	for a, l := range c.Account {
		if a == 0 || int(a) > c.Accounts {
			return fmt.Errorf("risk: limits for account %d, which is not 1 to %d", a, c.Accounts)
		}
		if err := l.validate(); err != nil {
			return fmt.Errorf("risk: account %d: %w", a, err)
		}
	}
	return c.Default.validate()
}

func (l Limits) validate() error {
	if l.MaxOrderQty < 0 || l.MaxOrderNotional < 0 || l.MaxOpenOrders < 0 {
		return fmt.Errorf("negative limit in %+v", l)
	}
	return nil
}

// Hold is what Check decided for one command: refused (Reason), or
// accepted with what it reserved. Fixed size, no pointers: the node
// carries it in the command's ring slot to the settle half.
type Hold struct {
	Cash int64 // cash reserved (a buy, a replace of a buy, a cash withdrawal)
	Inv  int64 // inventory reserved (a sell, a replace of a sell, an inventory withdrawal)
	Open int8  // 1: counted as an open order of its account
	// Diff is 1 for a replace decided on the exact state (CheckExact):
	// Cash or Inv is only what its new terms hold beyond what the order
	// held, and may be 0 (a reduction).
	Diff   int8
	Reason matcher.Reason
}

// cell is one amount of one account: its cash, its open orders (total
// always 0, held the count), or its inventory of one symbol, as three
// numbers from which the hold and the free amount follow:
//
//	held = total + applied - avail      free = total - held = avail - applied
//
// The settle half writes every field (one writer: stores, not
// read-modify-write atomics). Each store is a full fence on amd64 and
// most of risk's cost, so each change stores only what it must: a
// reservation applied, its applied count (free goes down, held up, avail
// stays); a release, avail; a debit or credit, total and avail. One
// amount no other goroutine needs is a plain number of the settle half
// instead, and its cells stay zero: each account's open orders
// (State.opens; Check, Exact and Balance count them as its open sells
// plus its open buys). The fee account (account 0) has its cash cell
// alone: the fees, credited once per command that paid any, which the
// operator sees (Balance) and withdraws (a funds record of account 0).
// The numbers other goroutines read, and why a stale one is safe:
//
//   - Check's view is avail less its own reservations (pending): one load.
//     avail only grows (releases and credits; everything that takes is a
//     reservation Check decided), so a stale avail is a lower bound.
//   - Exact and Final read a count's hold as applied - avail (total is 0),
//     avail loaded first: both only grow, so the hold read is at least the
//     hold at the moment avail was loaded, never a zero that was not.
//   - Final reads total, after the counts that say no credit is still to
//     come (see there); Balance all three, read until two reads agree
//     (cellSeen).
//
// settle.go says in what order the settle half stores them, and why
// these hold whenever they are read.
type cell struct {
	avail   atomic.Int64 // free + applied, ever; only grows
	applied atomic.Int64 // reservations the settle half applied, ever
	total   atomic.Int64
}

// free and held are the cell's as the settle half has them. Its
// goroutine only (other goroutines: countSeen, cellSeen).
func (c *cell) free() int64 { return c.avail.Load() - c.applied.Load() }
func (c *cell) held() int64 { return c.total.Load() + c.applied.Load() - c.avail.Load() }

// countSeen is a count cell's hold and applied count as another goroutine
// than the settle half's may rely on: the hold is at least what it was
// when the load of avail ran (see cell). Hot path.
func (c *cell) countSeen() (held, applied int64) {
	avail := c.avail.Load()
	applied = c.applied.Load()
	return applied - avail, applied
}

// cellSeen is the cell's total and hold at one moment, for a goroutine
// other than the settle half's: the three numbers are read until two
// reads in a row agree (at most cellSeenTries; the settle half changes a
// cell a few times per command, so the first or second retry agrees).
// Cold path.
func (c *cell) cellSeen() (total, held int64) {
	a, p, t := c.avail.Load(), c.applied.Load(), c.total.Load()
	for range cellSeenTries {
		a2, p2, t2 := c.avail.Load(), c.applied.Load(), c.total.Load()
		if a2 == a && p2 == p && t2 == t {
			break
		}
		a, p, t = a2, p2, t2
	}
	return t, t + p - a
}

const cellSeenTries = 1000

// order is what the settle half keeps of a working order that holds
// something.
type order struct {
	account, symbol uint32
	side            matcher.Side
	unit            int64 // cash held per lot (a buy in spot mode)
	leaves          int64
	feeBps          int64 // the fee in force when it was accepted, which its fills pay
}

// State is one venue's risk state. Check is called by one goroutine, the
// settle half (Apply, Event, Done) by one other or the same one; nothing
// else may call them concurrently.
type State struct {
	cfg     Config
	spot    bool
	limits  []Limits // by account id; Check's goroutine only (rules.go)
	stride  int      // cells per account: cash, open orders, open sells, open buys, one per symbol
	cells   []cell
	pending []int64 // Check's reservations ever, per cell; Check's goroutine only

	// Deposits per account: passed by Check (its goroutine only), and
	// applied by the settle half. Equal: none in flight (Exact).
	depositsChecked []int64
	depositsApplied []atomic.Int64

	// New orders and replaces that reserved something, per account:
	// accepted by Check (its goroutine only), and settled to their Done
	// by the settle half. Equal: none whose events (a fill, a refusal's
	// release) are still to settle (Exact).
	ordersChecked []int64
	ordersDone    []atomic.Int64

	// The operator's kill switch, per account: its blocks (blockOwn,
	// blockFirm; block.go) as Check has passed the block records (its
	// goroutine only), and as the settle half has (its snapshot's).
	blocked        []uint8
	blockedSettled []atomic.Uint32

	// The rules in force (rules.go): Check's (limits above, protect, fee),
	// and the settle half's copies, which its snapshot holds.
	protect        []int64 // by symbol id - 1
	fee            int64
	limitsSettled  []Limits
	protectSettled []int64
	feeSettled     int64

	// The symbols the snapshot counts, at least (listedSymbols,
	// snapshot.go); the settle half's: the config's until a symbol scale
	// record, then the highest symbol those named since a start or a
	// restore (byRecord), or a restored snapshot's count.
	listed   int
	byRecord bool

	// Deposits less withdrawals as Check has passed them (its goroutine
	// only): exact, since only Check decides them. Check refuses a deposit
	// that would take it past MaxInt64, so no account's total, which is at
	// most the venue's, can wrap.
	fundingChecked Funding

	// The settle half's own fields, written on every command: a cache
	// line away from those Check reads, so that its writes do not take
	// the line from under Check's goroutine.
	_       [cacheLine]byte
	opens   []int64    // settle: each account's open orders (its open orders cell's hold; see cell)
	orders  orderTable // settle: working orders by order id
	cur     current    // settle: the command between Apply and Done
	fees    int64      // settle: the current command's fees, credited at Done
	funding Funding    // settle: deposits minus withdrawals, for the invariants
	_       [cacheLine]byte

	refs           refs // the operator's request references (refs.go): cold
	legacyAccounts int  // cold: the table size of the version 1 snapshot restored; 0: none (LegacyHash)
}

// cacheLine is how far apart two goroutines' fields are kept: two lines,
// as the adjacent-line prefetcher of x86 fetches lines in pairs.
const cacheLine = 128

// padded is a new slice of n zero values with cacheLine bytes of its own
// on each side, so that no allocation another goroutine writes shares a
// cache line with it (Go places small allocations of one size side by
// side).
func padded[T any](n int) []T {
	var zero T
	pad := cacheLine/int(max(unsafe.Sizeof(zero), 1)) + 1
	return make([]T, n+2*pad)[pad : pad+n : pad+n]
}

// current is the command the settle half is in: its new order's hold
// until the matcher accepts or refuses it, its replace's reservation
// until the matcher answers.
type current struct {
	cmd    *matcher.Command
	hold   Hold
	newOK  bool // hold is a new order's, not yet given to a record
	repOK  bool // hold is a replace's, not yet settled
	symbol uint32
}

// start makes cmd, answered with h, the current command. Hot path: field
// by field, as orderTable.add says why.
func (c *current) start(cmd *matcher.Command, h Hold) {
	*c = current{cmd: cmd}
	c.hold.Cash, c.hold.Inv, c.hold.Open, c.hold.Reason = h.Cash, h.Inv, h.Open, h.Reason
}

// Funding is the cash and inventory deposited less withdrawn, venue-wide:
// what the totals of all accounts must add up to.
type Funding struct {
	Cash int64
	Inv  []int64 // by symbol id - 1
}

// New returns the empty state of cfg.
func New(cfg Config) (*State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &State{cfg: cfg, spot: cfg.Mode == ModeSpot, stride: 4 + len(cfg.Symbols), listed: len(cfg.Symbols)}
	s.limits = make([]Limits, cfg.Accounts+1)
	for a := range s.limits {
		s.limits[a] = cfg.Default
		if l, ok := cfg.Account[uint32(a)]; ok {
			s.limits[a] = l
		}
	}
	s.limitsSettled = slices.Clone(s.limits)
	s.protect = make([]int64, len(cfg.Symbols))
	for i, y := range cfg.Symbols {
		s.protect[i] = y.ProtectionPrice
	}
	s.protectSettled = slices.Clone(s.protect)
	s.fee, s.feeSettled = cfg.FeeBps, cfg.FeeBps
	// Padded: Check writes pending and its counts on every order, the
	// settle half the cells and its own; none shares a line with another.
	s.cells = padded[cell]((cfg.Accounts + 1) * s.stride)
	s.pending = padded[int64](len(s.cells))
	s.opens = padded[int64](cfg.Accounts + 1)
	s.depositsChecked = padded[int64](cfg.Accounts + 1)
	s.depositsApplied = padded[atomic.Int64](cfg.Accounts + 1)
	s.ordersChecked = padded[int64](cfg.Accounts + 1)
	s.ordersDone = padded[atomic.Int64](cfg.Accounts + 1)
	s.blocked = padded[uint8](cfg.Accounts + 1)
	s.blockedSettled = padded[atomic.Uint32](cfg.Accounts + 1)
	s.orders = newOrderTable()
	s.funding.Inv = make([]int64, len(cfg.Symbols))
	s.fundingChecked.Inv = make([]int64, len(cfg.Symbols))
	return s, nil
}

// Mode is the state's mode.
func (s *State) Mode() Mode { return s.cfg.Mode }

// CashUnit is Config.CashUnit.
func (s *State) CashUnit() string { return s.cfg.CashUnit }

func (s *State) cashCell(a uint32) int        { return int(a) * s.stride }
func (s *State) openCell(a uint32) int        { return int(a)*s.stride + 1 }
func (s *State) invCell(a, symbol uint32) int { return int(a)*s.stride + 3 + int(symbol) }

// sideCell counts the account's open orders of side (held: the count, as
// the open orders cell does): a sell can bring cash in, a buy inventory.
func (s *State) sideCell(a uint32, side matcher.Side) int {
	if side == matcher.Sell {
		return int(a)*s.stride + 2
	}
	return int(a)*s.stride + 3
}

func (s *State) knownAccount(a uint32) bool { return a >= 1 && int(a) <= s.cfg.Accounts }
func (s *State) knownSymbol(y uint32) bool  { return y >= 1 && int(y) <= len(s.cfg.Symbols) }

// view is what Check sees free in cell i: the settle half's free amount
// less Check's reservations it has not applied yet. Never more than the
// exact amount. Hot path.
func (s *State) view(i int) int64 {
	return s.cells[i].avail.Load() - s.pending[i]
}

// openView is account a's open orders as Check sees them: its orders
// accepted and not yet ended, sells and buys (see cell). Hot path.
func (s *State) openView(a uint32) int64 {
	return -s.view(s.sideCell(a, matcher.Sell)) - s.view(s.sideCell(a, matcher.Buy))
}

// notional is qty × px × unit, or MaxInt64 when that overflows (no limit
// and no balance reaches it).
func notional(qty, px, unit int64) int64 {
	if qty <= 0 || px <= 0 {
		return 0
	}
	return mulOrMax(qty*px, unit) // qty and px bounded by the matcher's maxima: their product fits
}

// mulOrMax is a × b (both 0 or more), or MaxInt64 when that overflows.
// A 128-bit product, not a division by b: a division by a variable is
// tens of cycles on amd64, and this runs on every fill. Hot path.
func mulOrMax(a, b int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

// bps128 is hi:lo / 10000, and the remainder: by a constant (a multiply)
// when hi is 0, as it is unless an amount reaches 2^64 / 10000.
func bps128(hi, lo uint64) (q, r uint64) {
	if hi == 0 {
		return lo / 10000, lo % 10000
	}
	return bits.Div64(hi, lo, 10000) // hi < 10000: an int64 times at most 10000
}

// Exact reports whether Check's view of account a is its exact state: the
// account has no working order, no order or replace in flight or still
// settling, no deposit in flight, and every reservation Check made for it
// (a withdrawal's too) is applied in full, so nothing the settle half has
// still to do can change its balances, and none is half done. Call it on
// Check's goroutine before the Check it vouches for (what it saw can only
// become more settled, never less). The venue's fee account (account 0)
// is never exact here: every command with fills credits it, at its Done,
// and no count tells Check which have; its view is exact once the settle
// half has caught up (Stage). Hot path.
//
// It reads the counts before the amounts, and the settle half stores an
// order's changes to the amounts before the count that says they are in
// (settle.go), so a count read equal to Check's, or a working-order count
// read as 0, vouches for every amount read after it.
func (s *State) Exact(a uint32) bool {
	if !s.knownAccount(a) {
		return a != 0 // an account that is not 1 to Accounts has no cells, and no balance to refuse on
	}
	// Orders settled first: from then on none of a's can start working,
	// so a count of working orders read after it that is 0 stays 0.
	if s.ordersChecked[a] != s.ordersDone[a].Load() {
		return false
	}
	sells, _ := s.cells[s.sideCell(a, matcher.Sell)].countSeen()
	buys, _ := s.cells[s.sideCell(a, matcher.Buy)].countSeen()
	if sells+buys != 0 || s.depositsChecked[a] != s.depositsApplied[a].Load() {
		return false
	}
	// A reservation applied is one store, of its applied count: equal
	// counts mean no reservation of this account is under way.
	for i := s.cashCell(a); i < s.cashCell(a)+s.stride; i++ {
		if s.pending[i] != s.cells[i].applied.Load() {
			return false
		}
	}
	return true
}

// Final reports whether Check's refusal r of c stands whatever the
// settle half still has to do: cash (or inventory) is refused, the account
// has no order working or in flight that could bring cash in (a sell; for
// inventory, a buy) and no deposit in flight, and it needs more than its
// whole settled total, which from then on can only go down. Call it on
// Check's goroutine, after the Check; it may be later than the Check, since
// what it reads can only have moved towards the exact state. A replace's
// refusal is never final here: it is left to the exact state. Hot path.
//
// It reads the deposit count and the bringing side's count before the
// total: the settle half stores a deposit's total before its count, and a
// fill's credit before the end of its order drops the count (settle.go),
// so a count read as settled vouches for every credit in the total read
// after it. Read the other way round, a total read before the last
// bringer's fill, and its count after that order's end, would take a
// total that its proceeds had since raised as final.
func (s *State) Final(c *matcher.Command, r matcher.Reason) bool {
	a := c.OwnerID()
	if c.Kind == matcher.KindReplace || !s.knownAccount(a) || s.depositsChecked[a] != s.depositsApplied[a].Load() {
		return false
	}
	need, cell, bringer := c.Qty, 0, matcher.Side(0)
	switch {
	case r == matcher.ReasonRiskCash:
		need = s.buyHold(c.Qty, c.Price, s.cfg.Symbols[c.Symbol-1].CashPerTickLot)
		cell, bringer = s.cashCell(a), matcher.Sell
	case r == matcher.ReasonRiskInventory:
		cell, bringer = s.invCell(a, c.Symbol), matcher.Buy
	case r == matcher.ReasonRiskFundsRefused && c.Kind == matcher.KindWithdraw:
		f, ok := matcher.FundsOf(c)
		if !ok || (f.Symbol != 0 && !s.knownSymbol(f.Symbol)) {
			return true // refused for what it is, not for a balance
		}
		need, cell, bringer = f.Amount, s.cashCell(a), matcher.Sell
		if f.Symbol != 0 {
			cell, bringer = s.invCell(a, f.Symbol), matcher.Buy
		}
	default:
		return false
	}
	i := s.sideCell(a, bringer)
	if held, applied := s.cells[i].countSeen(); s.pending[i] != applied || held != 0 {
		return false // an order that may bring some in is working or in flight
	}
	return need > s.cells[cell].total.Load()
}

// feeOf is the fee on a fill of notional cost at bps basis points,
// rounded down. Hot path.
func feeOf(cost, bps int64) int64 {
	if bps == 0 {
		return 0
	}
	q, _ := bps128(bits.Mul64(uint64(cost), uint64(bps)))
	return int64(q)
}

// holdUnit is the cash a buy holds per lot at px with a fee of bps: the
// price and its fee, rounded up, so that every fill's cost and fee fit in
// what it holds.
func holdUnit(px, cpl, bps int64) int64 {
	v := notional(1, px, cpl)
	if bps == 0 || v == math.MaxInt64 {
		return v
	}
	q, r := bps128(bits.Mul64(uint64(v), uint64(bps)))
	if r != 0 {
		q++
	}
	if int64(q) > math.MaxInt64-v {
		return math.MaxInt64
	}
	return v + int64(q)
}

// buyHold is what a buy of qty at px holds under the fee in force
// (Check's): qty × holdUnit, or MaxInt64 when that overflows.
func (s *State) buyHold(qty, px, cpl int64) int64 {
	u := holdUnit(px, cpl, s.fee)
	if qty <= 0 || px <= 0 {
		return 0
	}
	return mulOrMax(qty, u)
}

// Fees is the venue's fee account's cash: what it has collected up to
// the last Done, less what the operator withdrew. The settle half's
// goroutine only (other goroutines: Balance(0)).
func (s *State) Fees() int64 { return s.cells[s.cashCell(0)].total.Load() }

// ViewDependent reports whether a refusal with r depends on balances or
// counts the settle half may still be changing; such a refusal is final
// only once the settle half has settled every command before it, or when
// the account's view was Exact before the Check.
func ViewDependent(r matcher.Reason) bool {
	switch r {
	case matcher.ReasonRiskOpenOrders, matcher.ReasonRiskCash, matcher.ReasonRiskInventory, matcher.ReasonRiskFundsRefused:
		return true
	}
	return false
}
