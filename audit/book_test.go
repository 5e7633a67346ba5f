package audit

import (
	"slices"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// refBook rebuilds resting orders and their time priority from events
// alone, by the rules a broker reads in the FIX spec: an order joins the
// back of its level when it starts resting; a replace that only lowers the
// quantity at the same price keeps its place; any other replace sends it to
// the back of its (new) level.
type refBook struct {
	orders map[int64]*refOrder
	clock  int64
}

type refOrder struct {
	sym    uint32
	side   matcher.Side
	price  int64
	qty    int64
	leaves int64
	key    int64 // time priority
}

func (r *refBook) apply(evs []matcher.Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.OrderID == 0 || ev.Type == matcher.EvRejected || ev.Type == matcher.EvCancelRejected {
			continue
		}
		o := r.orders[ev.OrderID]
		switch ev.Type {
		case matcher.EvAccepted:
			r.clock++
			o = &refOrder{sym: ev.Symbol, side: ev.Side, price: ev.Price, key: r.clock}
			r.orders[ev.OrderID] = o
		case matcher.EvReplaced:
			if !(ev.Price == o.price && ev.OrderQty <= o.qty) {
				r.clock++
				o.key = r.clock
			}
			o.price = ev.Price
		}
		o.qty, o.leaves = ev.OrderQty, ev.LeavesQty
		if ev.LeavesQty == 0 || ev.Type == matcher.EvCancelled || ev.Type == matcher.EvExpired {
			delete(r.orders, ev.OrderID) // IOC, FOK and market orders always end so
		}
	}
}

// levels returns sym's side as price → order ids in time priority, best first.
func (r *refBook) levels(sym uint32, side matcher.Side) [][]int64 {
	byPrice := map[int64][]int64{}
	for id, o := range r.orders {
		if o.sym == sym && o.side == side && o.leaves > 0 {
			byPrice[o.price] = append(byPrice[o.price], id)
		}
	}
	prices := slices.Sorted(mapKeys(byPrice))
	if side == matcher.Buy {
		slices.Reverse(prices)
	}
	var out [][]int64
	for _, p := range prices {
		ids := byPrice[p]
		slices.SortFunc(ids, func(a, b int64) int { return int(r.orders[a].key - r.orders[b].key) })
		out = append(out, ids)
	}
	return out
}

func TestBookShowsTimePriority(t *testing.T) {
	dir, cmds, v := fixture(t)
	ref := &refBook{orders: map[int64]*refOrder{}}
	e, _ := newEngines(v.spec(), v.Partitions)
	checkAt := map[int64]bool{777: true, 2500: true, 4096: true, 6000: true}
	keptPlace := 0
	for i := range cmds {
		ref.apply(e.apply(&cmds[i]))
		if !checkAt[cmds[i].Seq] {
			continue
		}
		for sym := uint32(1); sym <= 4; sym++ {
			bk, err := BookAt(BookOptions{Moment: Moment{Dir: dir, Venue: v, AtSeq: cmds[i].Seq}, Symbol: sym})
			if err != nil {
				t.Fatal(err)
			}
			for _, side := range []struct {
				s      matcher.Side
				levels []Level
			}{{matcher.Buy, bk.Bids}, {matcher.Sell, bk.Asks}} {
				want := ref.levels(sym, side.s)
				if len(want) != len(side.levels) {
					t.Fatalf("seq %d symbol %d side %d: %d levels, the events say %d", cmds[i].Seq, sym, side.s, len(side.levels), len(want))
				}
				for l, lv := range side.levels {
					var got []int64
					for _, o := range lv.Orders {
						got = append(got, o.OrderID)
						if ro := ref.orders[o.OrderID]; ro.leaves != o.Leaves || ro.price != lv.Price {
							t.Fatalf("order %d: leaves %d at %d, the events say %d at %d", o.OrderID, o.Leaves, lv.Price, ro.leaves, ro.price)
						}
					}
					if !slices.Equal(got, want[l]) {
						t.Fatalf("seq %d symbol %d side %d level %d: orders %v, time priority from the events %v", cmds[i].Seq, sym, side.s, l, got, want[l])
					}
					if !slices.IsSorted(got) {
						keptPlace++ // an older order id behind a newer one: a replace moved it
					}
				}
			}
		}
	}
	if keptPlace == 0 {
		t.Log("note: no level where a replace reordered ids")
	}
}
