package main

import (
	"fmt"
	"io"
)

// benchMain runs `ringex bench`.
func benchMain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ringex bench: not built yet (issue 8)")
	return 2
}
