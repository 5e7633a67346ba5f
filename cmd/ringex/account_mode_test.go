package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// Errors say what failed and with what: on a venue with risk.mode
// "limits", `ringex account deposit BROKER01 cash 10` over the admin
// endpoint is refused, since deposits need mode "spot", and the refusal
// names the venue's mode, limits, not "none".
func TestDepositOnALimitsVenueNamesItsMode(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Replication.Admin = fixtest.FreeAddr(t)
	cfg.Risk = config.Risk{Mode: config.RiskModeLimits}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	defer serveAdmin(cfg, n)()
	var out, errOut bytes.Buffer
	code := accountMain([]string{"deposit", "--admin", cfg.Replication.Admin, "BROKER01", "cash", "10"}, &out, &errOut)
	got := out.String() + errOut.String()
	if code != 1 {
		t.Fatalf("deposit on a limits venue: exit %d, %q; want 1", code, got)
	}
	if strings.Contains(got, `risk.mode is "none"`) || !strings.Contains(got, "limits") {
		t.Errorf("deposit on a venue with risk.mode \"limits\": %q; want the refusal to name the venue's mode, limits, not \"none\"", strings.TrimSpace(got))
	}
}
