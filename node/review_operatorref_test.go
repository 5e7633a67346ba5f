package node_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// Review (issue 19, operator references): `ringex account` makes one
// reference per request and a retry sends the same, so a reference names
// one request. The operator deposits 100 cash to BROKER01 with ref
// "ops-9", then, pasting the wrong line, deposits 100 cash to BROKER02
// with the same ref. A venue refuses the second as a reference reused for
// another request (operator_ref_conflict, a *node.RefConflictError) and
// changes nothing, as it does for another amount on the same account.
// ringex keys the reference table by reference AND account
// (risk/refs.go refKey, so that a firm's block can carry one ref on each
// member's record), so the same ref on another account is a new request:
// BROKER02 is credited 100 and the operator is told nothing.
func TestReviewOperatorRefReusedForAnotherAccount(t *testing.T) {
	dir, addr := t.TempDir(), fixtest.FreeAddr(t)
	n := startCfg(t, spotVenue(dir, addr))
	defer n.Stop()
	if _, err := fundsRef(n, wait, "ops-9", false, "BROKER01", "cash", "100"); err != nil {
		t.Fatal(err)
	}
	_, err := fundsRef(n, wait, "ops-9", false, "BROKER02", "cash", "100")
	var ce *node.RefConflictError
	show, _ := n.AccountShow("BROKER02")
	if !errors.As(err, &ce) || !strings.Contains(show, "cash 0.00 ") {
		t.Errorf("deposit to BROKER02 with the ref of BROKER01's deposit: %v (BROKER02: %s); want a *node.RefConflictError and cash 0.00", err, show)
	}
}
