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

// TestLogFormatJSON: with --log-format json a line the node logs with
// log.Printf comes out as one JSON record with its time, level and
// message; an unknown format is refused with the ones there are.
func TestLogFormatJSON(t *testing.T) {
	old := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(os.Stderr)
		log.SetFlags(log.LstdFlags)
	})
	var buf bytes.Buffer
	if err := setLogFormat("json", &buf); err != nil {
		t.Fatal(err)
	}
	log.Printf("ringex: serving FIX on %s", "127.0.0.1:9878")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
	}
	if rec["msg"] != "ringex: serving FIX on 127.0.0.1:9878" || rec["level"] != "INFO" || rec["time"] == nil {
		t.Errorf("record %v, want the message at INFO with a time", rec)
	}
	if err := setLogFormat("xml", &buf); err == nil || !strings.Contains(err.Error(), "want text or json") {
		t.Errorf("setLogFormat(xml) = %v, want a refusal naming text and json", err)
	}
}
