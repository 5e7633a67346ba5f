package matcher

import (
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestStaleSlotsChangeNothing holds the hot path's field-by-field writes
// to their promise: accept sets every field of a reused pool entry, and
// emit and rejectCmd every field of an event slot. One engine writes its
// events over a buffer of garbage and, before every command, has every
// free pool entry but its free-list link filled with garbage; another
// writes into fresh memory. Their events must be equal.
func TestStaleSlotsChangeNothing(t *testing.T) {
	const length = 20000
	for s := range uint64(4) {
		rng := rand.New(rand.NewPCG(*propSeed, 9100+s))
		cfg := randomConfig(rng)
		dirty, clean, g := New(cfg), New(cfg), newStreamGen(rng, cfg)
		garbage := make([]Event, 64)
		fillGarbage(unsafe.Slice((*byte)(unsafe.Pointer(&garbage[0])), len(garbage)*int(unsafe.Sizeof(Event{}))))
		buf := make([]Event, 0, len(garbage))
		apply := func(c *Command) []Event {
			for oi := dirty.freeOrder; oi != 0; {
				o := &dirty.orders[oi]
				next := o.next
				fillGarbage(unsafe.Slice((*byte)(unsafe.Pointer(o)), unsafe.Sizeof(order{})))
				o.next, o.level, oi = next, 0, next
			}
			copy(buf[:cap(buf)], garbage)
			got := dirty.Apply(c, buf[:0])
			want := clean.Apply(c, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("stream %d, command %+v:\n  over garbage:%s\n  fresh:%s", s, *c, describeAll(got), describeAll(want))
			}
			if cap(got) > cap(buf) {
				buf = got[:0]
				garbage = make([]Event, cap(buf))
				fillGarbage(unsafe.Slice((*byte)(unsafe.Pointer(&garbage[0])), len(garbage)*int(unsafe.Sizeof(Event{}))))
			}
			return got
		}
		for _, b := range streamAccounts {
			g.seq++
			c, _ := b.Command()
			c.Seq = g.seq
			apply(&c)
		}
		for range length {
			c := g.next()
			got := apply(&c)
			if len(got) > 0 && (got[0].Type == EvRejected || got[0].Type == EvCancelRejected) {
				g.refused(&c)
			}
			g.observe(got)
		}
		if dirty.Hash() != clean.Hash() {
			t.Fatalf("stream %d: the engines' hashes differ", s)
		}
	}
}

func fillGarbage(b []byte) {
	for i := range b {
		b[i] = byte(0xA5 ^ i)
	}
}
