package node

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// logfHandler carries the records of the packages that log through slog
// into the node's printf-style Options.Logf until the node itself logs
// through slog: one line per record, "LEVEL msg key=value ...".
type logfHandler struct {
	logf  func(string, ...any)
	attrs string
}

func slogOf(logf func(string, ...any)) *slog.Logger { return slog.New(logfHandler{logf: logf}) }

func (h logfHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h logfHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s%s", r.Level, r.Message, h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.logf("%s", b.String())
	return nil
}

func (h logfHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	return logfHandler{h.logf, b.String()}
}

func (h logfHandler) WithGroup(string) slog.Handler { return h }
