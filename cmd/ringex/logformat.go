package main

import (
	"fmt"
	"io"
	"log/slog"
)

// setLogging makes slog's default logger, which every package of the node
// logs through, write to w: format "text" is slog's key=value lines
// (time=… level=WARN msg="REPLICATION DEGRADED: going on alone"
// component=node …), "json" one JSON object a line with the same keys.
// Records below level ("debug", "info", "warn" or "error") are dropped.
// slog.SetDefault also routes the log package's output (dependencies) into
// the same handler, at Info. Never a line per order: the node logs per
// session event, per minute and per incident.
func setLogging(format, level string, w io.Writer) error {
	var lv slog.Level
	switch level {
	case "debug", "info", "warn", "error":
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return fmt.Errorf("--log-level %q: %w", level, err)
		}
	default:
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return fmt.Errorf("--log-format %q: want text or json", format)
	}
	slog.SetDefault(slog.New(h))
	return nil
}

// cmdLog is the logger of the command's own records (admin requests, the
// HTTP listener, start-up refusals): slog's default, which setLogging
// sets, with component=ringex.
func cmdLog() *slog.Logger { return slog.Default().With("component", "ringex") }
