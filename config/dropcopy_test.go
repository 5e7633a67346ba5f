package config

import (
	"strings"
	"testing"
)

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

// TestCopyMsgIndicatorOnlyOnAFIX42DropCopy: copyMsgIndicator is taken on
// a FIX.4.2 drop copy, and refused, naming it, on a FIX.4.4 drop copy
// (whose ExecutionReports always carry 797=Y) and on a broker session.
func TestCopyMsgIndicatorOnlyOnAFIX42DropCopy(t *testing.T) {
	for _, tc := range []struct {
		begin string
		of    []string
		ok    bool
	}{
		{"FIX.4.2", []string{"BROKER01"}, true},
		{"FIX.4.4", []string{"BROKER01"}, false},
		{"FIX.4.2", nil, false},
	} {
		cfg := Default()
		cfg.FIX.Sessions = append(cfg.FIX.Sessions, Session{BeginString: tc.begin, TargetCompID: "DC", DropCopyOf: tc.of, CopyMsgIndicator: true})
		err := cfg.Check()
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "copyMsgIndicator")) {
			t.Errorf("%s dropCopyOf %q with copyMsgIndicator: Check() = %v, want ok %v", tc.begin, tc.of, err, tc.ok)
		}
	}
}
