package matcher

import "encoding/binary"

// The engine's indexes are open-addressing hash tables with linear probing
// and backward-shift deletion (no tombstones, so probe lengths do not decay).
// They double when half full; that is the only time they allocate.

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// idSlot maps an order id to the live order (ref > 0, a pool index) or to a
// tombstone of a finished order (ref == -1), which is what lets a cancel of a
// filled order answer "too late" instead of "unknown".
type idSlot struct {
	key     int64
	ref     int32
	account uint32
	symbol  uint32
	used    bool
}

type idMap struct {
	slots []idSlot
	n     int
}

func (m *idMap) init(size int) { m.slots, m.n = make([]idSlot, size), 0 }

func (m *idMap) home(key int64) int { return int(mix64(uint64(key)) & uint64(len(m.slots)-1)) }

func (m *idMap) get(key int64) *idSlot {
	mask := len(m.slots) - 1
	for i := m.home(key); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if !s.used {
			return nil
		}
		if s.key == key {
			return s
		}
	}
}

// put returns the slot of key, inserting an empty one if it is absent.
func (m *idMap) put(key int64) *idSlot {
	if 2*(m.n+1) > len(m.slots) {
		old := m.slots
		m.init(2 * len(old))
		for i := range old {
			if old[i].used {
				*m.put(old[i].key) = old[i]
			}
		}
	}
	mask := len(m.slots) - 1
	for i := m.home(key); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if !s.used {
			*s = idSlot{key: key, used: true}
			m.n++
			return s
		}
		if s.key == key {
			return s
		}
	}
}

func (m *idMap) del(key int64) {
	mask := len(m.slots) - 1
	i := m.home(key)
	for ; ; i = (i + 1) & mask {
		if !m.slots[i].used {
			return
		}
		if m.slots[i].key == key {
			break
		}
	}
	m.n--
	for j := i; ; {
		m.slots[i] = idSlot{}
		for {
			j = (j + 1) & mask
			if !m.slots[j].used {
				return
			}
			h := m.home(m.slots[j].key)
			// Slot j may move back to i unless its home lies cyclically in (i, j].
			if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
				break
			}
		}
		m.slots[i] = m.slots[j]
		i = j
	}
}

// clEntry records one ClOrdID an account used, on a new order or a replace,
// and the order it named.
type clEntry struct {
	orderID int64
	account uint32
	symbol  uint32
	id      ClOrdID
	next    int32 // free list
}

type clSlot struct {
	h   uint32
	ref int32 // index into entries; 0 = empty
}

// clTable is the per-account ClOrdID set: every ClOrdID of a live order,
// plus the last ClOrdIDWindow retired ones (see histRing).
type clTable struct {
	slots   []clSlot
	n       int
	entries []clEntry // index 0 unused
	free    int32
}

func (t *clTable) init(size int) {
	t.slots, t.n = make([]clSlot, size), 0
	if t.entries == nil {
		t.entries, t.free = make([]clEntry, 1, size), 0
	}
}

func clHash(account uint32, id *ClOrdID) uint32 {
	const k = 0x9E3779B97F4A7C15
	le := binary.LittleEndian
	h := (uint64(account) + 1) * k
	h = (h ^ le.Uint64(id[0:])) * k
	h = (h ^ le.Uint64(id[8:])) * k
	h = (h ^ le.Uint64(id[16:])) * k
	return uint32(h>>32) ^ uint32(h)
}

// find returns the entry of (account, id), or 0.
func (t *clTable) find(account uint32, id *ClOrdID) int32 {
	h := clHash(account, id)
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.ref == 0 {
			return 0
		}
		if s.h == h {
			en := &t.entries[s.ref]
			if en.account == account && en.id == *id {
				return s.ref
			}
		}
	}
}

// add records (account, id) for orderID; the caller has checked it is absent.
func (t *clTable) add(account, symbol uint32, id *ClOrdID, orderID int64) int32 {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.init(2 * len(old))
		for _, s := range old {
			if s.ref != 0 {
				t.insertSlot(s)
			}
		}
	}
	ei := t.free
	if ei != 0 {
		t.free = t.entries[ei].next
	} else {
		t.entries = append(t.entries, clEntry{})
		ei = int32(len(t.entries) - 1)
	}
	t.entries[ei] = clEntry{orderID: orderID, account: account, symbol: symbol, id: *id}
	t.insertSlot(clSlot{h: clHash(account, id), ref: ei})
	return ei
}

func (t *clTable) insertSlot(s clSlot) {
	mask := uint32(len(t.slots) - 1)
	i := s.h & mask
	for t.slots[i].ref != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
	t.n++
}

// remove forgets entry ei.
func (t *clTable) remove(ei int32) {
	en := &t.entries[ei]
	mask := uint32(len(t.slots) - 1)
	i := clHash(en.account, &en.id) & mask
	for t.slots[i].ref != ei {
		if t.slots[i].ref == 0 {
			panic("matcher: ClOrdID entry missing from its table")
		}
		i = (i + 1) & mask
	}
	t.n--
	for j := i; ; {
		t.slots[i] = clSlot{}
		for {
			j = (j + 1) & mask
			if t.slots[j].ref == 0 {
				*en = clEntry{next: t.free}
				t.free = ei
				return
			}
			h := t.slots[j].h & mask
			if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
				break
			}
		}
		t.slots[i] = t.slots[j]
		i = j
	}
}

// acctSlot is the head and tail of one account's list of live orders.
type acctSlot struct {
	account uint32
	used    bool
	head    int32
	tail    int32
}

type acctMap struct {
	slots []acctSlot
	n     int
}

func (m *acctMap) init(size int) { m.slots, m.n = make([]acctSlot, size), 0 }

func (m *acctMap) home(a uint32) int { return int(mix64(uint64(a)) & uint64(len(m.slots)-1)) }

func (m *acctMap) get(a uint32) *acctSlot {
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
	if 2*(m.n+1) > len(m.slots) {
		old := m.slots
		m.init(2 * len(old))
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
	mask := len(m.slots) - 1
	i := m.home(a)
	for ; ; i = (i + 1) & mask {
		if !m.slots[i].used {
			return
		}
		if m.slots[i].account == a {
			break
		}
	}
	m.n--
	for j := i; ; {
		m.slots[i] = acctSlot{}
		for {
			j = (j + 1) & mask
			if !m.slots[j].used {
				return
			}
			h := m.home(m.slots[j].account)
			if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
				break
			}
		}
		m.slots[i] = m.slots[j]
		i = j
	}
}

// push appends live order oi to its account's list.
func (m *acctMap) push(e *Engine, oi int32) {
	o := &e.orders[oi]
	a := m.put(o.account)
	o.aprev, o.anext = a.tail, 0
	if a.tail != 0 {
		e.orders[a.tail].anext = oi
	} else {
		a.head = oi
	}
	a.tail = oi
}

// remove takes order oi out of its account's list, forgetting the account
// when it has no live orders left.
func (m *acctMap) remove(e *Engine, oi int32) {
	o := &e.orders[oi]
	a := m.get(o.account)
	if o.aprev != 0 {
		e.orders[o.aprev].anext = o.anext
	} else {
		a.head = o.anext
	}
	if o.anext != 0 {
		e.orders[o.anext].aprev = o.aprev
	} else {
		a.tail = o.aprev
	}
	o.aprev, o.anext = 0, 0
	if a.head == 0 {
		m.del(o.account)
	}
}

// histItem is one thing the engine remembers for a while: a retired ClOrdID
// entry and, when an order finished, its id tombstone.
type histItem struct {
	orderID  int64
	entry    int32
	hasOrder bool
}

// histRing is the FIFO that bounds what the engine remembers about the past:
// when it holds ClOrdIDWindow items, pushing one forgets the oldest.
type histRing struct {
	items []histItem
	head  int // oldest item, once the ring is full
	size  int
}

func (h *histRing) init(size int) { h.items, h.head, h.size = h.items[:0], 0, size }

func (h *histRing) push(e *Engine, orderID int64, entry int32, hasOrder bool) {
	it := histItem{orderID: orderID, entry: entry, hasOrder: hasOrder}
	if len(h.items) < h.size {
		h.items = append(h.items, it)
		return
	}
	old := h.items[h.head]
	h.items[h.head] = it
	h.head++
	if h.head == h.size {
		h.head = 0
	}
	if old.hasOrder {
		if s := e.byID.get(old.orderID); s != nil && s.ref < 0 {
			e.byID.del(old.orderID)
		}
	}
	e.cl.remove(old.entry)
}

// each calls f for every item, oldest first.
func (h *histRing) each(f func(histItem)) {
	n := len(h.items)
	for k := 0; k < n; k++ {
		f(h.items[(h.head+k)%n])
	}
}
