package gateway

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

func TestScaleUnits(t *testing.T) {
	cent, _ := ParseScale("0.01")
	lot100 := ScaleOf(100)
	micro, _ := ParseScale("0.000001")
	sat, _ := ParseScale("0.00000001")
	basis, _ := ParseScale("0.0001")
	cases := []struct {
		name  string
		scale Scale
		in    string
		want  int64
		ok    bool
	}{
		{"whole_dollars", cent, "101", 10100, true},
		{"cents", cent, "101.25", 10125, true},
		{"trailing_zeros", cent, "101.2500", 10125, true},
		{"off_tick_rejected", cent, "101.255", 0, false},
		{"negative_price_parses", cent, "-1.5", -150, true},
		{"garbage_rejected", cent, "1e5", 0, false},
		{"empty_rejected", cent, "", 0, false},
		{"lone_dot_rejected", cent, ".", 0, false},
		{"two_dots_rejected", cent, "1.2.3", 0, false},
		{"too_many_digits_rejected", cent, "1234567890123456", 0, false},
		{"round_lot", lot100, "300", 3, true},
		{"odd_lot_rejected", lot100, "250", 0, false},
		{"qty_with_zero_decimals", lot100, "300.00", 3, true},
		// Units that do not fit in an int64 are refused, never wrapped
		// (18446744073710 × 10^6 wrapped to 448384 before).
		{"overflow_rejected", micro, "18446744073710", 0, false},
		{"overflow_negative_rejected", micro, "-18446744073710", 0, false},
		{"largest_15_digits_rejected", sat, "999999999999999", 0, false},
		{"huge_price_rejected", sat, "184467440737096", 0, false},
		{"just_fits", basis, "922337203685477", 9223372036854770000, true},
		{"just_over", basis, "922337203685478", 0, false},
		{"just_over_negative", basis, "-922337203685478", 0, false},
		{"fine_decimals_of_a_coarse_unit", cent, "0.000000000000010", 0, false},
		{"zero_with_many_decimals", ScaleOf(900000000000000), "0.00000000000000", 0, true},
		{"many_decimals_of_a_lot", lot100, "300.0000000000", 3, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.scale.Units([]byte(c.in))
			if ok != c.ok || got != c.want {
				t.Fatalf("Units(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestScaleFormat(t *testing.T) {
	cent, _ := ParseScale("0.01")
	if got := cent.Format(10125); got != "101.25" {
		t.Fatalf("Format = %q", got)
	}
	if got := cent.Format(5); got != "0.05" {
		t.Fatalf("Format = %q", got)
	}
	// 10 lots at 100.00 and 20 at 100.01: avg 100.0066666667 ticks*0.01
	if got := cent.FormatRatio(10*10000+20*10001, 30); got != "100.0066666667" {
		t.Fatalf("FormatRatio = %q", got)
	}
	if got := cent.FormatRatio(30*10001, 30); got != "100.01" {
		t.Fatalf("FormatRatio whole = %q", got)
	}
}

// TestPutRatioAgreesWithFormatRatio: the average price written without
// allocating is the one math/big computes, for random fills on several
// tick sizes, negative prices, halves and values past 64 bits.
func TestPutRatioAgreesWithFormatRatio(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scales := []string{"0.01", "0.0001", "0.5", "1", "25", "0.000001"}
	check := func(sc Scale, num, den int64) {
		t.Helper()
		if num%den == 0 {
			return // the report writes a whole number of ticks itself
		}
		var f fix.Fields
		sc.putRatio(&f, 6, num, den)
		got := strings.TrimSuffix(strings.TrimPrefix(string(f.Bytes()), "6="), "\x01")
		want := strings.TrimSuffix(sc.FormatRatio(num, den), ".")
		if got != want {
			t.Fatalf("scale %+v, %d/%d: putRatio %q, FormatRatio %q", sc, num, den, got, want)
		}
	}
	for _, name := range scales {
		sc, err := ParseScale(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 20000 {
			qty := 1 + rng.Int64N(1_000_000)
			num := rng.Int64N(1<<40) * qty / (1 + rng.Int64N(1000))
			if rng.IntN(4) == 0 {
				num = -num
			}
			check(sc, num, qty)
		}
		check(sc, 1, 2)                         // a half
		check(sc, -1, 2)                        // a negative half
		check(sc, 2_000_000_000_000_000_001, 3) // past 64 bits once scaled
		check(sc, math.MinInt64+1, 7)
		check(sc, 200000001, 200000000) // rounds to a whole number
	}
	fill := matcher.Event{Type: matcher.EvFill, Account: 1, Symbol: 1, OrderQty: 30, CumQty: 30, CumNotional: 10*10000 + 20*10001, LastQty: 20, LastPx: 10001}
	g := &Gateway{opts: Options{Symbols: []Symbol{{Name: "S", Tick: mustScale(t, "0.01"), Lot: ScaleOf(1)}}}}
	var f fix.Fields
	if n := testing.AllocsPerRun(100, func() { f.Reset(); g.executionReport(&f, false, &fill) }); n != 0 {
		t.Errorf("an ExecutionReport with an average price between ticks allocates %v times", n)
	}
	if !strings.Contains(string(f.Bytes()), "\x016=100.0066666667\x01") {
		t.Errorf("AvgPx missing or wrong in %q", f.Bytes())
	}
}

func mustScale(t *testing.T, s string) Scale {
	t.Helper()
	sc, err := ParseScale(s)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
