package risk

import "iter"

// orderTable is the settle half's working orders by order id: open
// addressing with linear probing over a power-of-two array of records held
// by value (no pointers for the collector to scan, no allocation per
// order). Order ids are sequence numbers, so the id modulo the table's
// size spreads them evenly. It grows (doubling) only when the working
// orders reach a new high beyond half its size: the only allocation, off
// the steady state. A slot is empty when its account is 0 (every record
// is of a known account, 1 or more).
type orderTable struct {
	slots []orderSlot
	n     int // records in use
}

type orderSlot struct {
	id int64
	o  order
}

const orderTableMin = 1024

func newOrderTable() orderTable { return orderTable{slots: make([]orderSlot, orderTableMin)} }

func (t *orderTable) mask() int { return len(t.slots) - 1 }

// get returns id's record, valid until the next put, or nil. Hot path.
func (t *orderTable) get(id int64) *order {
	m := t.mask()
	for i := int(id) & m; ; i = (i + 1) & m {
		sl := &t.slots[i]
		if sl.o.account == 0 {
			return nil
		}
		if sl.id == id {
			return &sl.o
		}
	}
}

// put sets id's record to o (o.account is not 0). Cold path (Restore):
// the settle half fills the record add returns.
func (t *orderTable) put(id int64, o order) { *t.add(id) = o }

// add returns id's record, zeroed if it is new, for the caller to fill:
// it must set its account (not 0) before any other call. The record is
// filled in place, field by field: a record passed by value goes through
// the stack, narrow stores that a wide load of the copy then waits for
// (a store-forwarding stall), on every order. Hot path once the table
// has grown to the working set.
func (t *orderTable) add(id int64) *order {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	m := t.mask()
	for i := int(id) & m; ; i = (i + 1) & m {
		sl := &t.slots[i]
		if sl.o.account == 0 {
			sl.id = id
			t.n++
			return &sl.o
		}
		if sl.id == id {
			return &sl.o
		}
	}
}

// del forgets id's record, shifting back the records after it that
// probed past its slot, so that no lookup stops short. Hot path.
func (t *orderTable) del(id int64) {
	m := t.mask()
	i := int(id) & m
	for t.slots[i].id != id {
		if t.slots[i].o.account == 0 {
			return
		}
		i = (i + 1) & m
	}
	if t.slots[i].o.account == 0 {
		return
	}
	for j := (i + 1) & m; t.slots[j].o.account != 0; j = (j + 1) & m {
		// j's record moves into the hole at i unless its home slot lies
		// cyclically in (i, j]: then a lookup from home still reaches it.
		if home := int(t.slots[j].id) & m; !cyclicIn(i, home, j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = orderSlot{}
	t.n--
}

// cyclicIn reports whether h lies in (i, j] on the ring of slots.
func cyclicIn(i, h, j int) bool {
	if i <= j {
		return i < h && h <= j
	}
	return i < h || h <= j
}

func (t *orderTable) grow() {
	old := t.slots
	t.slots, t.n = make([]orderSlot, 2*len(old)), 0
	for i := range old {
		if old[i].o.account != 0 {
			t.put(old[i].id, old[i].o)
		}
	}
}

// all yields every record in use with its id, in no order. Cold path.
func (t *orderTable) all() iter.Seq2[int64, *order] {
	return func(yield func(int64, *order) bool) {
		for i := range t.slots {
			if t.slots[i].o.account != 0 && !yield(t.slots[i].id, &t.slots[i].o) {
				return
			}
		}
	}
}

// ids appends the ids in use to dst, in no order. Cold path.
func (t *orderTable) ids(dst []int64) []int64 {
	for i := range t.slots {
		if t.slots[i].o.account != 0 {
			dst = append(dst, t.slots[i].id)
		}
	}
	return dst
}
