package node_test

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
)

// Review (issue 19, the fee account @fees): `ringex account show @fees`
// shows account 0, but `ringex account block @fees` answers "no session
// "@fees" in fix.sessions, nor account "@fees" in firms[].accounts, nor a
// name the journal binds", as for a typo: the operator is told the
// account does not exist. A venue refuses it (nothing journaled) saying
// that @fees is the venue's fee account, which cannot be blocked (as
// node/fees.go says, and as deposit to @fees is answered). ringex's
// BlockRef (node/risk.go) looks the name up with accountOf, which does
// not know @fees, not balanceAccountOf.
func TestReviewBlockOfTheFeeAccountSaysWhy(t *testing.T) {
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
