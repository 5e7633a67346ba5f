package node

import (
	"fmt"

	"github.com/ringex/ringex/config"
)

// The venue's fee account is risk account 0: the fees of risk.feeBps
// collect there (package risk). The operator names it config.FeeAccount
// to the account commands: show sees its cash, withdraw takes cash out of
// it; it takes no deposit, holds no inventory and cannot be blocked.

// balanceAccountOf is accountOf for show, deposit and withdraw, which also
// take the fee account (account 0).
func (n *Node) balanceAccountOf(name string) (uint32, error) {
	if name == config.FeeAccount {
		return 0, nil
	}
	return n.accountOf(name)
}

// feeAccountFunds refuses a deposit to the fee account, or a move of
// anything but cash (asset "" or "cash").
func feeAccountFunds(withdraw bool, asset string) error {
	if withdraw && (asset == "" || asset == "cash") {
		return nil
	}
	return fmt.Errorf("%s, the venue's fee account, holds the fees collected, in cash: it takes cash withdrawals only", config.FeeAccount)
}
