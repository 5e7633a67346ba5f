package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestAdminToken: with replication.adminToken set, a command without the
// token or with a wrong one is refused and changes nothing; with it, the
// command runs.
func TestAdminToken(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = fixtest.FreeAddr(t)
	cfg.Replication.AdminToken = "s3cret"
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	defer serveAdmin(cfg, n)()

	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := adminMain("endofday", append([]string{"--admin", cfg.Replication.Admin}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	for _, args := range [][]string{nil, {"--token", "wrong"}, {"--token", "s3cret0"}} {
		t.Setenv(adminTokenEnv, "")
		if code, out := run(args...); code == 0 || !strings.Contains(out, "error unauthorized") {
			t.Errorf("endofday %v: exit %d, %q; want refused", args, code, out)
		}
	}
	// The start journaled a symbol scale record per symbol, the STP venue
	// record and one account binding per session, and the refused commands
	// nothing.
	first := len(cfg.Symbols) + 1 + len(cfg.FIX.Sessions) + 1
	if code, out := run("--token", "s3cret"); code != 0 || !strings.HasPrefix(out, fmt.Sprintf("ok end of day at sequence %d\n", first)) {
		t.Errorf("endofday with the token: exit %d, %q; want the first sequence after the bindings", code, out)
	}
	t.Setenv(adminTokenEnv, "s3cret")
	if code, out := run(); code != 0 || !strings.HasPrefix(out, fmt.Sprintf("ok end of day at sequence %d\n", first+1)) {
		t.Errorf("endofday with the token in %s: exit %d, %q; want the second sequence", adminTokenEnv, code, out)
	}
}
