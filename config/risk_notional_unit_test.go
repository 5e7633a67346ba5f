package config

import (
	"strings"
	"testing"
)

// TestNotionalLimitWithoutCashUnitIsRefused: docs/config.md says
// risk.limits.maxOrderNotional is "in cash units" and that balances and
// maxOrderNotional are whole numbers of risk.cashUnit, which is required
// with mode "spot" only. On a "limits" venue without cashUnit there is no
// cash unit: the node (riskConfig, node/risk.go) then counts one cash
// unit per tick × lot of each symbol (CashPerTickLot 1), so one number
// means different money for each symbol (0.01 for a 0.01-tick lot of 1,
// 100.00 for a 1.00-tick lot of 100). A config that sets a notional
// limit without saying its unit should be refused, naming
// risk.cashUnit; ringex accepts it.
func TestNotionalLimitWithoutCashUnitIsRefused(t *testing.T) {
	cfg := Default()
	cfg.Symbols = append(cfg.Symbols, Symbol{Name: "BRK", TickSize: "1.00", LotSize: 100})
	cfg.Risk = Risk{Mode: RiskModeLimits, Limits: RiskLimits{MaxOrderNotional: 1_000_000}}
	err := cfg.Check()
	if err == nil || !strings.Contains(err.Error(), "cashUnit") {
		t.Fatalf("risk.mode limits with maxOrderNotional and no risk.cashUnit: Check() = %v; want a refusal naming risk.cashUnit", err)
	}
}
