package risk

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/ringex/ringex/matcher"
)

// Snapshot layout, little-endian (version 5):
//
//	u8 version | u8 mode | u8 c | c bytes cash unit | u32 accounts A | u32 symbols S
//	(A+1) × (4+S) cells, account 0 first: i64 total | i64 held
//	    (cash, open orders, open sells, open buys, then inventory of symbols 1..S)
//	i64 funding cash | S × i64 funding inventory
//	u32 n | n × (ascending order id): i64 id | u32 account | u32 symbol | u8 side | i64 unit | i64 leaves
//	u32 b | b × (ascending) blocked account: u32 account | u8 blocks (1 its own, 2 its firm's, 3 both)
//	(A+1) × limits: i64 maxOrderQty | i64 maxOrderNotional | i64 maxOpenOrders
//	S × i64 protection price | i64 fee (basis points)
//	u32 r | r × (oldest first) operator reference: 24-byte reference | u32 account | i64 seq | u8 reason |
//	    u8 kind | u8 firm | u32 symbol | i64 amount (the record's outcome, then its request: RefRequest;
//	    firm 1 for a firm's block or unblock, else 0)
//
// and each order's entry ends with i64 its fee (basis points). A is the
// highest account that holds anything (a cell, an open order, a limit, a
// block; usedAccounts), not the table's size, so a table grown by a new
// named account (an empty one) snapshots and hashes as before. S is
// listedSymbols: the config's count until a symbol scale record, so a
// symbol appended to the config (empty) snapshots and hashes as before
// until its record is journaled, and Restore takes a snapshot of fewer
// symbols than the config. The
// operator references are those the state remembers (refs.go, which
// encodes the section: appendRefs, restoreRefs); r is 0 when it
// remembers none. The blocks are block.go's.
//
// Version 4 is version 5 whose references have no firm byte: the state
// writes it while it remembers no firm's block or unblock record, so a
// journal without keyed firm's records (every one written before version
// 5 that the build before read right) snapshots and hashes as it did.
//
// Version 3 is version 4 whose blocked accounts are u32 account alone,
// each blocked on its own: the state writes it while no account holds
// its firm's block, so a journal without firm block records (every one
// written before version 4) snapshots and hashes as it always did, and
// its checkpoint hashes verify.
//
// Version 1 had no cash unit, A the table's size (Config.Accounts) and no
// references, and version 3's blocked accounts; Restore reads it, and
// LegacyHash is its hash, for the checkpoint hashes written with it (a
// journal of that time has no references and no firm's blocks).
// Version 2 was never released: two builds wrote it, one
// with the cash unit and A as here, one with version 1's layout and the
// references; Restore refuses it, naming the version.
//
// It is the settle half's state: take it when the settle half has passed
// the checkpoint and Check has nothing pending that it has not (the node
// takes it in its publish stage; Restore starts with nothing pending).
const (
	snapVersionDense     = 1
	snapVersionOwnBlock  = 3
	snapVersionFirmBlock = 4
	snapVersion          = 5
	snapVersionFirmRef   = snapVersion // the first with a reference's firm byte
)

// settledCell is cell i's total and hold as the settle half has them:
// the open orders cells are its own numbers (see cell). The settle
// half's goroutine only.
func (s *State) settledCell(i int) (total, held int64) {
	if i%s.stride == s.openCell(0) {
		return 0, s.opens[i/s.stride]
	}
	return s.cells[i].total.Load(), s.cells[i].held()
}

// Snapshot appends the state to dst: version 5 while it remembers a
// firm's keyed block or unblock record, else 4 while an account holds its
// firm's block, else 3. Cold path: it sorts the working orders.
func (s *State) Snapshot(dst []byte) []byte {
	v := byte(snapVersion)
	switch {
	case s.refs.settled.firmRef():
	case s.firmBlocked():
		v = snapVersionFirmBlock
	default:
		v = snapVersionOwnBlock
	}
	return s.snapshotAs(dst, v, s.usedAccounts())
}

// noteListed counts the symbol a symbol scale record names as listed
// (listedSymbols). The settle half's goroutine only; cold path.
func (s *State) noteListed(c *matcher.Command) {
	sc, ok := matcher.SymbolScaleOf(c)
	if !ok || !s.knownSymbol(sc.Symbol) {
		return
	}
	if !s.byRecord {
		s.listed, s.byRecord = 0, true
	}
	s.listed = max(s.listed, int(sc.Symbol))
}

// listedSymbols is the symbol count S the snapshot says: the config's
// until a symbol scale record, then the highest symbol those named, or
// the count a snapshot restored said, and never below the highest
// symbol the state holds anything of (an inventory cell, funding, a
// protection price, a working order). So a symbol appended to the config
// changes neither the snapshot nor the hash until its record is
// journaled, the same in a replay from the journal's first record as on
// a start from a snapshot, and a snapshot of fewer symbols restores
// (Restore). Cold path.
func (s *State) listedSymbols() int {
	n := s.listed
	for y := len(s.cfg.Symbols); y > n; y-- {
		if s.funding.Inv[y-1] != 0 || s.protectSettled[y-1] != 0 {
			return y
		}
		for a := range s.cfg.Accounts + 1 {
			if total, held := s.settledCell(s.invCell(uint32(a), uint32(y))); total != 0 || held != 0 {
				return y
			}
		}
	}
	for _, o := range s.orders.all() {
		n = max(n, int(o.symbol))
	}
	return n
}

// usedAccounts is the highest account id that holds anything the
// snapshot writes: a cell, an open order, limits, a block; 0: none.
func (s *State) usedAccounts() int {
	for a := s.cfg.Accounts; a > 0; a-- {
		if s.opens[a] != 0 || s.limitsSettled[a] != (Limits{}) || s.blockedSettled[a].Load() != 0 {
			return a
		}
		for i := a * s.stride; i < (a+1)*s.stride; i++ {
			if total, held := s.settledCell(i); total != 0 || held != 0 {
				return a
			}
		}
	}
	return 0
}

// snapshotAs appends the state to dst as a snapshot of version v
// (snapVersion, snapVersionFirmBlock, snapVersionOwnBlock or
// snapVersionDense) with accounts 0 to accounts. Version 1 has no references section; versions 1 and 3
// list each blocked account, whichever its blocks, without them.
func (s *State) snapshotAs(dst []byte, v byte, accounts int) []byte {
	le := binary.LittleEndian
	dst = append(dst, v, byte(s.cfg.Mode))
	if v != snapVersionDense {
		dst = append(dst, byte(len(s.cfg.CashUnit)))
		dst = append(dst, s.cfg.CashUnit...)
	}
	symbols := s.listedSymbols()
	dst = le.AppendUint32(dst, uint32(accounts))
	dst = le.AppendUint32(dst, uint32(symbols))
	for a := range accounts + 1 {
		for i := a * s.stride; i < a*s.stride+4+symbols; i++ {
			total, held := s.settledCell(i)
			dst = le.AppendUint64(dst, uint64(total))
			dst = le.AppendUint64(dst, uint64(held))
		}
	}
	dst = le.AppendUint64(dst, uint64(s.funding.Cash))
	for _, v := range s.funding.Inv[:symbols] {
		dst = le.AppendUint64(dst, uint64(v))
	}
	ids := s.orders.ids(make([]int64, 0, s.orders.n))
	slices.SortFunc(ids, cmp.Compare)
	dst = le.AppendUint32(dst, uint32(len(ids)))
	for _, id := range ids {
		o := s.orders.get(id)
		dst = le.AppendUint64(dst, uint64(id))
		dst = le.AppendUint32(dst, o.account)
		dst = le.AppendUint32(dst, o.symbol)
		dst = append(dst, byte(o.side))
		dst = le.AppendUint64(dst, uint64(o.unit))
		dst = le.AppendUint64(dst, uint64(o.leaves))
		dst = le.AppendUint64(dst, uint64(o.feeBps))
	}
	var blocked []uint32
	for a := range s.blockedSettled {
		if s.blockedSettled[a].Load() != 0 {
			blocked = append(blocked, uint32(a))
		}
	}
	dst = le.AppendUint32(dst, uint32(len(blocked)))
	for _, a := range blocked {
		dst = le.AppendUint32(dst, a)
		if v >= snapVersionFirmBlock {
			dst = append(dst, byte(s.blockedSettled[a].Load()))
		}
	}
	for _, l := range s.limitsSettled[:accounts+1] {
		dst = le.AppendUint64(dst, uint64(l.MaxOrderQty))
		dst = le.AppendUint64(dst, uint64(l.MaxOrderNotional))
		dst = le.AppendUint64(dst, uint64(l.MaxOpenOrders))
	}
	for _, p := range s.protectSettled[:symbols] {
		dst = le.AppendUint64(dst, uint64(p))
	}
	dst = le.AppendUint64(dst, uint64(s.feeSettled))
	if v == snapVersionDense {
		return dst
	}
	return s.refs.settled.appendRefs(dst, v)
}

// Hash is the state's hash: FNV-64a of its Snapshot.
func (s *State) Hash() uint64 {
	h := fnv.New64a()
	h.Write(s.Snapshot(nil))
	return h.Sum64()
}

// LegacyHash is the hash the state had as a version 1 snapshot, which
// wrote the table's size and every cell and no references: of the size of the version 1
// snapshot it was restored from, else Config.Accounts. A checkpoint hash
// written before version 3 is this one; it verifies only against the
// table it was written with (an account added since changes it).
func (s *State) LegacyHash() uint64 { return s.LegacyHashAt(s.legacyAccounts) }

// LegacySnapshot appends the state to dst as a version 1 snapshot of the
// table LegacyHash says.
func (s *State) LegacySnapshot(dst []byte) []byte {
	return s.snapshotAs(dst, snapVersionDense, s.legacyTable(s.legacyAccounts))
}

// LegacyHashAt is LegacyHash for a version 1 table of accounts accounts
// (the config's when the state holds an account above it, or it is above
// the config's).
func (s *State) LegacyHashAt(accounts int) uint64 {
	h := fnv.New64a()
	h.Write(s.snapshotAs(nil, snapVersionDense, s.legacyTable(accounts)))
	return h.Sum64()
}

// legacyTable is accounts, when a version 1 table of that size can hold
// the state, else the config's.
func (s *State) legacyTable(accounts int) int {
	if accounts > 0 && accounts <= s.cfg.Accounts && s.usedAccounts() <= accounts {
		return accounts
	}
	return s.cfg.Accounts
}

var errShort = errors.New("risk snapshot: truncated")

// modeNames are the modes as risk.mode writes them.
var modeNames = [...]string{ModeNone: "none", ModeLimits: "limits", ModeSpot: "spot"}

// Restore replaces the state with a snapshot taken with the same mode and
// cash unit, at most as many symbols (symbols appended to the config
// since start with no inventory and no protection price) and at most as
// many accounts (sessions appended since are empty). A version 1 snapshot says no cash unit: it is taken
// to be the config's.
func (s *State) Restore(b []byte) error {
	r := reader{b: b}
	ver, mode := r.u8(), Mode(r.u8())
	unit := s.cfg.CashUnit
	known := ver == snapVersion || ver == snapVersionFirmBlock || ver == snapVersionOwnBlock
	if known {
		unit = string(r.take(int(r.u8())))
	}
	accounts, symbols := int(r.u32()), int(r.u32())
	switch {
	case r.err != nil:
		return r.err
	case !known && ver != snapVersionDense:
		return fmt.Errorf("risk snapshot: version %d, want %d, %d, %d or %d (version 2 was written only by unreleased builds)",
			ver, snapVersionDense, snapVersionOwnBlock, snapVersionFirmBlock, snapVersion)
	case unit != s.cfg.CashUnit:
		return fmt.Errorf("risk snapshot: risk.cashUnit %q when it was taken, %q in the config: every balance is a whole number of it", unit, s.cfg.CashUnit)
	case mode != s.cfg.Mode && mode <= ModeSpot:
		return fmt.Errorf("risk snapshot: taken with risk.mode %q, the config has %q: a replay with another mode decides its orders differently; "+
			"set risk.mode back to %q", modeNames[mode], modeNames[s.cfg.Mode], modeNames[mode])
	case symbols > len(s.cfg.Symbols):
		return fmt.Errorf("risk snapshot: taken with %d symbols, the config lists %d: a symbol was removed from symbols[] "+
			"(keep every symbol listed, in its place, and append new ones at the end)", symbols, len(s.cfg.Symbols))
	case mode != s.cfg.Mode || accounts > s.cfg.Accounts:
		return fmt.Errorf("risk snapshot: mode %d, %d accounts, %d symbols; the config has mode %d, %d accounts, %d symbols",
			mode, accounts, symbols, s.cfg.Mode, s.cfg.Accounts, len(s.cfg.Symbols))
	}
	fresh, _ := New(s.cfg)
	if err := fresh.restoreCells(&r, accounts, symbols); err != nil {
		return err
	}
	fresh.funding.Cash = r.i64()
	for i := range fresh.funding.Inv[:symbols] {
		fresh.funding.Inv[i] = r.i64()
	}
	n := int(r.u32())
	for range n {
		if r.err != nil {
			break
		}
		id := r.i64()
		o := order{account: r.u32(), symbol: r.u32(), side: matcher.Side(r.u8()), unit: r.i64(), leaves: r.i64(), feeBps: r.i64()}
		if r.err == nil && (!fresh.knownAccount(o.account) || !fresh.knownSymbol(o.symbol) || o.leaves < 0 || o.unit < 0) {
			return fmt.Errorf("risk snapshot: order %d: account %d, symbol %d, leaves %d: not an order this state can hold", id, o.account, o.symbol, o.leaves)
		}
		fresh.orders.put(id, o)
	}
	nb := int(r.u32())
	for range nb {
		a, blocks := r.u32(), blockOwn
		if ver >= snapVersionFirmBlock {
			blocks = r.u8()
		}
		if r.err != nil {
			break
		}
		switch {
		case !fresh.knownAccount(a):
			return fmt.Errorf("risk snapshot: blocked account %d is not 1 to %d", a, fresh.cfg.Accounts)
		case blocks == 0 || blocks&^(blockOwn|blockFirm) != 0:
			return fmt.Errorf("risk snapshot: blocked account %d: blocks %d, want 1 (its own), 2 (its firm's) or 3 (both)", a, blocks)
		case fresh.blocked[a] != 0:
			return fmt.Errorf("risk snapshot: blocked account %d listed twice", a)
		}
		fresh.blocked[a] = blocks
		fresh.blockedSettled[a].Store(uint32(blocks))
	}
	for a := range accounts + 1 {
		l := Limits{MaxOrderQty: r.i64(), MaxOrderNotional: r.i64(), MaxOpenOrders: r.i64()}
		if l.validate() != nil {
			return fmt.Errorf("risk snapshot: account %d: %w", a, l.validate())
		}
		fresh.limits[a], fresh.limitsSettled[a] = l, l
	}
	for i := range fresh.protect[:symbols] {
		fresh.protect[i] = r.i64()
		fresh.protectSettled[i] = fresh.protect[i]
	}
	fresh.fee = r.i64()
	fresh.feeSettled = fresh.fee
	if ver != snapVersionDense {
		if err := fresh.restoreRefs(&r, ver); err != nil {
			return err
		}
	}
	switch {
	case r.err != nil:
		return r.err
	case r.off != len(b):
		return fmt.Errorf("risk snapshot: %d trailing bytes", len(b)-r.off)
	}
	s.cells, s.pending, s.orders, s.funding, s.cur, s.fees = fresh.cells, fresh.pending, fresh.orders, fresh.funding, current{}, 0
	s.fundingChecked = Funding{Cash: fresh.funding.Cash, Inv: slices.Clone(fresh.funding.Inv)}
	s.opens = fresh.opens
	s.depositsChecked, s.depositsApplied = fresh.depositsChecked, fresh.depositsApplied
	s.ordersChecked, s.ordersDone = fresh.ordersChecked, fresh.ordersDone
	s.blocked, s.blockedSettled = fresh.blocked, fresh.blockedSettled
	s.limits, s.limitsSettled, s.protect, s.protectSettled = fresh.limits, fresh.limitsSettled, fresh.protect, fresh.protectSettled
	s.fee, s.feeSettled = fresh.fee, fresh.feeSettled
	s.refs.mu.Lock()
	s.refs.checked, s.refs.settled = fresh.refs.settled.clone(), fresh.refs.settled
	s.refs.mu.Unlock()
	s.listed, s.byRecord = symbols, false
	s.legacyAccounts = 0
	if ver == snapVersionDense {
		s.legacyAccounts = accounts
	}
	return nil
}

// restoreCells reads the snapshot's cells of accounts 0 to accounts into
// s, a fresh state: the open orders cells into the settle half's own
// numbers (settledCell), the others into cells. A short read leaves
// r.err for the caller.
func (s *State) restoreCells(r *reader, accounts, symbols int) error {
	for a := range accounts + 1 {
		for j := range 4 + symbols {
			i := a*s.stride + j
			total, held := r.i64(), r.i64()
			switch {
			case i == s.cashCell(0) && r.err == nil && held != 0:
				return fmt.Errorf("risk snapshot: the fee account's cash holds %d; it holds nothing", held)
			case j == 1 && r.err == nil:
				if total != 0 || held < 0 {
					return fmt.Errorf("risk snapshot: account %d: open orders total %d held %d; want total 0, held 0 or more", a, total, held)
				}
				s.opens[a] = held
				continue
			}
			c := &s.cells[i]
			c.total.Store(total)
			c.avail.Store(total - held)
		}
	}
	return nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b)-r.off < n {
		r.err = errShort
		return make([]byte, n)
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}
func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) i64() int64  { return int64(binary.LittleEndian.Uint64(r.take(8))) }

// Balance is one account's balances as the settle half has them.
type Balance struct {
	Account    uint32
	Cash       int64   // total cash, in cash units
	CashHeld   int64   // held by working buys
	OpenOrders int64   // working orders
	Blocked    bool    // by the operator's kill switch: OwnBlock or FirmBlock
	OwnBlock   bool    // blocked by the operator on its own (by its name)
	FirmBlock  bool    // blocked by the operator's block of its firm
	Inv        []int64 // total inventory by symbol id - 1, in lots
	InvHeld    []int64 // held by working sells
}

// BlocksHeld says which blocks b holds, as operators read them after
// "blocked true": " (own)", " (firm F)" or " (own, firm F)", F being
// firm, the name of the firm whose block it holds ("firm" alone when firm
// is ""); "" when it holds none.
func (b *Balance) BlocksHeld(firm string) string {
	if firm != "" {
		firm = " " + firm
	}
	switch {
	case b.OwnBlock && b.FirmBlock:
		return " (own, firm" + firm + ")"
	case b.OwnBlock:
		return " (own)"
	case b.FirmBlock:
		return " (firm" + firm + ")"
	}
	return ""
}

// Balance returns account a's balances; ok is false for an account the
// state does not have. Account 0 is the venue's fee account: its cash is
// the fees collected less those withdrawn, and it holds nothing else.
// Another goroutine than the settle half's sees each amount as it was at
// some moment of the last command (a live view).
func (s *State) Balance(a uint32) (b Balance, ok bool) {
	if a != 0 && !s.knownAccount(a) {
		return b, false
	}
	b = Balance{Account: a, Inv: make([]int64, len(s.cfg.Symbols)), InvHeld: make([]int64, len(s.cfg.Symbols))}
	b.Cash, b.CashHeld = s.cells[s.cashCell(a)].cellSeen()
	_, sells := s.cells[s.sideCell(a, matcher.Sell)].cellSeen()
	_, buys := s.cells[s.sideCell(a, matcher.Buy)].cellSeen()
	b.OpenOrders = sells + buys // the open orders cell is the settle half's alone (see cell)
	blocks := uint8(s.blockedSettled[a].Load())
	b.Blocked, b.OwnBlock, b.FirmBlock = blocks != 0, blocks&blockOwn != 0, blocks&blockFirm != 0
	for y := range s.cfg.Symbols {
		c := &s.cells[s.invCell(a, uint32(y+1))]
		b.Inv[y], b.InvHeld[y] = c.cellSeen()
	}
	return b, true
}

// Funding is what was deposited less what was withdrawn, venue-wide.
// Settle half's goroutine only.
func (s *State) Funding() Funding {
	return Funding{Cash: s.funding.Cash, Inv: slices.Clone(s.funding.Inv)}
}

// CombineHash folds the risk state's hash into partitions, the match
// partitions' combined hash (matcher.CombineHashes): the state hash a
// checkpoint of a venue with risk records. s nil: partitions itself, so a
// venue without risk hashes as it always did.
func CombineHash(partitions uint64, s *State) uint64 {
	if s == nil {
		return partitions
	}
	return matcher.CombineHashes([]uint64{partitions, s.Hash()})
}

// LegacyCombineHash is CombineHash with the risk state's LegacyHash: the
// state hash a checkpoint recorded before risk snapshot version 3.
func LegacyCombineHash(partitions uint64, s *State) uint64 {
	if s == nil {
		return partitions
	}
	return matcher.CombineHashes([]uint64{partitions, s.LegacyHash()})
}
