package node

import (
	"fmt"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

// Price bands (config symbols[].priceBand and refPrice) are the matcher's,
// and journaled: before FIX opens, the node journals a matcher.KindBand
// record for each symbol whose configured band or reference price differs
// from the one in force in its engines, as it journals the risk rules
// (riskRulesToJournal). EngineConfig gives every book no band, so a
// replay, a standby and `ringex replay` meet each order with the band
// that was in force when it was journaled, whatever their config says.

// configBands converts each symbol's priceBand and refPrice to ticks.
// Errors name the key and the decimal the operator wrote.
func configBands(cfg config.Config) ([]matcher.Band, error) {
	out := make([]matcher.Band, len(cfg.Symbols))
	for i, s := range cfg.Symbols {
		out[i].Symbol = uint32(i + 1)
		if s.PriceBand == "" && s.RefPrice == "" {
			continue
		}
		tick, err := gateway.ParseScale(s.TickSize)
		if err != nil {
			return nil, fmt.Errorf("config: symbols[%d] %s: tickSize: %w", i, s.Name, err)
		}
		for _, k := range []struct {
			key, text string
			to        *int64
		}{{"priceBand", s.PriceBand, &out[i].BandTicks}, {"refPrice", s.RefPrice, &out[i].RefPrice}} {
			if k.text == "" {
				continue
			}
			v, ok := tick.Units([]byte(k.text))
			if !ok || v <= 0 || v > matcher.MaxPriceTicks {
				return nil, fmt.Errorf("config: symbols[%d] %s: %s %q: not a positive price on the tick %s (at most %d ticks)",
					i, s.Name, k.key, k.text, s.TickSize, int64(matcher.MaxPriceTicks))
			}
			*k.to = v
		}
	}
	return out, nil
}

// bandsToJournal returns the band records that put the config's bands in
// force, one for each symbol whose band differs from its engine's: call
// it when nothing is in flight (before the ring starts).
func (n *Node) bandsToJournal() ([]matcher.Command, error) {
	want, err := configBands(n.cfg)
	if err != nil {
		return nil, err
	}
	engines := n.engines()
	var out []matcher.Command
	for _, b := range want {
		if have, ok := engines.Of(b.Symbol).Band(b.Symbol); ok && have == b {
			continue
		}
		c, err := b.Command()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// rulesToJournal is what the node journals before FIX opens so that every
// order is decided by the config's rules: the symbol scale records the
// journal lacks (symbolscale.go; a journal that says another refuses the
// start), the band records, the self-trade prevention records (stp.go),
// then the risk rules (riskRulesToJournal).
func (n *Node) rulesToJournal() ([]matcher.Command, error) {
	scales, err := n.symbolScalesToJournal()
	if err != nil {
		return nil, err
	}
	bands, err := n.bandsToJournal()
	if err != nil {
		return nil, err
	}
	stp, err := n.stpToJournal()
	if err != nil {
		return nil, err
	}
	rules, err := n.riskRulesToJournal()
	return append(append(append(scales, bands...), stp...), rules...), err
}
