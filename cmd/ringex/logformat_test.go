package main

import (
	"bytes"
	"encoding/json"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// logTo sets --log-format and --log-level with the output going to buf,
// and puts the standard logger and slog's default back when the test ends.
func logTo(t *testing.T, format, level string, buf *bytes.Buffer) {
	t.Helper()
	old := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(os.Stderr)
		log.SetFlags(log.LstdFlags)
	})
	if err := setLogging(format, level, buf); err != nil {
		t.Fatal(err)
	}
}

// TestLogFormatJSON: with --log-format json a record a package logs comes
// out as one JSON object with its time, level, message and attributes, and
// a line of the log package (a dependency's) as one at INFO; unknown
// formats and levels are refused with the ones there are.
func TestLogFormatJSON(t *testing.T) {
	var buf bytes.Buffer
	logTo(t, "json", "info", &buf)
	slog.Default().With("component", "node").Warn("REPLICATION DEGRADED: going on alone", "seq", 42, "epoch", 3)
	log.Printf("dependency: said %s", "hello")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line %q is not JSON: %v", lines[0], err)
	}
	if rec["msg"] != "REPLICATION DEGRADED: going on alone" || rec["level"] != "WARN" || rec["time"] == nil ||
		rec["component"] != "node" || rec["seq"] != 42.0 || rec["epoch"] != 3.0 {
		t.Errorf("record %v, want the message at WARN with a time, component, seq and epoch", rec)
	}
	rec = nil
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatalf("the log package's line %q is not JSON: %v", lines[1], err)
	}
	if rec["msg"] != "dependency: said hello" || rec["level"] != "INFO" {
		t.Errorf("the log package's record %v, want its line at INFO", rec)
	}
	if err := setLogging("xml", "info", &buf); err == nil || !strings.Contains(err.Error(), "want text or json") {
		t.Errorf("setLogging(xml) = %v, want a refusal naming text and json", err)
	}
	if err := setLogging("json", "loud", &buf); err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
		t.Errorf("setLogging(level loud) = %v, want a refusal naming the levels", err)
	}
}

// TestLogFormatText: --log-format text writes slog's key=value lines, with
// the level, the message (alarm words intact) and the attributes.
func TestLogFormatText(t *testing.T) {
	var buf bytes.Buffer
	logTo(t, "text", "info", &buf)
	slog.Default().With("component", "journal").Error("failed, accepting nothing more", "err", "fsync: input/output error")
	got := buf.String()
	for _, want := range []string{"time=", "level=ERROR", `msg="failed, accepting nothing more"`, "component=journal", `err="fsync: input/output error"`} {
		if !strings.Contains(got, want) {
			t.Errorf("text line %q lacks %s", got, want)
		}
	}
}

// TestLogLevel: --log-level drops the records below it: at warn an Info
// record is not written and a Warn one is; at debug a Debug one is.
func TestLogLevel(t *testing.T) {
	for _, c := range []struct {
		level   string
		logged  func(msg string)
		written bool
	}{
		{"warn", func(m string) { slog.Info(m) }, false},
		{"warn", func(m string) { slog.Warn(m) }, true},
		{"error", func(m string) { slog.Warn(m) }, false},
		{"info", func(m string) { slog.Debug(m) }, false},
		{"debug", func(m string) { slog.Debug(m) }, true},
	} {
		var buf bytes.Buffer
		logTo(t, "text", c.level, &buf)
		c.logged("the record")
		if got := strings.Contains(buf.String(), "the record"); got != c.written {
			t.Errorf("--log-level %s: written %v, want %v (%q)", c.level, got, c.written, buf.String())
		}
	}
}
