package matcher

import (
	"encoding/binary"
	mbits "math/bits"
)

// The engine's indexes are open-addressing hash tables with linear probing.
// Those over live orders are small (four to eight 8-byte slots a resting
// order), so they stay in cache; they delete by backward shift (no
// tombstones, so probe lengths do not decay) and double when a quarter
// full (see liveLoadDen), the only time they allocate. What the engine remembers about finished orders lives in the
// retired store below, whose memory is fixed by Config.ClOrdIDWindow.

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func clHash64(account uint32, id *ClOrdID) uint64 {
	const k = 0x9E3779B97F4A7C15
	le := binary.LittleEndian
	h := (uint64(account) + 1) * k
	h = (h ^ le.Uint64(id[0:])) * k
	h = (h ^ le.Uint64(id[8:])) * k
	h = (h ^ le.Uint64(id[16:])) * k
	return h
}

func fold(h uint64) uint32 { return uint32(h>>32) ^ uint32(h) }

// sameID compares two ClOrdIDs as three words: == on a 24-byte array is a
// call to memequal.
func sameID(a, b *ClOrdID) bool {
	le := binary.LittleEndian
	return le.Uint64(a[0:]) == le.Uint64(b[0:]) && le.Uint64(a[8:]) == le.Uint64(b[8:]) &&
		le.Uint64(a[16:]) == le.Uint64(b[16:])
}

// filterBitsOf picks the (up to) four bits of a ClOrdID in a filter word
// from f = mix64(clHash64); the word is f's low bits.
func filterBitsOf(f uint64) uint64 {
	return uint64(1)<<(f>>40&63) | uint64(1)<<(f>>46&63) | uint64(1)<<(f>>52&63) | uint64(1)<<(f>>58)
}

func orderHash(id int64) uint32 { return uint32(mix64(uint64(id))) }

// fibHome is the home slot of key x in a table of 1<<(64-shift) slots:
// Fibonacci hashing, one multiply, which spreads the sequential order ids
// and small account ids these tables hold evenly.
func fibHome(x uint64, shift uint8) int { return int((x * 0x9E3779B97F4A7C15) >> shift) }

// tableShift returns fibHome's shift for a table of size slots, a power of two.
func tableShift(size int) uint8 { return uint8(64 - mbits.TrailingZeros(uint(size))) }

// movable reports whether, during a backward-shift deletion that emptied
// slot i, the entry at slot j (whose home slot is h) may move back to i: it
// may unless h lies cyclically in (i, j].
func movable(i, j, h int) bool {
	if i <= j {
		return h <= i || h > j
	}
	return h <= i && h > j
}

// idMap maps the id of each live order to its pool index. A slot holds the
// id's low 32 bits, which place it (ids are command sequence numbers, so
// their low bits spread well) and rule out most others; the order itself
// confirms the whole id, so a slot is 8 bytes.
type idMap struct {
	slots []idSlot
	n     int
	shift uint8
}

type idSlot struct {
	lo  uint32 // the id's low 32 bits
	ref int32  // pool index; 0 = empty slot
}

func (m *idMap) init(size int) { m.slots, m.n, m.shift = make([]idSlot, size), 0, tableShift(size) }

func (m *idMap) home(lo uint32) int { return fibHome(uint64(lo), m.shift) }

// get returns the live order whose id is key, or 0.
func (m *idMap) get(orders []order, key int64) int32 {
	mask := len(m.slots) - 1
	lo := uint32(key)
	for i := m.home(lo); ; i = (i + 1) & mask {
		s := m.slots[i]
		if s.ref == 0 || s.lo == lo && orders[s.ref].id == key {
			return s.ref
		}
	}
}

// put adds live order ref under id key, which must be absent.
func (m *idMap) put(key int64, ref int32) {
	if liveLoadDen*(m.n+1) > len(m.slots) {
		old := m.slots
		m.init(2 * len(old))
		for _, s := range old {
			if s.ref != 0 {
				m.insert(s)
			}
		}
	}
	m.insert(idSlot{uint32(key), ref})
}

func (m *idMap) insert(s idSlot) {
	mask := len(m.slots) - 1
	i := m.home(s.lo)
	for m.slots[i].ref != 0 {
		i = (i + 1) & mask
	}
	m.slots[i] = s
	m.n++
}

// del drops live order ref, whose id is key.
func (m *idMap) del(key int64, ref int32) {
	mask := len(m.slots) - 1
	i := m.home(uint32(key))
	for m.slots[i].ref != ref {
		if m.slots[i].ref == 0 {
			panic("matcher: deleting an order id that is not live")
		}
		i = (i + 1) & mask
	}
	m.n--
	for j := i; ; {
		m.slots[i] = idSlot{}
		for {
			j = (j + 1) & mask
			if m.slots[j].ref == 0 {
				return
			}
			if movable(i, j, m.home(m.slots[j].lo)) {
				break
			}
		}
		m.slots[i] = m.slots[j]
		i = j
	}
}

// clMap maps (account, ClOrdID) of each live order to its pool index. The
// key itself is read from the order, so a slot is 8 bytes.
type clMap struct {
	slots []clSlot
	n     int
}

type clSlot struct {
	h   uint32
	ref int32 // pool index; 0 = empty slot
}

func (m *clMap) init(size int) { m.slots, m.n = make([]clSlot, size), 0 }

// find returns the live order of (account, id), whose clHash64 is h64, or 0.
func (m *clMap) find(orders []order, account uint32, id *ClOrdID, h64 uint64) int32 {
	h := fold(h64)
	mask := uint32(len(m.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := m.slots[i]
		if s.ref == 0 {
			return 0
		}
		if s.h == h {
			if o := &orders[s.ref]; o.account == account && sameID(&o.clOrd, id) {
				return s.ref
			}
		}
	}
}

// put adds live order ref under its account and ClOrdID, which must be absent.
func (m *clMap) put(o *order, ref int32) {
	if liveLoadDen*(m.n+1) > len(m.slots) {
		old := m.slots
		m.init(2 * len(old))
		for _, s := range old {
			if s.ref != 0 {
				m.insert(s)
			}
		}
	}
	m.insert(clSlot{fold(o.clh), ref})
}

func (m *clMap) insert(s clSlot) {
	mask := uint32(len(m.slots) - 1)
	i := s.h & mask
	for m.slots[i].ref != 0 {
		i = (i + 1) & mask
	}
	m.slots[i] = s
	m.n++
}

// remove drops live order ref, which is filed under o's account and ClOrdID.
func (m *clMap) remove(o *order, ref int32) {
	mask := len(m.slots) - 1
	i := int(fold(o.clh)) & mask
	for m.slots[i].ref != ref {
		if m.slots[i].ref == 0 {
			panic("matcher: live ClOrdID missing from its table")
		}
		i = (i + 1) & mask
	}
	m.n--
	for j := i; ; {
		m.slots[i] = clSlot{}
		for {
			j = (j + 1) & mask
			if m.slots[j].ref == 0 {
				return
			}
			if movable(i, j, int(m.slots[j].h)&mask) {
				break
			}
		}
		m.slots[i] = m.slots[j]
		i = j
	}
}

// acctMap maps an account with live orders to the list of them, oldest
// first. Accounts are interned at the edge, so most are small integers:
// those below acctDirectMax are found by direct index in a table that
// grows (by doubling, to the largest such account seen) and never
// shrinks; the others live in a hash table.
type acctMap struct {
	direct []acctSlot // indexed by account; used marks an account with live orders
	slots  []acctSlot
	n      int // accounts in slots
	shift  uint8
}

// acctDirectMax bounds the direct table: 16 bytes an account, 256 KiB at most.
const acctDirectMax = 1 << 14

type acctSlot struct {
	account uint32
	used    bool
	head    int32
	tail    int32
}

func (m *acctMap) init(size int) {
	m.direct = nil
	m.initHashed(size)
}

func (m *acctMap) initHashed(size int) {
	m.slots, m.n, m.shift = make([]acctSlot, size), 0, tableShift(size)
}

func (m *acctMap) home(a uint32) int { return fibHome(uint64(a), m.shift) }

func (m *acctMap) get(a uint32) *acctSlot {
	if a < uint32(len(m.direct)) {
		if s := &m.direct[a]; s.used {
			return s
		}
		return nil
	}
	if a < acctDirectMax {
		return nil
	}
	mask := len(m.slots) - 1
	for i := m.home(a); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if !s.used {
			return nil
		}
		if s.account == a {
			return s
		}
	}
}

func (m *acctMap) put(a uint32) *acctSlot {
	if a < acctDirectMax {
		if a >= uint32(len(m.direct)) {
			n := max(64, len(m.direct))
			for uint32(n) <= a {
				n *= 2
			}
			m.direct = append(m.direct, make([]acctSlot, n-len(m.direct))...)
		}
		s := &m.direct[a]
		if !s.used {
			*s = acctSlot{account: a, used: true}
		}
		return s
	}
	if 2*(m.n+1) > len(m.slots) {
		old := m.slots
		m.initHashed(2 * len(old))
		for i := range old {
			if old[i].used {
				*m.put(old[i].account) = old[i]
			}
		}
	}
	mask := len(m.slots) - 1
	for i := m.home(a); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if !s.used {
			*s = acctSlot{account: a, used: true}
			m.n++
			return s
		}
		if s.account == a {
			return s
		}
	}
}

func (m *acctMap) del(a uint32) {
	if a < acctDirectMax {
		m.direct[a] = acctSlot{}
		return
	}
	mask := len(m.slots) - 1
	i := m.home(a)
	for m.slots[i].account != a {
		i = (i + 1) & mask
	}
	m.n--
	for j := i; ; {
		m.slots[i] = acctSlot{}
		for {
			j = (j + 1) & mask
			if !m.slots[j].used {
				return
			}
			if movable(i, j, m.home(m.slots[j].account)) {
				break
			}
		}
		m.slots[i] = m.slots[j]
		i = j
	}
}

// accounts appends the accounts with live orders to dst, in no order.
func (m *acctMap) accounts(dst []uint32) []uint32 {
	for _, t := range [2][]acctSlot{m.direct, m.slots} {
		for i := range t {
			if t[i].used {
				dst = append(dst, t[i].account)
			}
		}
	}
	return dst
}

// push appends live order oi to its account's list.
func (m *acctMap) push(orders []order, oi int32) {
	o := &orders[oi]
	var a *acctSlot
	if acct := o.account; acct < uint32(len(m.direct)) {
		a = &m.direct[acct]
		a.account, a.used = acct, true
	} else {
		a = m.put(acct)
	}
	o.aprev, o.anext = a.tail, 0
	if a.tail != 0 {
		orders[a.tail].anext = oi
	} else {
		a.head = oi
	}
	a.tail = oi
}

// remove takes order oi out of its account's list, forgetting the account
// when it has no live orders left.
func (m *acctMap) remove(orders []order, oi int32) {
	o := &orders[oi]
	direct := o.account < uint32(len(m.direct))
	var a *acctSlot
	if direct {
		a = &m.direct[o.account]
	} else {
		a = m.get(o.account)
	}
	if o.aprev != 0 {
		orders[o.aprev].anext = o.anext
	} else {
		a.head = o.anext
	}
	if o.anext != 0 {
		orders[o.anext].aprev = o.aprev
	} else {
		a.tail = o.aprev
	}
	o.aprev, o.anext = 0, 0
	if a.head == 0 {
		if direct {
			a.used = false // head and tail are 0 already
		} else {
			m.del(o.account)
		}
	}
}

// retRec is one retired ClOrdID: the id of an order that finished, or one
// that a replace took away from a live order. A finished order's record
// also remembers its order id (so the order is "too late" by either name)
// and its final state, for an order status request: quantities, notional,
// price, side, time in force and the reason it ended. A record taken away
// by a replace keeps only the ids: its final state is all zero.
//
// The small fields share one word (state, see retState) so that a record
// is 64 bytes, one cache line: it is written in place on every finished
// order, the hot path. For the same reason account holds two ids, as a
// journaled command's Account field does (Command.Encode): the session's
// account in its lower half (a session account never exceeds MaxOwner:
// checkNew), and in its upper half the order's trading account when it
// is another (Command.Owner; 0 when the session's own), which a status
// answer names.
type retRec struct {
	orderID  int64
	notional int64    // sum of fill qty × fill price
	state    retState // price, side, TIF, end reason, finished
	id       ClOrdID
	account  uint32 // session account | trading account << 16 (see above)
	symbol   uint32
	qty      uint32 // order quantity in lots (at most MaxQtyLots)
	cum      uint32 // filled quantity in lots
}

// session is the account of the session that placed the order.
func (rec *retRec) session() uint32 { return rec.account & MaxOwner }

// owner is the order's trading account when it is not its session's
// own, else 0.
func (rec *retRec) owner() uint32 { return rec.account >> 16 }

// packAccounts is retRec.account for an order of session account a whose
// trading account is owner (a itself, or a firm's account up to MaxOwner).
func packAccounts(a, owner uint32) uint32 {
	if owner == a || owner > MaxOwner {
		return a
	}
	return a | owner<<16
}

// retState packs a record's small fields into one word:
//
//	bits 0..39   limit price in ticks (0 for a market order)
//	bits 40..47  Reason the order ended: ReasonNone when it filled
//	bits 48..55  TIF
//	bits 56..62  Side
//	bit  63      finished (clear: a ClOrdID a replace took away)
type retState uint64

const (
	retPxBits    = 40
	retFinished  = retState(1) << 63
	retPxMask    = retState(1)<<retPxBits - 1
	retSideShift = 56
)

// Prices and quantities fit their fields.
var (
	_ = [1]struct{}{}[MaxPriceTicks>>retPxBits]
	_ = [1]struct{}{}[MaxQtyLots>>32]
)

func finishedState(o *order, end Reason) retState {
	return retFinished | retState(o.price) | retState(end)<<retPxBits |
		retState(o.tif)<<48 | retState(o.side)<<retSideShift
}

func (s retState) finished() bool { return s&retFinished != 0 }
func (s retState) price() int64   { return int64(s & retPxMask) }
func (s retState) end() Reason    { return Reason(s >> retPxBits) }
func (s retState) tif() TIF       { return TIF(s >> 48) }
func (s retState) side() Side     { return Side(s >> retSideShift & 0x7F) }

// retSlot refers to a record in the ring: ref is its ring index + 1, with
// the top bit set when the slot is keyed by order id rather than ClOrdID.
type retSlot struct {
	h   uint32
	ref uint32
}

func b2u(b bool) uint {
	if b {
		return 1
	}
	return 0
}

const (
	retOrderKey = 1 << 31
	retGens     = 7 // generations lookups see; an eighth is being zeroed
	retAll      = retGens + 1
)

// findCl's unrolled filter check reads exactly eight generations.
var _ = [1]struct{}{}[retAll-8]

// retired remembers the most recent retired ClOrdIDs in generations of n
// records (n = perGen): the current generation and the retGens-1 before it,
// so between (retGens-1)·n and retGens·n records. Records go to a ring of
// retGens·n; each generation has its own small hash table and a blocked
// Bloom filter of its ClOrdIDs (16 bits each, 4 set per id).
//
// The point is the cache: a new record goes into the current generation's
// table, small enough to stay in cache (n = 2048 by default: 64 KiB); the
// filters of all generations are interleaved so that the eight words a
// ClOrdID hashes to share one cache line. In front of them, a union filter
// covering every visible generation (and at most as many older ones, see
// unionFor) answers a lookup of a fresh ClOrdID, the common case, with one
// word and a compare; only when it says "maybe" are the eight words read,
// and then only the tables they point to. When the current generation
// fills, the oldest one is forgotten wholesale: its table and filter words
// were zeroed in steps during the generation before, so forgetting costs
// neither cache misses nor a pause.
//
// Memory is fixed by n: retGens·n records of 64 bytes, retAll tables of
// nextPow2(4n) 8-byte slots, a filter of nextPow2(n/4) 64-byte lines, and
// two union filters of nextPow2(2n) words.
type retired struct {
	perGen      int
	ring        []retRec // grows to retGens·n, then record k lives at k % (retGens·n)
	total       int64    // records ever added
	genFill     int      // records in the current generation
	ringAt      int      // ring index of the next record
	gens        [retAll][]retSlot
	filter      []uint64 // word of line w for generation g at w*retAll + g
	cur         int      // current generation; (cur+1) % retAll is being zeroed
	visible     uint     // bit g set when generation g is seen by lookups: all but (cur+1) % retAll
	zeroAt      int      // next slot of the table being zeroed
	zeroFAt     int      // next line whose word of the generation being zeroed is cleared
	genSlots    int
	filterLines int
	zeroBatch   int // table slots zeroed per zeroing step
	zeroFBatch  int // filter lines zeroed per zeroing step

	// The union filters answer the common question, "is this ClOrdID
	// fresh?", with one word; see unionFor.
	gen        int64       // generations started before the current one
	union      [2][]uint64 // blocked Bloom filters, uwords words each
	uwords     int
	uActive    int // the union lookups read
	uClear     int // the union being zeroed in this generation, or -1
	zeroUAt    int // next word of that union to zero
	zeroUBatch int // union words zeroed per zeroing step
}

// The generation being zeroed is cleared in steps, one every zeroEvery
// records, each a clear of zeroBatch slots: a few memclr calls per
// generation rather than a loop on every record.
const zeroEvery = 16

// retPerGen returns the generation size that remembers at least window records.
func retPerGen(window int) int { return max(1, (window+retGens-2)/(retGens-1)) }

func (r *retired) init(window int) { r.initPerGen(retPerGen(window)) }

func (r *retired) initPerGen(n int) {
	*r = retired{perGen: n, genSlots: 4, filterLines: 1}
	for r.genSlots < 4*n {
		r.genSlots *= 2
	}
	for r.filterLines < n/4 {
		r.filterLines *= 2
	}
	steps := (n + zeroEvery - 1) / zeroEvery // zeroing steps per generation: at fills 1, 1+zeroEvery, ...
	r.zeroBatch = (r.genSlots + steps - 1) / steps
	r.zeroFBatch = (r.filterLines + steps - 1) / steps
	r.visible = retVisible(r.cur)
	r.uwords = 1
	for r.uwords < 2*n {
		r.uwords *= 2
	}
	r.zeroUBatch = (r.uwords + steps - 1) / steps
	r.uActive, r.uClear = unionFor(0)
}

// reset forgets every record, as at the start: the end of a trading day.
// It keeps the memory already allocated and zeroes it, so the next day's
// records allocate nothing new. Cold path.
func (r *retired) reset() {
	ring, gens, filter, union := r.ring, r.gens, r.filter, r.union
	r.initPerGen(r.perGen)
	for _, t := range gens {
		clear(t)
	}
	clear(filter)
	clear(union[0])
	clear(union[1])
	// The ring keeps its length: records are written in place from index
	// 0 again, and lookups reach only those the tables point to.
	r.ring, r.gens, r.filter, r.union = ring, gens, filter, union
}

// unionFor returns, for generation g, the union filter lookups read and
// the one being zeroed (-1: none).
//
// Union u restarts empty at every generation s with s/retGens%2 == u and
// s%retGens == 0, and takes every ClOrdID added from then until it is
// zeroed, in the generation before its next restart. A lookup in
// generation g sees generations g-retGens+1..g, so it reads the union that
// restarted last at or before g-retGens+1: no visible ClOrdID is missing
// from it. It covers at most 2·retGens generations, so a fresh ClOrdID
// passes it unless all four of its bits are set by chance (about 1% of the
// time at the default sizes), and only then are the generations' filters
// read.
func unionFor(g int64) (active, clearing int) {
	active = int(max(g-(retGens-1), 0) / retGens % 2)
	clearing = -1
	if next := g + 1; next%retGens == 0 && next >= 2*retGens {
		clearing = int(next / retGens % 2)
	}
	return active, clearing
}

// retVisible returns the generations lookups see when cur is current.
func retVisible(cur int) uint {
	return (1<<retAll - 1) &^ (1 << (uint(cur+1) % retAll))
}

// add remembers ClOrdID id of order o, retired because o finished (st is
// its finishedState) or because a replace took id away (st is 0); h is
// clHash64(o.account, id). Hot path: the record is written in place.
func (r *retired) add(o *order, id *ClOrdID, st retState, h uint64) {
	if r.genFill == r.perGen {
		next := int(uint(r.cur+1) % retAll)
		if r.gens[next] != nil && (r.zeroAt < r.genSlots || r.zeroFAt < r.filterLines) {
			panic("matcher: retired generation reused before it was zeroed")
		}
		if r.uClear >= 0 && r.zeroUAt < r.uwords {
			panic("matcher: union filter restarted before it was zeroed")
		}
		r.cur, r.genFill = next, 0
		r.zeroAt, r.zeroFAt, r.zeroUAt = 0, 0, 0
		r.visible = retVisible(next)
		r.gen++
		r.uActive, r.uClear = unionFor(r.gen)
	}
	i := r.ringAt
	if i == len(r.ring) {
		if r.ring == nil {
			// The whole ring at once: appending one record at a time
			// would copy it at every doubling (and leave the old
			// arrays to the collector). Its pages are touched as it
			// fills.
			r.ring = make([]retRec, 0, retGens*r.perGen)
		}
		r.ring = append(r.ring, retRec{})
	}
	rec := &r.ring[i]
	rec.orderID, rec.account, rec.symbol, rec.state = o.id, packAccounts(o.account, o.owner), o.symbol, st
	rec.id = *id // alone: see emit
	if st.finished() {
		rec.notional, rec.qty, rec.cum = o.notional, uint32(o.qty), uint32(o.cum)
	} else {
		rec.notional, rec.qty, rec.cum = 0, 0, 0 // the order lives on: no final state
	}
	r.total++
	r.genFill++
	if r.ringAt++; r.ringAt == retGens*r.perGen {
		r.ringAt = 0
	}
	t := r.gens[r.cur]
	if t == nil {
		t = make([]retSlot, r.genSlots)
		r.gens[r.cur] = t
		if r.filter == nil {
			r.filter = make([]uint64, r.filterLines*retAll)
			r.union[0] = make([]uint64, r.uwords)
			r.union[1] = make([]uint64, r.uwords)
		}
	}
	f := mix64(h)
	bits := filterBitsOf(f)
	r.filter[int(f)&(r.filterLines-1)*retAll+r.cur] |= bits
	uw := int(f) & (r.uwords - 1)
	if r.uClear != 0 {
		r.union[0][uw] |= bits
	}
	if r.uClear != 1 {
		r.union[1][uw] |= bits
	}
	r.insert(t, retSlot{fold(h), uint32(i + 1)})
	if st.finished() {
		r.insert(t, retSlot{orderHash(o.id), uint32(i+1) | retOrderKey})
	}
	if uint(r.genFill)%zeroEvery == 1%zeroEvery {
		r.zeroStep()
	}
}

// zeroStep clears the next part of the generation being zeroed.
func (r *retired) zeroStep() {
	if u := r.uClear; u >= 0 {
		end := min(r.zeroUAt+r.zeroUBatch, r.uwords)
		clear(r.union[u][r.zeroUAt:end])
		r.zeroUAt = end
	}
	z := int(uint(r.cur+1) % retAll)
	gz := r.gens[z]
	if gz == nil {
		return
	}
	end := min(r.zeroAt+r.zeroBatch, r.genSlots)
	clear(gz[r.zeroAt:end])
	r.zeroAt = end
	end = min(r.zeroFAt+r.zeroFBatch, r.filterLines)
	for ; r.zeroFAt < end; r.zeroFAt++ {
		r.filter[r.zeroFAt*retAll+z] = 0
	}
}

func (r *retired) insert(t []retSlot, s retSlot) {
	mask := uint32(len(t) - 1)
	i := s.h & mask
	for t[i].ref != 0 {
		i = (i + 1) & mask
	}
	t[i] = s
}

// findCl returns the record of (account, id), whose clHash64 is h64, or nil.
func (r *retired) findCl(account uint32, id *ClOrdID, h64 uint64) *retRec {
	if r.filter == nil {
		return nil
	}
	f := mix64(h64)
	bits := filterBitsOf(f)
	if r.union[r.uActive][int(f)&(r.uwords-1)]&bits != bits {
		return nil // fresh: the common case
	}
	line := (*[retAll]uint64)(r.filter[int(f)&(r.filterLines-1)*retAll:])
	// Which generations may hold it; bits is never 0, and an unused
	// generation's words are. At most one really does: ids are unique.
	// Unrolled and branch-free: a fresh ClOrdID, the common case, is in
	// none of them.
	maybe := b2u(line[0]&bits == bits) | b2u(line[1]&bits == bits)<<1 |
		b2u(line[2]&bits == bits)<<2 | b2u(line[3]&bits == bits)<<3 |
		b2u(line[4]&bits == bits)<<4 | b2u(line[5]&bits == bits)<<5 |
		b2u(line[6]&bits == bits)<<6 | b2u(line[7]&bits == bits)<<7
	maybe &= r.visible // the one being zeroed is forgotten
	if maybe == 0 {
		return nil
	}
	h := fold(h64)
	for maybe != 0 {
		t := r.gens[mbits.TrailingZeros(maybe)]
		maybe &= maybe - 1
		mask := uint32(len(t) - 1)
		for i := h & mask; t[i].ref != 0; i = (i + 1) & mask {
			if s := t[i]; s.h == h && s.ref&retOrderKey == 0 {
				if rec := &r.ring[s.ref-1]; rec.session() == account && sameID(&rec.id, id) {
					return rec
				}
			}
		}
	}
	return nil
}

// findOrder returns the record of finished order id, or nil.
func (r *retired) findOrder(id int64) *retRec {
	h := orderHash(id)
	g := r.cur
	for range retGens {
		if t := r.gens[g]; t != nil {
			mask := uint32(len(t) - 1)
			for i := h & mask; t[i].ref != 0; i = (i + 1) & mask {
				if s := t[i]; s.h == h && s.ref&retOrderKey != 0 {
					if rec := &r.ring[s.ref&^retOrderKey-1]; rec.orderID == id {
						return rec
					}
				}
			}
		}
		g = (g + retGens) % retAll
	}
	return nil
}

// remembered returns how many records lookups can see, and the absolute
// index of the oldest.
func (r *retired) remembered() (count int, first int64) {
	if r.total == 0 {
		return 0, 0
	}
	n := int64(r.perGen)
	first = max(0, ((r.total-1)/n-(retGens-1))*n)
	return int(r.total - first), first
}

// each calls f for every remembered record, oldest first.
func (r *retired) each(f func(*retRec)) {
	count, first := r.remembered()
	for k := range int64(count) {
		f(&r.ring[(first+k)%int64(retGens*r.perGen)])
	}
}

// liveLoadDen: the live order tables double when more than 1/liveLoadDen
// full, so they run between 1/8 and 1/4 full. At that load an entry's
// neighbour slot is usually empty, so a lookup reads one slot and a
// backward-shift delete moves nothing.
const liveLoadDen = 4
