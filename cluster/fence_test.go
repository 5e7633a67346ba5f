package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
)

func TestFenceAdmitsNewerAndEqualTokensAndRefusesOlder(t *testing.T) {
	steps := []struct {
		name   string
		token  cluster.Token
		refuse bool
		newest cluster.Token
	}{
		{"first_frame_of_term_7", 7, false, 7},
		{"same_term_again", 7, false, 7},
		{"new_leader_term_12", 12, false, 12},
		{"old_leader_term_7_after_12", 7, true, 12},
		{"term_11_never_led_after_12", 11, true, 12},
		{"term_12_still", 12, false, 12},
	}
	var f cluster.Fence
	for _, s := range steps {
		err := f.Admit(s.token)
		var stale *cluster.StaleTokenError
		switch {
		case s.refuse && !errors.As(err, &stale):
			t.Fatalf("%s: Admit(%d) = %v, want a StaleTokenError", s.name, s.token, err)
		case s.refuse && (stale.Got != s.token || stale.Newest != s.newest):
			t.Fatalf("%s: refusal names got %d newest %d, want %d and %d", s.name, stale.Got, stale.Newest, s.token, s.newest)
		case !s.refuse && err != nil:
			t.Fatalf("%s: Admit(%d) = %v, want nil", s.name, s.token, err)
		}
		if f.Newest() != s.newest {
			t.Fatalf("%s: Newest() = %d, want %d", s.name, f.Newest(), s.newest)
		}
	}
}

func TestZeroGuardIsNotValid(t *testing.T) {
	var g cluster.Guard
	if g.Valid(time.Now()) {
		t.Fatal("a zero Guard is valid: a node that never led could acknowledge")
	}
}

// BenchmarkGuardValid is the cost the acknowledging stage pays per batch.
func BenchmarkGuardValid(b *testing.B) {
	var g cluster.Guard
	g.ValidFor(time.Hour)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if g.Valid(now) {
			n++
		}
	}
	if n != b.N {
		b.Fatalf("guard valid %d of %d times", n, b.N)
	}
}

// BenchmarkGuardValidWithClock adds the time.Now a stage that has no
// timestamp at hand would take.
func BenchmarkGuardValidWithClock(b *testing.B) {
	var g cluster.Guard
	g.ValidFor(time.Hour)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !g.Valid(time.Now()) {
			b.Fatal("guard ran out")
		}
	}
}
