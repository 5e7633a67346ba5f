package logtest

import (
	"strings"
	"testing"
)

// TestLinesKeepsOneLinePerRecord: each record is one line with its level,
// message and attributes, Debug included and no time; With finds the line
// that holds a message and an attribute together.
func TestLinesKeepsOneLinePerRecord(t *testing.T) {
	var l Lines
	log := l.Logger().With("component", "journal")
	log.Warn("torn tail truncated", "path", "00000001.log", "last_seq", 41)
	log.Debug("sealed segment", "last_seq", 42)
	got := l.All()
	if len(got) != 2 {
		t.Fatalf("lines %q, want 2", got)
	}
	if want := `level=WARN msg="torn tail truncated" component=journal path=00000001.log last_seq=41`; got[0] != want {
		t.Errorf("line %q, want %q", got[0], want)
	}
	if strings.Contains(got[1], "time=") || !strings.Contains(got[1], "level=DEBUG") {
		t.Errorf("line %q: want the Debug record, without a time", got[1])
	}
	if n := len(l.With("torn tail", " last_seq=41")); n != 1 {
		t.Errorf("With(torn tail, last_seq=41) found %d lines, want 1", n)
	}
	if n := len(l.With("torn tail", " last_seq=42")); n != 0 {
		t.Errorf("With(torn tail, last_seq=42) found %d lines, want 0 (the attribute is on another line)", n)
	}
	if !l.Has("sealed segment") || l.Count("last_seq=") != 2 {
		t.Errorf("Has/Count disagree with %q", got)
	}
}
