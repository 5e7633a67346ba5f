package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
)

// commandUsages is every command, verb and mode of ringex with how its
// usage begins, and a line its usage must hold.
func commandUsages() []struct {
	args          []string
	prefix, holds string
} {
	cmds := []struct {
		args          []string
		prefix, holds string
	}{
		{nil, "ringex: an exchange core", "ringex help [command"},
		{[]string{"serve"}, "Usage: ringex serve [flags]", "-start-from-last-good"},
		{[]string{"config"}, "Usage: ringex config", "case-sensitive"},
		{[]string{"replay"}, "ringex replay: audit", "ringex replay verify --journal DIR"},
		{[]string{"bench"}, "Usage: ringex bench mode [flags]", "Modes:"},
		{[]string{"promote"}, "Usage: ringex promote [--admin host:port] [--token T]", "-token"},
		{[]string{"status"}, "Usage: ringex status [--admin host:port] [--token T]", "-token"},
		{[]string{"endofday"}, "Usage: ringex endofday [--admin host:port] [--token T]", "-token"},
	}
	for _, verb := range []string{"verify", "trail", "book", "diff"} {
		cmds = append(cmds, struct {
			args          []string
			prefix, holds string
		}{[]string{"replay", verb}, "ringex replay: audit", "ringex replay " + verb + " "})
	}
	cmds = append(cmds, struct {
		args          []string
		prefix, holds string
	}{[]string{"md"}, "Usage: ringex md verb [flags]", "  check "})
	for _, verb := range []string{"serve", "listen", "book", "check"} {
		cmds = append(cmds, struct {
			args          []string
			prefix, holds string
		}{[]string{"md", verb}, "Usage: ringex md " + verb + " [flags]", "-recovery"})
	}
	for _, m := range benchModes {
		cmds = append(cmds, struct {
			args          []string
			prefix, holds string
		}{[]string{"bench", m.name}, "Usage: ringex bench " + m.name + " [flags]", "  " + m.name + " "})
	}
	return cmds
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func cat(a []string, b ...string) []string { return append(append([]string(nil), a...), b...) }

// TestHelpOfEveryCommand: --help, -h and 'ringex help X' exit 0 and print X's
// usage to stdout, nothing to stderr.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, c := range commandUsages() {
		for _, args := range [][]string{cat(c.args, "--help"), cat(c.args, "-h"), cat([]string{"help"}, c.args...)} {
			code, out, errOut := runCLI(args...)
			if code != 0 || errOut != "" {
				t.Errorf("ringex %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), code, errOut)
			}
			if !strings.HasPrefix(out, c.prefix) || !strings.Contains(out, c.holds) {
				t.Errorf("ringex %s: stdout is not its usage (want %q ... %q):\n%s", strings.Join(args, " "), c.prefix, c.holds, out)
			}
		}
	}
}

// TestUsageOnUnknownFlag: an unknown flag exits 2, prints nothing to stdout,
// and prints why and the command's usage to stderr.
func TestUsageOnUnknownFlag(t *testing.T) {
	for _, c := range commandUsages() {
		args := cat(c.args, "--no-such-flag")
		code, out, errOut := runCLI(args...)
		if code != 2 || out != "" {
			t.Errorf("ringex %s: exit %d, stdout %q; want 2 and nothing", strings.Join(args, " "), code, out)
		}
		if !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, c.prefix) || !strings.Contains(errOut, c.holds) {
			t.Errorf("ringex %s: stderr does not say why and show the usage (%q):\n%s", strings.Join(args, " "), c.prefix, errOut)
		}
	}
}

// TestUsageOnBadArgument: a stray argument, a missing one or a mode no one
// knows is refused with exit 2 and the command's usage on stderr.
func TestUsageOnBadArgument(t *testing.T) {
	for _, args := range [][]string{{"serve", "extra"}, {"config", "extra"}, {"status", "extra"}, {"bench", "fix", "extra"}, {"bench", "mix", "--out"},
		{"serve", "--role", "leader"}, {"bench", "journal", "--sync", "sometimes"}, {"bench", "suite", "--sync", "always"}} {
		code, out, errOut := runCLI(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage: ringex "+args[0]) {
			t.Errorf("ringex %s: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", strings.Join(args, " "), code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(); code != 2 || !strings.HasPrefix(errOut, "ringex: an exchange core") {
		t.Errorf("ringex with no command: exit %d, stderr %q; want 2 and the usage", code, errOut)
	}
}

// TestHelpListsEveryCommandAndMode: the top-level usage names every command
// and every bench mode.
func TestHelpListsEveryCommandAndMode(t *testing.T) {
	_, out, _ := runCLI("--help")
	for _, c := range commandUsages() {
		if len(c.args) > 0 && !strings.Contains(out, "ringex "+c.args[0]) {
			t.Errorf("ringex --help does not list %q", c.args[0])
		}
	}
	for _, m := range benchModes {
		if !strings.Contains(out, m.name) {
			t.Errorf("ringex --help does not list bench mode %q", m.name)
		}
	}
}

// TestConfigPrintsTheEmbeddedDefault: 'ringex config' prints the embedded
// file byte for byte, which a strict read accepts.
func TestConfigPrintsTheEmbeddedDefault(t *testing.T) {
	code, out, errOut := runCLI("config")
	if code != 0 || errOut != "" || out != string(config.DefaultJSON()) {
		t.Fatalf("ringex config: exit %d, stderr %q, stdout not the embedded default:\n%s", code, errOut, out)
	}
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path); err != nil {
		t.Fatal(err)
	}
}
