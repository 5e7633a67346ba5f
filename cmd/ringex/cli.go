package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
)

// The conventions every subcommand keeps: -h, --help and 'ringex help
// COMMAND' print the command's usage to stdout and exit 0; an unknown flag
// or a stray argument prints why and the usage to stderr and exits 2; a
// failure once the command runs exits 1.

// errUsage is a usage error whose explanation (and the usage) has been
// written to stderr already: exit 2.
var errUsage = errors.New("usage")

// parseFlags parses args into fs. Help goes to stdout and returns
// flag.ErrHelp; a bad flag, or any positional argument unless positional is
// set, writes why and fs.Usage to stderr and returns errUsage. fs.Usage
// must write to fs.Output().
func parseFlags(fs *flag.FlagSet, args []string, positional bool, stdout, stderr io.Writer) error {
	var buf bytes.Buffer
	fs.SetOutput(&buf) // what the flag package prints goes to stdout for help, to stderr otherwise
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		stdout.Write(buf.Bytes())
		return flag.ErrHelp
	case err != nil:
		stderr.Write(buf.Bytes())
		return errUsage
	case !positional && fs.NArg() > 0:
		return usageError(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// usageError writes "ringex NAME: why" and fs.Usage to fs.Output() (stderr
// once parseFlags has run) and returns errUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "ringex %s: %s\n\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

// exitCode is the exit status for what parseFlags returned, and whether the
// command stops there.
func exitCode(err error) (code int, stop bool) {
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		return 0, true
	}
	return 2, true
}

// usageFunc returns a flag.FlagSet Usage that writes head, then the flags
// (if any) under "Flags:", to fs.Output().
func usageFunc(fs *flag.FlagSet, head string) func() {
	return func() {
		fmt.Fprint(fs.Output(), head)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
}
