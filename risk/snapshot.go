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

// Snapshot layout, little-endian (version 1):
//
//	u8 version | u8 mode | u32 accounts A | u32 symbols S
//	(A+1) × (4+S) cells, account 0 first: i64 total | i64 held
//	    (cash, open orders, open sells, open buys, then inventory of symbols 1..S)
//	i64 funding cash | S × i64 funding inventory
//	u32 n | n × (ascending order id): i64 id | u32 account | u32 symbol | u8 side | i64 unit | i64 leaves
//	u32 b | b × (ascending) u32 account blocked by the operator
//	(A+1) × limits: i64 maxOrderQty | i64 maxOrderNotional | i64 maxOpenOrders
//	S × i64 protection price | i64 fee (basis points)
//
// and each order's entry ends with i64 its fee (basis points).
//
// Version 2 is version 1 and, at its end, the operator's request
// references the state remembers (refs.go), oldest first:
//
//	u32 r | r × (24-byte reference | u32 account | i64 seq | u8 reason |
//	    u8 kind | u32 symbol | i64 amount)
//
// (the record's outcome, then its request: RefRequest)
//
// written only when there is one: a state without (every state of a
// journal written before references existed) is the version 1 snapshot it
// always was, byte for byte, so its hash, which checkpoints recorded,
// does not change. Restore reads both.
//
// It is the settle half's state: take it when the settle half has passed
// the checkpoint and Check has nothing pending that it has not (the node
// takes it in its publish stage; Restore starts with nothing pending).
const (
	snapVersion     = 1
	snapVersionRefs = 2
)

// settledCell is cell i's total and hold as the settle half has them:
// the open orders cells and the fee account's cash are its own numbers
// (see cell). The settle half's goroutine only.
func (s *State) settledCell(i int) (total, held int64) {
	switch {
	case i == s.cashCell(0):
		return s.feeCash, 0
	case i%s.stride == s.openCell(0):
		return 0, s.opens[i/s.stride]
	}
	return s.cells[i].total.Load(), s.cells[i].held()
}

// Snapshot appends the state to dst. Cold path: it sorts the working
// orders.
func (s *State) Snapshot(dst []byte) []byte {
	le := binary.LittleEndian
	ver := byte(snapVersion)
	if len(s.refs.settled.order) != 0 {
		ver = snapVersionRefs
	}
	dst = append(dst, ver, byte(s.cfg.Mode))
	dst = le.AppendUint32(dst, uint32(s.cfg.Accounts))
	dst = le.AppendUint32(dst, uint32(len(s.cfg.Symbols)))
	for i := range s.cells {
		total, held := s.settledCell(i)
		dst = le.AppendUint64(dst, uint64(total))
		dst = le.AppendUint64(dst, uint64(held))
	}
	dst = le.AppendUint64(dst, uint64(s.funding.Cash))
	for _, v := range s.funding.Inv {
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
		if s.blockedSettled[a].Load() {
			blocked = append(blocked, uint32(a))
		}
	}
	dst = le.AppendUint32(dst, uint32(len(blocked)))
	for _, a := range blocked {
		dst = le.AppendUint32(dst, a)
	}
	for _, l := range s.limitsSettled {
		dst = le.AppendUint64(dst, uint64(l.MaxOrderQty))
		dst = le.AppendUint64(dst, uint64(l.MaxOrderNotional))
		dst = le.AppendUint64(dst, uint64(l.MaxOpenOrders))
	}
	for _, p := range s.protectSettled {
		dst = le.AppendUint64(dst, uint64(p))
	}
	dst = le.AppendUint64(dst, uint64(s.feeSettled))
	if ver == snapVersionRefs {
		dst = le.AppendUint32(dst, uint32(len(s.refs.settled.order)))
		s.refs.settled.each(func(k refKey, o RefOutcome) {
			dst = append(dst, k.ref[:]...)
			dst = le.AppendUint32(dst, k.account)
			dst = le.AppendUint64(dst, uint64(o.Seq))
			dst = append(dst, byte(o.Reason), byte(o.Request.Kind))
			dst = le.AppendUint32(dst, o.Request.Symbol)
			dst = le.AppendUint64(dst, uint64(o.Request.Amount))
		})
	}
	return dst
}

// Hash is the state's hash: FNV-64a of its Snapshot.
func (s *State) Hash() uint64 {
	h := fnv.New64a()
	h.Write(s.Snapshot(nil))
	return h.Sum64()
}

var errShort = errors.New("risk snapshot: truncated")

// Restore replaces the state with a snapshot taken with the same mode and
// symbols and at most as many accounts (sessions appended since are empty).
func (s *State) Restore(b []byte) error {
	r := reader{b: b}
	ver, mode := r.u8(), Mode(r.u8())
	accounts, symbols := int(r.u32()), int(r.u32())
	switch {
	case r.err != nil:
		return r.err
	case ver != snapVersion && ver != snapVersionRefs:
		return fmt.Errorf("risk snapshot: version %d, want %d or %d", ver, snapVersion, snapVersionRefs)
	case mode != s.cfg.Mode || symbols != len(s.cfg.Symbols) || accounts > s.cfg.Accounts:
		return fmt.Errorf("risk snapshot: mode %d, %d accounts, %d symbols; the config has mode %d, %d accounts, %d symbols",
			mode, accounts, symbols, s.cfg.Mode, s.cfg.Accounts, len(s.cfg.Symbols))
	}
	fresh, _ := New(s.cfg)
	if err := fresh.restoreCells(&r, accounts); err != nil {
		return err
	}
	fresh.funding.Cash = r.i64()
	for i := range fresh.funding.Inv {
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
		a := r.u32()
		if r.err != nil {
			break
		}
		if !fresh.knownAccount(a) {
			return fmt.Errorf("risk snapshot: blocked account %d is not 1 to %d", a, fresh.cfg.Accounts)
		}
		fresh.blocked[a] = true
		fresh.blockedSettled[a].Store(true)
	}
	for a := range accounts + 1 {
		l := Limits{MaxOrderQty: r.i64(), MaxOrderNotional: r.i64(), MaxOpenOrders: r.i64()}
		if l.validate() != nil {
			return fmt.Errorf("risk snapshot: account %d: %w", a, l.validate())
		}
		fresh.limits[a], fresh.limitsSettled[a] = l, l
	}
	for i := range fresh.protect {
		fresh.protect[i] = r.i64()
		fresh.protectSettled[i] = fresh.protect[i]
	}
	fresh.fee = r.i64()
	fresh.feeSettled = fresh.fee
	if ver == snapVersionRefs {
		if err := fresh.restoreRefs(&r); err != nil {
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
	s.opens, s.feeCash = fresh.opens, fresh.feeCash
	s.depositsChecked, s.depositsApplied = fresh.depositsChecked, fresh.depositsApplied
	s.ordersChecked, s.ordersDone = fresh.ordersChecked, fresh.ordersDone
	s.blocked, s.blockedSettled = fresh.blocked, fresh.blockedSettled
	s.limits, s.limitsSettled, s.protect, s.protectSettled = fresh.limits, fresh.limitsSettled, fresh.protect, fresh.protectSettled
	s.fee, s.feeSettled = fresh.fee, fresh.feeSettled
	s.refs.mu.Lock()
	s.refs.checked, s.refs.settled = fresh.refs.settled.clone(), fresh.refs.settled
	s.refs.mu.Unlock()
	return nil
}

// restoreRefs reads a version 2 snapshot's references into s, a fresh
// state. A short read leaves r.err for the caller.
func (s *State) restoreRefs(r *reader) error {
	n := int(r.u32())
	if r.err == nil && (n == 0 || n > MaxOperatorRefs) {
		return fmt.Errorf("risk snapshot: %d operator references (1 to %d)", n, MaxOperatorRefs)
	}
	for range n {
		var k refKey
		copy(k.ref[:], r.take(matcher.IDLen))
		k.account = r.u32()
		o := RefOutcome{Seq: r.i64(), Reason: matcher.Reason(r.u8())}
		o.Request = RefRequest{Kind: matcher.Kind(r.u8()), Symbol: r.u32(), Amount: r.i64()}
		if r.err != nil {
			return nil
		}
		if _, dup := s.refs.settled.get(k); dup || k.ref == (matcher.ClOrdID{}) || o.Seq < 1 ||
			o.Reason >= matcher.NumReasons || refusedByRef(o.Reason) {
			return fmt.Errorf("risk snapshot: operator reference %q of account %d at seq %d (%v): empty, repeated or not a record's outcome", k.ref.String(), k.account, o.Seq, o.Reason)
		}
		if _, ok := refOf(&matcher.Command{Kind: o.Request.Kind, OrigClOrdID: k.ref}); !ok {
			return fmt.Errorf("risk snapshot: operator reference %q of account %d at seq %d: kind %v is not an operator's request", k.ref.String(), k.account, o.Seq, o.Request.Kind)
		}
		s.refs.settled.put(k, o)
	}
	return nil
}

// restoreCells reads the snapshot's cells of accounts 0 to accounts into
// s, a fresh state: the fee account's cash and the open orders cells into
// the settle half's own numbers (settledCell), the others into cells.
// A short read leaves r.err for the caller.
func (s *State) restoreCells(r *reader, accounts int) error {
	for i := range (accounts + 1) * s.stride {
		total, held := r.i64(), r.i64()
		switch {
		case i == s.cashCell(0) && r.err == nil:
			if held != 0 {
				return fmt.Errorf("risk snapshot: the fee account's cash holds %d; it holds nothing", held)
			}
			s.feeCash = total
			continue
		case i%s.stride == s.openCell(0) && r.err == nil:
			if total != 0 || held < 0 {
				return fmt.Errorf("risk snapshot: account %d: open orders total %d held %d; want total 0, held 0 or more", i/s.stride, total, held)
			}
			s.opens[i/s.stride] = held
			continue
		}
		c := &s.cells[i]
		c.total.Store(total)
		c.avail.Store(total - held)
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
	Blocked    bool    // by the operator's kill switch
	Inv        []int64 // total inventory by symbol id - 1, in lots
	InvHeld    []int64 // held by working sells
}

// Balance returns account a's balances; ok is false for an account the
// state does not have. Another goroutine than the settle half's sees each
// amount as it was at some moment of the last command (a live view).
func (s *State) Balance(a uint32) (b Balance, ok bool) {
	if !s.knownAccount(a) {
		return b, false
	}
	b = Balance{Account: a, Inv: make([]int64, len(s.cfg.Symbols)), InvHeld: make([]int64, len(s.cfg.Symbols))}
	b.Cash, b.CashHeld = s.cells[s.cashCell(a)].cellSeen()
	_, sells := s.cells[s.sideCell(a, matcher.Sell)].cellSeen()
	_, buys := s.cells[s.sideCell(a, matcher.Buy)].cellSeen()
	b.OpenOrders = sells + buys // the open orders cell is the settle half's alone (see cell)
	b.Blocked = s.blockedSettled[a].Load()
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
