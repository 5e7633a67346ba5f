// Package logtest gives tests a *slog.Logger whose records they can read.
// Each record becomes one line, "level=WARN msg=\"REPLICATION DEGRADED: ...\"
// component=node seq=42" (slog's text form without the time), written to
// t.Log (New) or kept in memory (Lines) for a test to grep. It owns nothing
// else: the code under test decides what it logs and at which level; every
// level, Debug included, is kept.
package logtest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// New is a logger whose records go to t.Log, one line each.
func New(t testing.TB) *slog.Logger { return Named(t, "") }

// Named is New with each line prefixed by name and ": " (a test that runs
// several nodes tells them apart); an empty name adds nothing.
func Named(t testing.TB, name string) *slog.Logger {
	return slog.New(handler(writerFunc(func(line string) { t.Log(prefixed(name, line)) })))
}

func prefixed(name, line string) string {
	if name == "" {
		return line
	}
	return name + ": " + line
}

// Discard is a logger that drops every record.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Lines keeps every record a logger writes, one line each, for a test to
// search. Its zero value is ready; it is safe for concurrent use.
type Lines struct {
	mu    sync.Mutex
	lines []string
	tee   testing.TB
	name  string
}

// Tee also writes each line to t.Log, prefixed as Named does; it returns l.
func (l *Lines) Tee(t testing.TB, name string) *Lines {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tee, l.name = t, name
	return l
}

// Logger is a logger whose records l keeps.
func (l *Lines) Logger() *slog.Logger {
	return slog.New(handler(writerFunc(l.add)))
}

func (l *Lines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if l.tee != nil {
		l.tee.Log(prefixed(l.name, line))
	}
}

// All is a copy of the lines kept so far.
func (l *Lines) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Has says whether a line kept so far contains substr.
func (l *Lines) Has(substr string) bool { return l.Count(substr) > 0 }

// With is the lines kept so far that contain every one of words: a
// message and the attributes (" seq=42 ") that must be on its line.
func (l *Lines) With(words ...string) []string {
	var out []string
next:
	for _, line := range l.All() {
		for _, w := range words {
			if !strings.Contains(line, w) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// Count is the number of lines kept so far that contain substr.
func (l *Lines) Count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// String is every line kept so far, each ending in a newline.
func (l *Lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, s := range l.lines {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// handler is slog's text handler at Debug without the time attribute: the
// text handler writes each record with one Write, which becomes one line.
func handler(w writerFunc) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
}

type writerFunc func(line string)

func (f writerFunc) Write(p []byte) (int, error) {
	f(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
