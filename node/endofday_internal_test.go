package node

import (
	"testing"
	"time"
)

// TestNextEndOfDay: the scheduler's next end is the configured time of day
// in UTC, strictly later than now.
func TestNextEndOfDay(t *testing.T) {
	at := 21 * time.Hour
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name      string
		now, want time.Time
	}{
		{"morning_ends_today", day(10, 9, 30), day(10, 21, 0)},
		{"at_the_end_waits_a_day", day(10, 21, 0), day(11, 21, 0)},
		{"evening_ends_tomorrow", day(10, 22, 15), day(11, 21, 0)},
		{"local_zone_is_read_as_utc", day(10, 20, 0).In(time.FixedZone("UTC+5", 5*3600)), day(10, 21, 0)},
	} {
		if got := nextAt(tc.now, at); !got.Equal(tc.want) {
			t.Errorf("%s: nextAt(%v) = %v, want %v", tc.name, tc.now, got, tc.want)
		}
	}
}
