package audit

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// A journal written with risk.cashUnit 0.01 verifies under that config;
// under 0.001, or risk.mode none, verify names the risk venue record and
// the key, as a node's start does.
func TestVerifyRefusesAnotherRiskVenue(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t), Publisher: discardEvents{}})
	if err != nil {
		t.Fatal(err)
	}
	dep, _ := matcher.Funds{Account: 1, Amount: 100_000}.Command()
	if err := n.Submit(&dep); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, n)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	verify := func(c config.Config) (*Report, error) {
		v, err := VenueOf(c)
		if err != nil {
			t.Fatal(err)
		}
		return Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
	}
	if rep, err := verify(cfg); err != nil || !rep.OK() {
		t.Fatalf("verify under the config that wrote it: %v, problems %v", err, rep.Problems)
	}
	unit := cfg
	unit.Risk.CashUnit = "0.001"
	none := cfg
	none.Risk = config.Risk{}
	for key, c := range map[string]config.Config{"risk.cashUnit": unit, "risk.mode": none} {
		rep, err := verify(c)
		if err == nil && rep.OK() {
			t.Fatalf("verify with another %s: ok", key)
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if rep != nil {
			for _, p := range rep.Problems {
				msg += " " + p.Error()
			}
		}
		if !strings.Contains(msg, key) {
			t.Fatalf("verify with another %s: %q; want it named", key, msg)
		}
	}
}
