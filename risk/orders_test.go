package risk

import (
	"math/rand/v2"
	"testing"
)

// The table of working orders agrees with a map through random opens and
// ends, ids clustered as sequence numbers are and far apart as a day's
// GTC orders are, while it grows past its first size and shrinks back.
func TestOrderTableAgreesWithAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	tab, ref := newOrderTable(), map[int64]order{}
	var ids []int64 // ref's keys, so that the run is the same every time
	next := int64(1)
	for step := range 200_000 {
		want := 3000 // working orders to aim at: past the first size, then back
		if step > 100_000 {
			want = 50
		}
		switch {
		case len(ref) < want && r.IntN(3) > 0:
			next += 1 + int64(r.IntN(3))
			if r.IntN(50) == 0 {
				next += int64(r.IntN(1 << 20)) // a gap: ids far apart
			}
			o := order{account: 1 + uint32(r.IntN(9)), symbol: 1, leaves: next}
			tab.put(next, o)
			ref[next] = o
			ids = append(ids, next)
		case len(ref) > 0:
			k := r.IntN(len(ids)) // any working order ends
			tab.del(ids[k])
			delete(ref, ids[k])
			ids[k] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
		}
		if step%1000 == 0 || len(ref) < 5 {
			if tab.n != len(ref) {
				t.Fatalf("step %d: %d records, want %d", step, tab.n, len(ref))
			}
			for id, o := range ref {
				if got := tab.get(id); got == nil || *got != o {
					t.Fatalf("step %d: order %d: %+v, want %+v", step, id, got, o)
				}
			}
			if got := tab.get(next + 1); got != nil {
				t.Fatalf("step %d: order %d never opened, found %+v", step, next+1, got)
			}
		}
	}
	if len(tab.slots) <= orderTableMin {
		t.Fatalf("the table never grew: %d slots", len(tab.slots))
	}
}
