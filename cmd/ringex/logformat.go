package main

import (
	"fmt"
	"io"
	"log"
	"log/slog"
)

// setLogFormat chooses how `ringex serve` writes its log to w: "text",
// the plain lines the code has always written (log.Printf: date, time,
// message), or "json", one slog JSON record a line ({"time", "level",
// "msg"}). JSON goes through slog's default logger, which the log
// package's lines then pass through too, so every line of the node,
// gateway and replication is a record; their levels are all INFO (the
// code logs with log.Printf and says WARNING, STOPPED and the like in the
// message). Never a line per order: the node logs per session event, per
// minute and per incident.
func setLogFormat(name string, w io.Writer) error {
	switch name {
	case "text":
		log.SetOutput(w)
		return nil
	case "json":
		slog.SetDefault(slog.New(slog.NewJSONHandler(w, nil)))
		return nil
	}
	return fmt.Errorf("--log-format %q: want text or json", name)
}
