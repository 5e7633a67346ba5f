package main

import (
	"fmt"
	"io"
)

// replayMain runs `ringex replay`.
func replayMain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ringex replay: not built yet (issue 9)")
	return 2
}
