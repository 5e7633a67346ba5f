package node_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// `ringex account` makes one reference per request and a retry sends the
// same, so a reference names one request venue-wide. The operator
// deposits 100 cash to BROKER01 with ref "ops-9", then, pasting the wrong
// line, deposits 100 cash to BROKER02 with the same ref. The second is
// refused as a reference reused for another request
// (operator_ref_conflict, a *node.RefConflictError) and changes nothing,
// as another amount on the same account is: the reference table is keyed
// by reference and account (risk/refs.go refKey, a firm's block carries
// one ref on each member's record), and a ref remembered for another
// account's request conflicts unless both are the blocks (or unblocks)
// of one firm block.
func TestOperatorRefReusedForAnotherAccount(t *testing.T) {
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
