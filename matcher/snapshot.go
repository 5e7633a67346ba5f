package matcher

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Snapshot layout (versions 2 to 9). Integers are little-endian; the form is
// canonical: two engines in the same state write the same bytes, whatever
// the history of their pools and hash tables.
//
//	header   "RGXM" u32 version | u8 stp | u32 symbols | u32 maxOrders | u32 retired generation size |
//	         i64 last accepted new order's Seq
//	         (symbols: the Config's count until a KindSymbolScale record
//	         is applied, then the highest symbol those named; a Config
//	         with more symbols restores it, its appended books empty:
//	         listedSymbols, symbolscale.go)
//	bands    (versions 7 to 9) u32 n (1 or more; 0 too from version 8), then n × (ascending symbol id):
//	           u32 symbol | i64 band ticks | i64 reference price
//	         (the books whose band a KindBand record set other than the
//	         Config's, band.go; a listed book's last price is its reference
//	         price unless the books section gives one)
//	books    u32 n, then n × (ascending symbol id; only books with orders or a
//	         last price other than RefPrice):
//	           u32 symbol | i64 lastPx | bids | asks
//	         side: u32 levels, then per level, best first:
//	           i64 price | u32 orders, then per order, oldest first:
//	             i64 id | i64 qty | i64 leaves | i64 cum | i64 notional |
//	             u32 account | [24]byte ClOrdID | u8 ordType | u8 tif
//	accounts u32 n, then n × (ascending account): u32 account | u32 k | k × i64 order id
//	         (each account's live orders in acceptance order: mass cancel order)
//	retired  u32 n (at most retGens × generation size), then n × (oldest first):
//	           u8 finished | u32 account | u32 symbol | [24]byte ClOrdID | i64 order id
//	           and when finished=1, the order's final state:
//	           u8 end reason | u8 side | u8 tif | i64 price | i64 qty | i64 cum | i64 notional
//	         (a remembered retired ClOrdID; finished=1 when the order itself
//	         finished then, which also remembers its id as "too late" and what
//	         a status request reports; the records fill generations in order,
//	         as they did when added)
//
//	bindings (versions 3 to 9) u32 n (1..MaxBoundAccounts; 0 too from version 4), then n × (ascending account):
//	           u32 account | u8 len | name (len bytes)
//
//	owners   (versions 4 to 9) u32 n, then n × (ascending order id):
//	           i64 order id | u32 owner | u32 STP group
//	         (the resting orders whose trading account is not their
//	         session's own, or that are in an STP group; the bindings
//	         section before it may then be empty, and in version 5 this
//	         one too)
//
//	retired owners (versions 5 to 9) u32 n (1 or more; 0 too from version 6), then n × (as the
//	           retired section lists them): i64 order id | u32 owner
//	         (the remembered finished orders whose trading account is not
//	         their session's own, which a status request names)
//
//	blocked firms (versions 6 to 9) u32 n (1..MaxBlockedFirms in version 6; 0 too from version 7), then n × (ascending name):
//	           u8 len | name (len bytes)
//	         (the firms a KindBlockFirm blocked and no KindUnblockFirm
//	         unblocked since, firmblock.go)
//
//	stp      (version 8; in version 9 after a u8 1, or absent after a u8 0)
//	         u32 n, n × (ascending name): u8 len | account name | u8 mode
//	         u32 m, m × (ascending name): u8 len | firm name
//	         (the self-trade prevention settings KindSTP records put in
//	         force, stprecord.go: the named accounts' modes and the firms
//	         whose scope is the firm; the venue's mode is the header's stp)
//
//	scales   (version 9) u32 n (1 or more), then n × (ascending symbol id):
//	           u32 symbol | u8 len | name | u8 len | tick | i64 lot
//	         (the KindSymbolScale record in force of each symbol that has
//	         one, symbolscale.go: its name, its tick as the record writes
//	         it, its lot)
//
// An engine that applied a symbol scale record (KindSymbolScale) writes
// version 9, with every section (the stp section only when a KindSTP
// record set the settings, as its flag byte says); one without writes
// version 8 or lower as before the records existed, so older hashes
// still verify.
// An engine whose self-trade prevention settings a KindSTP record set
// writes version 8, with every section; the header's stp is then the
// venue's mode in force, which Restore takes whatever its Config says.
// Before version 8 the settings are the Config's: Restore refuses a
// header stp other than its Config's and resolves the named modes from it.
// An engine with a band a KindBand record set other than its Config's
// writes version 7, with every section (its blocked firms section empty
// when no firm is blocked); one with its Config's bands and a blocked
// firm writes version 6, which has no bands section; one with neither
// writes version 5 or lower as before either existed, so older hashes
// still verify.
// An engine with no resting order of that kind writes version 3 or 2 as
// before owners existed, so older hashes still verify; one with no
// remembered finished order of another trading account writes version 4
// or lower as before retired owners existed.
// An engine with no account bound (KindBindAccount) writes version 2, byte
// for byte as before bindings existed, so that the checkpoint hashes of a
// journal written before them still verify; one with bindings writes
// version 3, which adds the bindings section at the end.
// Version 1 lacked the final state of finished orders, which nothing in
// it can rebuild: Restore refuses it, saying so. The state hash is the
// hash of the snapshot, so it changed with the version too: checkpoint
// hash records journaled by a build that wrote version 1 do not verify.
const (
	snapVersion         = 2
	snapVersionBindings = 3
	snapVersionOwners   = 4
	snapVersionRetired  = 5
	snapVersionFirms    = 6 // firmblock.go
	snapVersionBands    = 7 // band.go
	snapVersionSTP      = 8 // stprecord.go
	snapVersionScales   = 9 // symbolscale.go
)

var snapMagic = [4]byte{'R', 'G', 'X', 'M'}

// IsEngineSnapshot reports whether b begins as Snapshot writes (its
// magic): a caller that frames other state beside its partitions'
// snapshots tells them apart by it.
func IsEngineSnapshot(b []byte) bool {
	return len(b) >= len(snapMagic) && [4]byte(b) == snapMagic
}

// ErrSnapshot wraps every reason Restore refuses a snapshot.
var ErrSnapshot = errors.New("matcher: bad snapshot")

// Snapshot appends the engine's state to dst and returns it. Not a hot path:
// it allocates scratch space.
func (e *Engine) Snapshot(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, snapMagic[:]...)
	version := uint32(snapVersion)
	if len(e.bound) > 0 {
		version = snapVersionBindings
	}
	owned := e.ownedOrders()
	if len(owned) > 0 {
		version = snapVersionOwners
	}
	retOwned := e.retiredOwned()
	if retOwned > 0 {
		version = snapVersionRetired
	}
	if len(e.firms) > 0 {
		version = snapVersionFirms
	}
	nBands := e.bandedBooks()
	if nBands > 0 {
		version = snapVersionBands
	}
	if e.stpRec {
		version = snapVersionSTP
	}
	nScales := e.scaledSymbols()
	if nScales > 0 {
		version = snapVersionScales
	}
	dst = le.AppendUint32(dst, version)
	dst = append(dst, byte(e.stp))
	dst = le.AppendUint32(dst, uint32(e.listedSymbols()))
	dst = le.AppendUint32(dst, uint32(e.maxOrders))
	dst = le.AppendUint32(dst, uint32(e.ret.perGen))
	dst = le.AppendUint64(dst, uint64(e.lastSeq))
	if version >= snapVersionBands {
		dst = e.appendBands(dst, nBands)
	}

	nb := 0
	for _, bi := range e.bySym {
		if bi != 0 && e.books[bi-1].worthSaving() {
			nb++
		}
	}
	dst = le.AppendUint32(dst, uint32(nb))
	for sym, bi := range e.bySym {
		if bi == 0 || !e.books[bi-1].worthSaving() {
			continue
		}
		b := &e.books[bi-1]
		dst = le.AppendUint32(dst, uint32(sym))
		dst = le.AppendUint64(dst, uint64(b.lastPx))
		dst = e.appendSide(dst, &b.bids)
		dst = e.appendSide(dst, &b.asks)
	}

	dst = e.appendAccounts(dst)

	count, _ := e.ret.remembered()
	dst = le.AppendUint32(dst, uint32(count))
	e.ret.each(func(rec *retRec) {
		st := rec.state
		dst = append(dst, byte(b2u(st.finished())))
		dst = le.AppendUint32(dst, rec.session())
		dst = le.AppendUint32(dst, rec.symbol)
		dst = append(dst, rec.id[:]...)
		dst = le.AppendUint64(dst, uint64(rec.orderID))
		if st.finished() {
			dst = append(dst, byte(st.end()), byte(st.side()), byte(st.tif()))
			dst = le.AppendUint64(dst, uint64(st.price()))
			dst = le.AppendUint64(dst, uint64(rec.qty))
			dst = le.AppendUint64(dst, uint64(rec.cum))
			dst = le.AppendUint64(dst, uint64(rec.notional))
		}
	})
	if version >= snapVersionBindings {
		dst = e.bound.appendTo(dst)
	}
	if version >= snapVersionOwners {
		dst = e.appendOwners(dst, owned)
	}
	if version >= snapVersionRetired {
		dst = e.appendRetiredOwners(dst, retOwned)
	}
	if version >= snapVersionFirms {
		dst = e.firms.appendTo(dst)
	}
	switch {
	case version == snapVersionSTP:
		dst = e.appendSTP(dst)
	case version >= snapVersionScales:
		dst = append(dst, byte(b2u(e.stpRec)))
		if e.stpRec {
			dst = e.appendSTP(dst)
		}
		dst = e.appendScales(dst, nScales)
	}
	return dst
}

// retiredOwned counts the remembered finished orders whose trading
// account is not their session's own. Cold path.
func (e *Engine) retiredOwned() int {
	n := 0
	e.ret.each(func(rec *retRec) {
		if rec.state.finished() && rec.owner() != 0 {
			n++
		}
	})
	return n
}

// appendRetiredOwners writes the retired owners section of a version 5
// snapshot: n records (retiredOwned), in the retired section's order.
func (e *Engine) appendRetiredOwners(dst []byte, n int) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	e.ret.each(func(rec *retRec) {
		if rec.state.finished() && rec.owner() != 0 {
			dst = le.AppendUint64(dst, uint64(rec.orderID))
			dst = le.AppendUint32(dst, rec.owner())
		}
	})
	return dst
}

// loadRetiredOwners reads the retired owners section of a version 5 to 7
// snapshot into the finished orders' records loadHistory restored.
func (e *Engine) loadRetiredOwners(r *snapReader, version uint32) error {
	n := r.count(8 + 4)
	if r.err == nil && n == 0 && version == snapVersionRetired {
		return r.fail("no retired owner in a version %d snapshot", snapVersionRetired)
	}
	for range n {
		id, owner := r.i64(), r.u32()
		if r.err != nil {
			return r.err
		}
		rec := e.ret.findOrder(id)
		if rec == nil || rec.owner() != 0 || owner == 0 || owner > MaxOwner || owner == rec.session() {
			return r.fail("retired owner of order %d: not a finished order remembered, given twice, or owner %d", id, owner)
		}
		rec.account = packAccounts(rec.session(), owner)
	}
	return r.err
}

// appendAccounts writes the accounts section: each account's live orders
// in acceptance order, ascending by account.
func (e *Engine) appendAccounts(dst []byte) []byte {
	le := binary.LittleEndian
	accts := e.accts.accounts(nil)
	slices.Sort(accts)
	dst = le.AppendUint32(dst, uint32(len(accts)))
	for _, a := range accts {
		s := e.accts.get(a)
		k := 0
		for oi := s.head; oi != 0; oi = e.orders[oi].anext {
			k++
		}
		dst = le.AppendUint32(dst, a)
		dst = le.AppendUint32(dst, uint32(k))
		for oi := s.head; oi != 0; oi = e.orders[oi].anext {
			dst = le.AppendUint64(dst, uint64(e.orders[oi].id))
		}
	}
	return dst
}

// appendOwners writes the owners section of a version 4 snapshot: the
// orders owned (ownedOrders) with their owners and STP groups.
func (e *Engine) appendOwners(dst []byte, owned []int32) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(len(owned)))
	for _, oi := range owned {
		o := &e.orders[oi]
		dst = le.AppendUint64(dst, uint64(o.id))
		dst = le.AppendUint32(dst, o.owner)
		dst = le.AppendUint32(dst, o.group)
	}
	return dst
}

// ownedOrders are the resting orders the owners section lists, ascending
// by id (nil when none). Cold path.
func (e *Engine) ownedOrders() []int32 {
	var out []int32
	for oi := int32(1); oi < int32(len(e.orders)); oi++ {
		if o := &e.orders[oi]; o.level != 0 && (o.owner != o.account || o.group != 0) {
			out = append(out, oi)
		}
	}
	slices.SortFunc(out, func(a, b int32) int { return cmp.Compare(e.orders[a].id, e.orders[b].id) })
	return out
}

// loadOwners reads the owners section of a version 4 snapshot.
func (e *Engine) loadOwners(r *snapReader) error {
	n := r.count(8 + 4 + 4)
	prev := int64(math.MinInt64)
	for range n {
		id, owner, group := r.i64(), r.u32(), r.u32()
		if r.err != nil {
			return r.err
		}
		oi := e.byID.get(e.orders, id)
		if oi == 0 || id <= prev || owner == 0 || owner > MaxOwner {
			return r.fail("owner of order %d: not a resting order, out of order, or owner %d", id, owner)
		}
		prev = id
		e.orders[oi].owner, e.orders[oi].group = owner, group
	}
	return r.err
}

func (b *book) worthSaving() bool {
	return b.bids.levels() > 0 || b.asks.levels() > 0 || b.lastPx != b.spec.RefPrice
}

func (e *Engine) appendSide(dst []byte, s *side) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(s.levels()))
	for key, li := s.best(); li != 0; key, li = s.below(key) {
		lv := &e.levels[li]
		dst = le.AppendUint64(dst, uint64(lv.price))
		dst = le.AppendUint32(dst, uint32(lv.count))
		for oi := lv.head; oi != 0; oi = e.orders[oi].next {
			o := &e.orders[oi]
			dst = le.AppendUint64(dst, uint64(o.id))
			dst = le.AppendUint64(dst, uint64(o.qty))
			dst = le.AppendUint64(dst, uint64(o.leaves))
			dst = le.AppendUint64(dst, uint64(o.cum))
			dst = le.AppendUint64(dst, uint64(o.notional))
			dst = le.AppendUint32(dst, o.account)
			dst = append(dst, o.clOrd[:]...)
			dst = append(dst, byte(o.typ), byte(o.tif))
		}
	}
	return dst
}

// Hash returns a 64-bit hash of the engine's state: of its snapshot, so two
// engines agree exactly when their snapshots are equal. Not a hot path.
func (e *Engine) Hash() uint64 {
	e.snapBuf = e.Snapshot(e.snapBuf[:0])
	return hashBytes(e.snapBuf)
}

func hashBytes(b []byte) uint64 {
	const k = 0x9E3779B97F4A7C15
	h := uint64(len(b)) * k
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * k
		h ^= h >> 29
		b = b[8:]
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * k
		h ^= h >> 29
	}
	return mix64(h)
}

// Restore replaces the engine's state with the one in b, which must have been
// written by an engine with the same Config. On error the engine is unchanged.
func (e *Engine) Restore(b []byte) error {
	n := &Engine{}
	n.init(e.cfg)
	r := snapReader{b: b}
	if err := n.load(&r); err != nil {
		return err
	}
	if r.off != len(b) {
		return fmt.Errorf("%w: %d trailing bytes at offset %d", ErrSnapshot, len(b)-r.off, r.off)
	}
	n.snapBuf = e.snapBuf
	*e = *n
	return nil
}

// SnapshotBindings reads the account bindings out of a node snapshot
// (FrameSnapshot) without restoring it, so whatever Config wrote it:
// those its first partition holds, which every partition holds; none for
// a version 2 snapshot. It checks the layout of what it passes over, not
// the state. Cold path.
func SnapshotBindings(data []byte) ([]AccountBinding, error) {
	parts, err := SplitSnapshot(data)
	if err != nil {
		return nil, err
	}
	r := snapReader{b: parts[0]}
	v := r.header(snapVersion)
	if r.err != nil {
		return nil, r.err
	}
	for range r.count(4 + 8 + 4 + 4) {
		r.take(4 + 8) // symbol, last price
		r.skipSide()
		r.skipSide()
	}
	for range r.count(8) {
		r.take(4) // account
		r.take(r.count(8) * 8)
	}
	for range r.count(1 + 4 + 4 + IDLen + 8) {
		if r.u8() == 1 {
			r.take(4 + 4 + IDLen + 8 + 3 + 4*8)
		} else {
			r.take(4 + 4 + IDLen + 8)
		}
	}
	if r.err != nil || v < snapVersionBindings {
		return nil, r.err
	}
	var e Engine
	if err := e.loadBindings(&r, v); err != nil {
		return nil, err
	}
	if v >= snapVersionOwners {
		r.take(r.count(16) * 16)
	}
	if v >= snapVersionRetired {
		r.take(r.count(12) * 12)
	}
	if v >= snapVersionFirms {
		if _, err := r.loadBlockedFirms(v); err != nil {
			return nil, err
		}
	}
	if v == snapVersionSTP || (v >= snapVersionScales && r.stpFlag() == 1) {
		r.skipSTP()
	}
	if v >= snapVersionScales {
		if _, err := r.scales(nil); err != nil {
			return nil, err
		}
	}
	if r.off != len(r.b) {
		return nil, r.fail("%d trailing bytes at offset %d", len(r.b)-r.off, r.off)
	}
	return e.bound, nil
}

// SnapshotOrder is one order resting in a book as an engine snapshot
// records it: what Engine.Resting shows, and the ClOrdID, filled quantity
// and notional that only the snapshot carries.
type SnapshotOrder struct {
	RestingOrder
	ClOrdID  ClOrdID
	Cum      int64 // lots filled
	Notional int64 // the fills' price × quantity summed, ticks × lots
}

// SnapshotBook reads symbol's book out of an engine snapshot
// (Engine.Snapshot; versions 1 to 8, which lay the books out alike,
// after the bands section of versions 7 and 8) without restoring it, so whatever Config wrote it. It returns the book's
// last trade price and appends its resting orders to dst in
// Engine.Resting's order: the bids best price first, then the asks, each
// level oldest first. A snapshot without symbol's book (one with no
// orders and its RefPrice as last price is not written) gives 0 and no
// orders. It checks the layout of what it reads, not the state, and reads
// no further than symbol's book. Cold path.
func SnapshotBook(snap []byte, symbol uint32, dst []SnapshotOrder) (lastPx int64, _ []SnapshotOrder, err error) {
	r := snapReader{b: snap}
	r.header(1)
	for range r.count(4 + 8 + 4 + 4) {
		sym, px := r.u32(), r.i64()
		if sym != symbol {
			r.skipSide()
			r.skipSide()
			continue
		}
		for _, sd := range [2]Side{Buy, Sell} {
			for range r.count(8 + 4) {
				lvPx := r.i64()
				for range r.count(snapOrderSize) {
					o := r.order(sym, sd, lvPx)
					if r.err != nil {
						return 0, dst, r.err
					}
					dst = append(dst, SnapshotOrder{RestingOrder: o.resting(), ClOrdID: o.clOrd, Cum: o.cum, Notional: o.notional})
				}
			}
		}
		return px, dst, r.err
	}
	return 0, dst, r.err
}

type snapReader struct {
	b   []byte
	off int
	err error
}

func (r *snapReader) take(k int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < k {
		r.err = fmt.Errorf("%w: truncated at offset %d", ErrSnapshot, r.off)
		return nil
	}
	p := r.b[r.off : r.off+k]
	r.off += k
	return p
}

func (r *snapReader) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *snapReader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *snapReader) i64() int64 {
	if p := r.take(8); p != nil {
		return int64(binary.LittleEndian.Uint64(p))
	}
	return 0
}

func (r *snapReader) clOrd() (id ClOrdID) {
	if p := r.take(IDLen); p != nil {
		copy(id[:], p)
	}
	return id
}

// count reads a u32 element count and checks that the rest of the buffer
// could hold that many elements of at least minSize bytes each.
func (r *snapReader) count(minSize int) int {
	k := int(r.u32())
	if r.err == nil && k > (len(r.b)-r.off)/minSize {
		r.err = fmt.Errorf("%w: count %d at offset %d exceeds the data", ErrSnapshot, k, r.off-4)
		return 0
	}
	return k
}

// header reads a snapshot's magic and version, refusing versions below
// oldest and above the newest, and passes over the rest of the header
// (stp, symbols, max orders, window, last seq), which only Restore
// checks, against its Config.
func (r *snapReader) header(oldest uint32) (version uint32) {
	var magic [4]byte
	copy(magic[:], r.take(4))
	v := r.u32()
	if r.err == nil && (magic != snapMagic || v < oldest || v > snapVersionScales) {
		r.fail("magic %q, version %d", magic[:], v)
		return 0
	}
	r.take(1 + 4 + 4 + 4 + 8)
	if v >= snapVersionBands {
		r.take(r.count(20) * 20) // the bands
	}
	return v
}

// skipSide passes over one side of a book: its levels and their orders.
func (r *snapReader) skipSide() {
	for range r.count(8 + 4) {
		r.take(8) // price
		r.take(r.count(snapOrderSize) * snapOrderSize)
	}
}

// order reads one resting order's record (snapOrderSize bytes) of a level
// at price px of symbol's side sd.
func (r *snapReader) order(symbol uint32, sd Side, px int64) order {
	return order{
		id: r.i64(), price: px, qty: r.i64(), leaves: r.i64(), cum: r.i64(), notional: r.i64(),
		account: r.u32(), clOrd: r.clOrd(), typ: OrdType(r.u8()), tif: TIF(r.u8()),
		symbol: symbol, side: sd,
	}
}

func (r *snapReader) fail(format string, args ...any) error {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrSnapshot}, args...)...)
	}
	return r.err
}

func (e *Engine) load(r *snapReader) error {
	var magic [4]byte
	copy(magic[:], r.take(4))
	if r.err == nil && magic != snapMagic {
		return r.fail("magic %q", magic[:])
	}
	v := r.u32()
	if r.err == nil && (v < snapVersion || v > snapVersionScales) {
		if v == 1 {
			return r.fail("version 1, written by an older ringex without the final state of finished orders; "+
				"this one reads versions %d to %d only", snapVersion, snapVersionScales)
		}
		return r.fail("version %d, want %d to %d", v, snapVersion, snapVersionScales)
	}
	stp, nsym, maxOrders, window := STPMode(r.u8()), r.u32(), r.u32(), r.u32()
	e.lastSeq = r.i64()
	if r.err != nil {
		return r.err
	}
	// Before version 8 the venue's STP mode was the Config's; from it on,
	// a KindSTP record's (the stp section).
	if r.err == nil && int(nsym) > len(e.books) {
		return r.fail("written with %d symbols, the Config lists %d: a symbol was removed from symbols[] (a symbol's id is its place in the list: "+
			"keep every symbol listed, in its place, and append new ones at the end)", nsym, len(e.books))
	}
	if (stp != e.stp && v < snapVersionSTP) || stp > STPDecrement || int(maxOrders) != e.maxOrders || int(window) != e.ret.perGen {
		return r.fail("written with another config (stp %d, %d symbols, max orders %d, window %d)", stp, nsym, maxOrders, window)
	}
	// A snapshot of fewer symbols than the Config: those appended since
	// start empty (listedSymbols).
	e.listed = int(nsym)
	if v >= snapVersionBands {
		if err := e.loadBands(r, v); err != nil {
			return err
		}
	}
	if err := e.loadBooks(r); err != nil {
		return err
	}
	if err := e.loadAccounts(r); err != nil {
		return err
	}
	if err := e.loadHistory(r); err != nil || v < snapVersionBindings {
		return err
	}
	if err := e.loadBindings(r, v); err != nil || v < snapVersionOwners {
		return err
	}
	if err := e.loadOwners(r); err != nil || v < snapVersionRetired {
		return err
	}
	if err := e.loadRetiredOwners(r, v); err != nil || v < snapVersionFirms {
		return err
	}
	fs, err := r.loadBlockedFirms(v)
	e.firms = fs
	if err != nil || v < snapVersionSTP {
		return err
	}
	if v == snapVersionSTP {
		return e.loadSTP(r, stp)
	}
	switch r.stpFlag() {
	case 1:
		if err := e.loadSTP(r, stp); err != nil {
			return err
		}
	case 0:
		// No KindSTP record: the settings are the Config's, as before
		// version 8.
		if stp != e.stp {
			return r.fail("written with another config (stp %d)", stp)
		}
	}
	if r.err != nil {
		return r.err
	}
	return e.loadScales(r)
}

// stpFlag reads the byte of a version 9 snapshot that says whether the
// stp section follows: 1 when a KindSTP record set the settings, 0 when
// they are the Config's.
func (r *snapReader) stpFlag() byte {
	f := r.u8()
	if r.err == nil && f > 1 {
		r.fail("stp flag %d, want 0 or 1", f)
	}
	return f
}

func (e *Engine) loadBooks(r *snapReader) error {
	nb := r.count(4 + 8 + 4 + 4)
	prev := uint32(0)
	for range nb {
		sym := r.u32()
		lastPx := r.i64()
		if r.err != nil {
			return r.err
		}
		b := e.book(sym)
		if b == nil || sym <= prev {
			return r.fail("symbol %d unknown or out of order", sym)
		}
		if lastPx < 0 || lastPx > MaxPriceTicks {
			return r.fail("symbol %d: last price %d", sym, lastPx)
		}
		prev, b.lastPx = sym, lastPx
		if err := e.loadSide(r, b, Buy); err != nil {
			return err
		}
		if err := e.loadSide(r, b, Sell); err != nil {
			return err
		}
		if !b.worthSaving() {
			return r.fail("symbol %d: empty book written", sym)
		}
		if bid, bl := b.bids.best(); bl != 0 {
			if ask, al := b.asks.best(); al != 0 && bid >= -ask {
				return r.fail("symbol %d: crossed book, bid %d ask %d", sym, bid, -ask)
			}
		}
	}
	return r.err
}

const snapOrderSize = 5*8 + 4 + IDLen + 2

func (e *Engine) loadSide(r *snapReader, b *book, sd Side) error {
	nl := r.count(8 + 4)
	prevKey := int64(0)
	for l := range nl {
		px := r.i64()
		no := r.count(snapOrderSize)
		if r.err != nil {
			return r.err
		}
		key := sideKey(sd, px)
		if !validPrice(px) || no == 0 || (l > 0 && key >= prevKey) {
			return r.fail("symbol %d: level %d price %d with %d orders", b.spec.ID, l, px, no)
		}
		prevKey = key
		for range no {
			o := r.order(b.spec.ID, sd, px)
			o.owner = o.account // the owners section (version 4) sets the others'
			if r.err != nil {
				return r.err
			}
			if err := e.loadOrder(r, b, &o); err != nil {
				return err
			}
		}
	}
	return r.err
}

func (e *Engine) loadOrder(r *snapReader, b *book, o *order) error {
	o.clh = clHash64(o.account, &o.clOrd)
	switch {
	case o.leaves <= 0 || o.cum < 0 || o.qty > MaxQtyLots || o.leaves+o.cum != o.qty ||
		o.notional < 0 || o.notional > o.cum*MaxPriceTicks:
		return r.fail("order %d: quantities %d/%d/%d, notional %d", o.id, o.qty, o.leaves, o.cum, o.notional)
	case o.typ != Limit || (o.tif != Day && o.tif != GTC):
		return r.fail("order %d: type %d, time in force %d cannot rest", o.id, o.typ, o.tif)
	case o.id > e.lastSeq || e.byID.get(e.orders, o.id) != 0:
		return r.fail("order %d listed twice or newer than the last sequence", o.id)
	case e.cl.find(e.orders, o.account, &o.clOrd, o.clh) != 0:
		return r.fail("order %d: ClOrdID %q listed twice", o.id, o.clOrd.String())
	case e.live >= e.maxOrders:
		return r.fail("more than %d orders", e.maxOrders)
	}
	oi := e.allocOrder()
	e.orders[oi] = *o
	e.orders[oi].indexed = true
	e.cl.put(&e.orders[oi], oi)
	e.byID.put(o.id, oi)
	e.rest(b, oi)
	return nil
}

func (e *Engine) loadAccounts(r *snapReader) error {
	na := r.count(8)
	listed, prev := 0, uint32(0)
	for k := range na {
		a := r.u32()
		no := r.count(8)
		if r.err != nil {
			return r.err
		}
		if no == 0 || (k > 0 && a <= prev) {
			return r.fail("account %d out of order or empty", a)
		}
		prev = a
		for range no {
			id := r.i64()
			if r.err != nil {
				return r.err
			}
			oi := e.byID.get(e.orders, id)
			if oi == 0 || e.orders[oi].account != a || e.orders[oi].aprev != 0 ||
				e.accts.get(a) != nil && e.accts.get(a).head == oi {
				return r.fail("account %d: order %d unknown, not its own, or listed twice", a, id)
			}
			e.accts.push(e.orders, oi)
			listed++
		}
	}
	if r.err == nil && listed != e.live {
		return r.fail("accounts list %d orders, books hold %d", listed, e.live)
	}
	return r.err
}

func (e *Engine) loadHistory(r *snapReader) error {
	nh := r.count(1 + 4 + 4 + IDLen + 8)
	if nh > retGens*e.ret.perGen {
		return r.fail("%d retired ClOrdIDs, more than %d generations of %d", nh, retGens, e.ret.perGen)
	}
	for range nh {
		fin := r.u8()
		o := order{account: r.u32(), symbol: r.u32(), clOrd: r.clOrd(), id: r.i64()}
		if r.err != nil {
			return r.err
		}
		h := clHash64(o.account, &o.clOrd)
		if fin > 1 || o.account > MaxOwner || e.usedClOrdID(o.account, &o.clOrd, h) || e.book(o.symbol) == nil || o.id > e.lastSeq {
			return r.fail("retired: account %d ClOrdID %q symbol %d order %d", o.account, o.clOrd.String(), o.symbol, o.id)
		}
		var st retState
		if fin == 1 {
			if e.byID.get(e.orders, o.id) != 0 || e.ret.findOrder(o.id) != nil {
				return r.fail("retired: order %d finished twice or still live", o.id)
			}
			end := Reason(r.u8())
			o.side, o.tif = Side(r.u8()), TIF(r.u8())
			o.price, o.qty, o.cum, o.notional = r.i64(), r.i64(), r.i64(), r.i64()
			if r.err != nil {
				return r.err
			}
			if !validFinal(&o, end) {
				return r.fail("retired: order %d: final state %s, side %d, tif %d, price %d, quantities %d/%d, notional %d",
					o.id, end, o.side, o.tif, o.price, o.qty, o.cum, o.notional)
			}
			st = finishedState(&o, end)
		}
		e.ret.add(&o, &o.clOrd, st, h)
	}
	return r.err
}

// validFinal reports whether o, with the reason it ended, is a state a
// finished order can be in: filled completely (ReasonNone), or cancelled or
// expired with some quantity left.
func validFinal(o *order, end Reason) bool {
	switch {
	case o.side != Buy && o.side != Sell,
		o.tif != Day && o.tif != GTC && o.tif != IOC && o.tif != FOK,
		o.price != 0 && !validPrice(o.price),
		o.qty <= 0 || o.qty > MaxQtyLots || o.cum < 0 || o.cum > o.qty,
		o.notional < o.cum || o.notional > o.cum*MaxPriceTicks: // every fill is at 1 tick or more
		return false
	}
	switch end {
	case ReasonNone:
		return o.cum == o.qty
	case ReasonUserCancel, ReasonMassCancel, ReasonSelfTrade,
		ReasonIOCRemainder, ReasonMarketRemainder, ReasonNoLiquidity, ReasonFOKUnfilled, ReasonExpired:
		return o.cum < o.qty
	}
	return false
}
