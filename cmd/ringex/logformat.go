package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"time"
)

// setLogFormat chooses how `ringex serve` writes its log to w: "text",
// the plain lines the code has always written (log.Printf: date, time,
// message), or "json", one slog JSON record a line ({"time", "level",
// "msg"}). JSON goes through slog's default logger, and the log
// package's lines through the same handler (levelWriter), so every line
// of the node, gateway and replication is a record. The code logs with
// log.Printf and says WARNING, STOPPED ACCEPTING and the like at the start
// of the message: such a line becomes a WARN or ERROR record (levelOf),
// any other an INFO one. Never a line per order: the node logs per
// session event, per minute and per incident.
func setLogFormat(name string, w io.Writer) error {
	switch name {
	case "text":
		log.SetOutput(w)
		return nil
	case "json":
		h := slog.NewJSONHandler(w, nil)
		slog.SetDefault(slog.New(h)) // also sets the log package's flags to 0: the record has the time
		log.SetOutput(levelWriter{h})
		return nil
	}
	return fmt.Errorf("--log-format %q: want text or json", name)
}

// levelWriter is the log package's output under --log-format json: each
// line (log writes one per call) becomes one record of h, at the level
// its words say.
type levelWriter struct{ h slog.Handler }

func (w levelWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	level := levelOf(msg)
	ctx := context.Background()
	if !w.h.Enabled(ctx, level) {
		return len(p), nil
	}
	if err := w.h.Handle(ctx, slog.NewRecord(time.Now(), level, msg, 0)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// logLevels are the words that open a message saying something is wrong,
// after its package's prefix ("ringex: ", "replica: "), and the level they
// give it; any other message is INFO.
var logLevels = []struct {
	word  string
	level slog.Level
}{
	{"ERROR", slog.LevelError},
	{"STOPPED ACCEPTING", slog.LevelError}, // the pipeline failed: the node takes nothing more
	{"SPLIT BRAIN", slog.LevelError},
	{"WARNING", slog.LevelWarn},
	{"FAILOVER", slog.LevelWarn},
	{"REFUSING", slog.LevelWarn},
	{"STEPPING DOWN", slog.LevelWarn},
	{"LEADERSHIP LOST", slog.LevelWarn},
	{"ACKNOWLEDGEMENTS HELD", slog.LevelWarn},
	{"NOT GOING ON ALONE", slog.LevelWarn},
	{"REPLICATION DEGRADED", slog.LevelWarn},
	{"OVERRIDE", slog.LevelWarn},
	{"STARTING FROM LAST GOOD RECORD", slog.LevelWarn},
	{"STARTING WITHOUT DURABLE RECORDS", slog.LevelWarn},
}

// levelOf is the level of a log message: that of the word it opens with,
// after a lower-case package prefix and ": ".
func levelOf(msg string) slog.Level {
	if pkg, rest, ok := strings.Cut(msg, ": "); ok && pkg != "" && strings.Trim(pkg, "abcdefghijklmnopqrstuvwxyz") == "" {
		msg = rest
	}
	for _, l := range logLevels {
		if strings.HasPrefix(msg, l.word) {
			return l.level
		}
	}
	return slog.LevelInfo
}
