package node

import (
	"testing"
	"unsafe"
)

// TestReview2QuotePaddedToTwoCacheLines: quote's comment says it is
// padded to two cache lines so that neighbours (written by other
// partitions' goroutines) share no line; at 120 bytes, the writer-owned
// shown/stored of quote i-1 and the ver/v of quote i share a 64-byte line
// for most i.
func TestReview2QuotePaddedToTwoCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(quote{}); n != 128 {
		t.Errorf("unsafe.Sizeof(quote{}) = %d, want 128 (two cache lines, as its comment says)", n)
	}
}
