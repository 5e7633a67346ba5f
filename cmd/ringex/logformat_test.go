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

// logJSONTo sets --log-format json with its output going to buf, and puts
// the standard logger and slog's default back when the test ends.
func logJSONTo(t *testing.T, buf *bytes.Buffer) {
	t.Helper()
	old := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(os.Stderr)
		log.SetFlags(log.LstdFlags)
	})
	if err := setLogFormat("json", buf); err != nil {
		t.Fatal(err)
	}
}

// TestLogFormatJSON: with --log-format json a line the node logs with
// log.Printf comes out as one JSON record with its time, level and
// message; an unknown format is refused with the ones there are.
func TestLogFormatJSON(t *testing.T) {
	var buf bytes.Buffer
	logJSONTo(t, &buf)
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

// TestLogFormatLevels: under --log-format json a line whose words say
// something is wrong is a WARN or ERROR record, after its package's
// prefix; any other line, and one that merely mentions such a word later,
// is INFO.
func TestLogFormatLevels(t *testing.T) {
	var buf bytes.Buffer
	logJSONTo(t, &buf)
	for _, c := range []struct{ name, line, level string }{
		{"sync_none_warning", `ringex: WARNING journal sync is "none": acknowledged orders are NOT durable`, "WARN"},
		{"pipeline_failed", "ringex: STOPPED ACCEPTING ORDERS: journal: fsync: input/output error", "ERROR"},
		{"split_brain", "ringex: SPLIT BRAIN: this node (epoch 3) and the peer 127.0.0.1:9879 (epoch 3)", "ERROR"},
		{"failover", "ringex: FAILOVER: no frame from the primary for 1s", "WARN"},
		{"refusing_a_frame", "replica: REFUSING a frame of epoch 2: the newest is 3", "WARN"},
		{"stepping_down", "ringex: STEPPING DOWN: the peer serves epoch 4", "WARN"},
		{"acks_held", "ringex: ACKNOWLEDGEMENTS HELD under term 7: the lease may run out", "WARN"},
		{"an_error_word", "ERROR: config: no symbols", "ERROR"},
		{"session_event", "ringex: session FIX.4.4:RINGEX->BROKER01 logged on", "INFO"},
		{"word_later_in_line", "ringex: the peer said WARNING in its log", "INFO"},
		{"prefix_not_a_package", "Ringex: WARNING is not a package prefix here", "INFO"},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf.Reset()
			log.Print(c.line)
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("log line %q is not one JSON record: %v", buf.String(), err)
			}
			if rec["level"] != c.level || rec["msg"] != c.line {
				t.Errorf("record %v, want level %s and the line as msg", rec, c.level)
			}
		})
	}
	slog.Warn("ringex: from slog directly")
	if !strings.Contains(buf.String(), `"level":"WARN"`) {
		t.Errorf("a slog.Warn record came out as %q", buf.String())
	}
}
