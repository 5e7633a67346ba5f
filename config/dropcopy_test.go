package config

import "testing"

// TestDropCopyOfNamesBrokerSessions: dropCopyOf takes "*" and the
// targetCompIDs of broker sessions; an unknown one, or a drop-copy
// session, is refused.
func TestDropCopyOfNamesBrokerSessions(t *testing.T) {
	for _, tc := range []struct {
		of []string
		ok bool
	}{
		{[]string{"*"}, true},
		{[]string{"BROKER01", "BROKER02"}, true},
		{[]string{"NOBODY"}, false},
		{[]string{"DC"}, false},
	} {
		cfg := Default()
		cfg.FIX.Sessions = append(cfg.FIX.Sessions, Session{BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: tc.of})
		if err := cfg.Check(); (err == nil) != tc.ok {
			t.Errorf("dropCopyOf %q: Check() = %v, want ok %v", tc.of, err, tc.ok)
		}
	}
}
