package matcher

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSideSearchFindsInsertionPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for n := range 70 {
		var s side
		for len(s.keys) < n {
			k := rng.Int64N(200) - 100
			if i, found := s.search(k); !found {
				s.insertAt(i, k, 1)
			}
		}
		if !slices.IsSorted(s.keys) {
			t.Fatalf("n=%d: keys not sorted", n)
		}
		for k := int64(-102); k <= 102; k++ {
			i, found := s.search(k)
			want, wantFound := slices.BinarySearch(s.keys, k)
			if i != want || found != wantFound {
				t.Fatalf("n=%d key %d: got (%d, %v), want (%d, %v)", n, k, i, found, want, wantFound)
			}
		}
	}
}
