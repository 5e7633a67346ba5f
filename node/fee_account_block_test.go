package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestBlockOfTheFeeAccountSaysWhy (review, issue 19, the fee
// account @fees): `ringex account block @fees` was answered "no session
// "@fees" in fix.sessions, ...", as for a typo. It is refused, journaling
// nothing, saying that @fees is the venue's fee account, which cannot be
// blocked (node/fees.go; BlockRef checks config.FeeAccount first).
func TestBlockOfTheFeeAccountSaysWhy(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, spotVenue(dir, addr))
	defer n.Stop()
	if _, err := n.AccountShow("@fees"); err != nil {
		t.Fatalf("account show @fees: %v", err)
	}
	_, err := n.Block("@fees", false)
	if err == nil || !strings.Contains(err.Error(), "fee account") {
		t.Errorf("block @fees: %v; want a refusal saying it is the venue's fee account", err)
	}
}
