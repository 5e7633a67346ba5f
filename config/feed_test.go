package config

import (
	"strings"
	"testing"
)

// TestFeedSettings: the feed is off by default; turned on, a setting that
// cannot work is refused, naming it.
func TestFeedSettings(t *testing.T) {
	if c := Default(); c.Feed.Enabled {
		t.Fatal("the default runs the market-data feed")
	}
	for _, tc := range []struct {
		name string
		edit func(*Feed)
		want string // "" accepted
	}{
		{"default_turned_on", func(*Feed) {}, ""},
		{"multicast_and_unicast", func(f *Feed) { f.Send = []string{"239.1.2.3:5000", "127.0.0.1:5001"} }, ""},
		{"recovery_without_port", func(f *Feed) { f.Recovery = "127.0.0.1" }, "feed.recovery"},
		{"send_a_name", func(f *Feed) { f.Send = []string{"feedhost:5000"} }, "feed.send[0]"},
		{"no_queue", func(f *Feed) { f.QueuePackets = 0 }, "feed.queuePackets"},
		{"no_heartbeat", func(f *Feed) { f.HeartbeatMs = 0 }, "feed.heartbeatMs"},
	} {
		c := Default()
		c.Feed.Enabled = true
		tc.edit(&c.Feed)
		err := c.Check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Check() = %v, want %q", tc.name, err, tc.want)
		}
	}
}
