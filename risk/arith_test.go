package risk

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// The money arithmetic multiplies where it could divide; these are the
// formulas by division it must agree with, on random amounts from 0 to
// the bounds and on the edges of overflow.
func TestMoneyArithmeticAgreesWithDivision(t *testing.T) {
	notionalDiv := func(qty, px, unit int64) int64 {
		if qty <= 0 || px <= 0 {
			return 0
		}
		n := qty * px
		if n > math.MaxInt64/unit {
			return math.MaxInt64
		}
		return n * unit
	}
	feeDiv := func(cost, bps int64) int64 {
		if bps == 0 {
			return 0
		}
		hi, lo := bits.Mul64(uint64(cost), uint64(bps))
		q, _ := bits.Div64(hi, lo, 10000)
		return int64(q)
	}
	holdUnitDiv := func(px, cpl, bps int64) int64 {
		v := notionalDiv(1, px, cpl)
		if bps == 0 || v == math.MaxInt64 {
			return v
		}
		hi, lo := bits.Mul64(uint64(v), uint64(bps))
		q, r := bits.Div64(hi, lo, 10000)
		if r != 0 {
			q++
		}
		if int64(q) > math.MaxInt64-v {
			return math.MaxInt64
		}
		return v + int64(q)
	}
	mulDiv := func(qty, u int64) int64 {
		if u > math.MaxInt64/qty {
			return math.MaxInt64
		}
		return qty * u
	}
	r := rand.New(rand.NewPCG(7, 8))
	upTo := func(n int64) int64 {
		switch r.IntN(4) {
		case 0:
			return n - r.Int64N(3) // the edge
		case 1:
			return r.Int64N(1000) // the usual
		}
		return r.Int64N(n + 1)
	}
	for range 200000 {
		qty, px, unit := upTo(matcher.MaxQtyLots), upTo(matcher.MaxPriceTicks), max(1, upTo(MaxCashPerTickLot))
		bps := upTo(10000)
		if got, want := notional(qty, px, unit), notionalDiv(qty, px, unit); got != want {
			t.Fatalf("notional(%d, %d, %d) = %d, by division %d", qty, px, unit, got, want)
		}
		cost := notional(qty, px, unit)
		if r.IntN(8) == 0 {
			cost = math.MaxInt64 - r.Int64N(3)
		}
		if got, want := feeOf(cost, bps), feeDiv(cost, bps); got != want {
			t.Fatalf("feeOf(%d, %d) = %d, by division %d", cost, bps, got, want)
		}
		u := holdUnit(px, unit, bps)
		if want := holdUnitDiv(px, unit, bps); u != want {
			t.Fatalf("holdUnit(%d, %d, %d) = %d, by division %d", px, unit, bps, u, want)
		}
		if q := max(1, qty); mulOrMax(q, u) != mulDiv(q, u) {
			t.Fatalf("%d × %d = %d, by division %d", q, u, mulOrMax(q, u), mulDiv(q, u))
		}
	}
}
