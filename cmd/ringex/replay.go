package main

import (
	"io"

	"github.com/ringex/ringex/audit"
)

// replayMain runs `ringex replay`: the audit tool lives in package audit.
func replayMain(args []string, stdout, stderr io.Writer) int {
	return audit.Main(args, stdout, stderr)
}
