package gateway

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/ringex/ringex/fix"
)

// Scale is an exact decimal unit, value/10^exp: a tick size ("0.01" is
// {1, 2}) or a lot size ({100, 0}). Prices and quantities cross the gateway
// as whole numbers of such units; nothing is ever rounded.
type Scale struct {
	value int64
	exp   int
}

// maxDigits bounds the digits the gateway accepts in a FIX decimal (and
// so a Scale's exponent), so Units's products fit in 128 bits; a number of
// units that does not fit in an int64 is refused there.
const maxDigits = 15

// ParseScale parses a positive decimal such as "0.01" or "100".
func ParseScale(s string) (Scale, error) {
	v, e, ok := parseDecimal([]byte(s))
	if !ok || v <= 0 {
		return Scale{}, fmt.Errorf("%q is not a positive decimal of at most %d digits", s, maxDigits)
	}
	return Scale{value: v, exp: e}, nil
}

// ScaleOf returns the unit value (an integer, exponent 0).
func ScaleOf(value int64) Scale { return Scale{value: value} }

// parseDecimal reads an unsigned-or-negative decimal ("12", "-3.250") as
// mantissa/10^exp. It refuses exponents, blanks and more than maxDigits digits.
func parseDecimal(b []byte) (mant int64, exp int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
	} else if b[0] == '+' {
		b = b[1:]
	}
	digits, dot := 0, false
	for _, c := range b {
		switch {
		case c == '.' && !dot:
			dot = true
		case c >= '0' && c <= '9':
			if digits == 0 && c == '0' && !dot {
				// leading zeros carry no digits
			} else {
				digits++
			}
			if digits > maxDigits {
				return 0, 0, false
			}
			mant = mant*10 + int64(c-'0')
			if dot {
				exp++
			}
		default:
			return 0, 0, false
		}
	}
	if len(b) == 0 || (len(b) == 1 && dot) {
		return 0, 0, false
	}
	if neg {
		mant = -mant
	}
	return mant, exp, true
}

// Units converts a FIX decimal to a whole number of s; ok is false when the
// text is not a decimal, is not an exact multiple of s (an off-tick price is
// a reject, never a rounding), or is more units than an int64 holds (a
// huge price or amount is a reject, never a wrapped number). Hot path: the
// gateway reads every price and quantity with it; no allocation.
func (s Scale) Units(b []byte) (units int64, ok bool) {
	m, e, ok := parseDecimal(b)
	if !ok {
		return 0, false
	}
	// m/10^e ÷ v/10^se = m*10^(se-e) / v, or m / (v*10^(e-se)): the powers
	// of ten cancel first, and the rest is exact in 128 bits (|m| and v
	// have at most maxDigits digits, and so have the exponents).
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u
	}
	hi, lo := uint64(0), u
	den := uint64(s.value)
	for i := e; i < s.exp; i++ {
		carry, l := bits.Mul64(lo, 10)
		hi, lo = hi*10+carry, l // under 10^30: no 128-bit overflow
	}
	for i := s.exp; i < e; i++ {
		h, l := bits.Mul64(den, 10)
		if h != 0 {
			return 0, u == 0 // den > |m|: a whole number of units only when 0
		}
		den = l
	}
	if den == 0 || hi >= den {
		return 0, false // no unit, or a quotient over 64 bits
	}
	q, r := bits.Div64(hi, lo, den)
	if r != 0 || q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

// put appends tag=units of s as a FIX decimal. No allocation.
func (s Scale) put(f *fix.Fields, tag int, units int64) {
	f.AddDecimal(tag, units*s.value, s.exp)
}

// AddTo appends tag=units of s to f as a FIX decimal, as the gateway's
// reports write them (market data uses it). No allocation.
func (s Scale) AddTo(f *fix.Fields, tag int, units int64) { s.put(f, tag, units) }

// Format writes units of s as a FIX decimal.
func (s Scale) Format(units int64) string {
	return formatFixed(units*s.value, s.exp)
}

// FormatRatio writes num/den units of s (an average price) with up to 8
// decimals more than s itself, rounded half away from zero.
func (s Scale) FormatRatio(num, den int64) string {
	if den == 0 {
		return "0"
	}
	if num%den == 0 {
		return s.Format(num / den)
	}
	r := new(big.Rat).SetFrac(big.NewInt(num), big.NewInt(den))
	r.Mul(r, new(big.Rat).SetFrac(big.NewInt(s.value), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s.exp)), nil)))
	return trimZeros(r.FloatString(s.exp + 8))
}

// putRatio appends tag=num/den units of s as FormatRatio writes it, but a
// whole number without a trailing dot. No allocation, unless the value
// needs more than 64 bits (then FormatRatio does it).
func (s Scale) putRatio(f *fix.Fields, tag int, num, den int64) {
	if mant, exp, ok := s.ratio(num, den); ok {
		f.AddDecimal(tag, mant, exp)
		return
	}
	f.AddString(tag, strings.TrimSuffix(s.FormatRatio(num, den), "."))
}

// ratio is num/den units of s as mant/10^exp with up to 8 decimals more
// than s, rounded half away from zero and without trailing zeros; ok is
// false when den is not positive or the value does not fit in 64 bits.
func (s Scale) ratio(num, den int64) (mant int64, exp int, ok bool) {
	exp = s.exp + 8
	if den <= 0 || exp > 18 {
		return 0, 0, false
	}
	u := uint64(num)
	if num < 0 {
		u = -u
	}
	hi, lo := bits.Mul64(u, uint64(s.value))
	if hi != 0 {
		return 0, 0, false
	}
	hi, lo = bits.Mul64(lo, 1e8)
	if hi >= uint64(den) {
		return 0, 0, false
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r >= uint64(den)-r {
		q++ // half away from zero
	}
	if q > math.MaxInt64 {
		return 0, 0, false
	}
	for exp > 0 && q%10 == 0 {
		q /= 10
		exp--
	}
	mant = int64(q)
	if num < 0 {
		mant = -mant
	}
	return mant, exp, true
}

func formatFixed(v int64, exp int) string {
	if exp == 0 {
		return strconv.FormatInt(v, 10)
	}
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	for len(s) <= exp {
		s = "0" + s
	}
	s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	if neg {
		s = "-" + s
	}
	return s
}

func trimZeros(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			j := len(s)
			for j > i+1 && s[j-1] == '0' {
				j--
			}
			return s[:j]
		}
	}
	return s
}
