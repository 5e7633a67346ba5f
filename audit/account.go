package audit

import (
	"fmt"
	"io"
	"strings"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/risk"
)

// AccountOptions ask for one account's balances at a moment.
type AccountOptions struct {
	Moment
	Account uint32
}

// Account is one account's balances and holds at a moment, as the risk
// stage had them (a venue with risk.mode limits or spot).
type Account struct {
	risk.Balance
	Seq    int64 // the state after this record
	TimeNs int64 // its ingress time
}

// AccountAt rebuilds an account's balances at a moment by replaying the
// journal through the risk stage, the engines and the settle step.
func AccountAt(o AccountOptions) (Account, error) {
	if o.Venue.risk == nil {
		return Account{}, fmt.Errorf("the venue has no risk stage (risk.mode \"none\"): no balances to show; give the --config the node ran with")
	}
	e, seq, timeNs, err := stateAt(o.Moment, "account")
	if err != nil {
		return Account{}, err
	}
	b, ok := e.rs.Balance(o.Account)
	if !ok {
		return Account{}, fmt.Errorf("account %d is not one of the config's %d sessions", o.Account, o.Venue.risk.Accounts)
	}
	return Account{Balance: b, Seq: seq, TimeNs: timeNs}, nil
}

// WriteText writes the balances on one line: cash in the venue's cash
// unit, inventories in lots as decimals of the symbol's lot.
func (a *Account) WriteText(w io.Writer, v *Venue) error {
	when := "before any record"
	if a.Seq > 0 {
		when = fmt.Sprintf("after seq %d (%s)", a.Seq, fmtTime(a.TimeNs))
	}
	var sb strings.Builder
	name := v.BrokerName(a.Account)
	if a.Account == 0 {
		name = config.FeeAccount
	}
	fmt.Fprintf(&sb, "account %d %s %s: blocked %v%s, open orders %d", a.Account, name, when, a.Blocked, a.BlocksHeld(""), a.OpenOrders)
	if v.risk.Mode == risk.ModeSpot {
		fmt.Fprintf(&sb, ", cash %s held %s", v.cash.Format(a.Cash), v.cash.Format(a.CashHeld))
		for i := range a.Inv {
			if a.Inv[i] != 0 || a.InvHeld[i] != 0 {
				_, lot := v.scales(uint32(i + 1))
				fmt.Fprintf(&sb, ", %s %s held %s", v.SymbolName(uint32(i+1)), lot.Format(a.Inv[i]), lot.Format(a.InvHeld[i]))
			}
		}
	}
	sb.WriteByte('\n')
	_, err := io.WriteString(w, sb.String())
	return err
}

func cmdAccount(args []string, stdout, stderr io.Writer) int {
	c := newCommon("account", stderr)
	broker := c.fs.String("broker", "", "")
	at := c.fs.String("at", "", "")
	if code, ok := c.parse(args, stdout, true); !ok {
		return code
	}
	if *broker == "" {
		return c.usage("--broker is required")
	}
	var id uint32 // the venue's fee account (config.FeeAccount) is account 0
	if *broker != config.FeeAccount {
		var err error
		if id, err = c.venue.BrokerID(*broker); err != nil {
			return c.usage("--broker: %v", err)
		}
	}
	m, err := c.moment(*at, stdout, stderr)
	if err != nil {
		return c.usage("%v", err)
	}
	a, err := AccountAt(AccountOptions{Moment: m, Account: id})
	if err != nil {
		return c.fail(err)
	}
	return c.done(a.WriteText(stdout, c.venue))
}
