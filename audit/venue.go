package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/risk"
)

// Venue is what replay needs from a configuration: names and decimal scales
// for the integer ids in the journal, and the engines' shape.
type Venue struct {
	Symbols    []Symbol // symbol id i+1 is Symbols[i]
	Brokers    []string // the config's sessions' TargetCompIDs: account i+1 is Brokers[i] only in a journal that binds no account (bound)
	Partitions int      // match partitions of the node that wrote the journal
	engine     matcher.Config
	risk       *risk.Config                 // nil: the venue has no risk stage
	cash       gateway.Scale                // risk.cashUnit (spot)
	bound      map[uint32]string            // the journal's account bindings (accounts.go)
	scaleCheck func(*matcher.Command) error // node.SymbolScaleCheck of the config
	// snapScaleCheck is node.SnapshotScaleCheck of the config.
	snapScaleCheck func(matcher.Partitions) error
}

// Symbol is one listed instrument with its scales.
type Symbol struct {
	Name string
	Tick gateway.Scale
	Lot  gateway.Scale
}

// VenueOf reads the venue out of a checked configuration.
func VenueOf(cfg config.Config) (*Venue, error) {
	v := &Venue{Partitions: cfg.Match.Partitions, engine: node.EngineConfig(cfg), scaleCheck: node.SymbolScaleCheck(cfg),
		snapScaleCheck: node.SnapshotScaleCheck(cfg)}
	if rc, ok, err := node.RiskConfig(cfg); err != nil {
		return nil, err
	} else if ok {
		v.risk = &rc
		v.cash = gateway.ScaleOf(1)
		if cfg.Risk.CashUnit != "" {
			if v.cash, err = gateway.ParseScale(cfg.Risk.CashUnit); err != nil {
				return nil, fmt.Errorf("config: risk.cashUnit: %w", err)
			}
		}
	}
	for _, s := range cfg.Symbols {
		tick, err := gateway.ParseScale(s.TickSize)
		if err != nil {
			return nil, fmt.Errorf("config: symbol %s: tickSize: %w", s.Name, err)
		}
		v.Symbols = append(v.Symbols, Symbol{Name: s.Name, Tick: tick, Lot: gateway.ScaleOf(s.LotSize)})
	}
	for _, s := range cfg.FIX.Sessions {
		v.Brokers = append(v.Brokers, s.TargetCompID)
	}
	if v.Partitions < 1 {
		v.Partitions = 1
	}
	return v, nil
}

// EngineConfig is the matcher configuration the node builds its engines
// with (node.EngineConfig), so hashes and outcomes match the live exchange's.
func (v *Venue) EngineConfig() matcher.Config { return v.engine }

// spec is what replay builds a venue's state from: its engines and, with
// risk, its risk state.
func (v *Venue) spec() engineSpec {
	return engineSpec{match: v.engine, risk: v.risk, scales: v.scaleCheck, snapScales: v.snapScaleCheck}
}

// SymbolName names symbol id; an id the config does not list prints as "#id".
func (v *Venue) SymbolName(id uint32) string {
	if id == 0 {
		return ""
	}
	if int(id) <= len(v.Symbols) {
		return v.Symbols[id-1].Name
	}
	return "#" + strconv.FormatUint(uint64(id), 10)
}

// BrokerName names account id: by the journal's binding, else, in a
// journal that binds no account (written before bindings), by the
// config's session list; an account neither names prints as "#id".
func (v *Venue) BrokerName(id uint32) string {
	if name, ok := v.bound[id]; ok {
		return name
	}
	if len(v.bound) == 0 && id >= 1 && int(id) <= len(v.Brokers) {
		return v.Brokers[id-1]
	}
	return "#" + strconv.FormatUint(uint64(id), 10)
}

var unitScale = gateway.ScaleOf(1)

func (v *Venue) scales(id uint32) (tick, lot gateway.Scale) {
	if id >= 1 && int(id) <= len(v.Symbols) {
		s := &v.Symbols[id-1]
		return s.Tick, s.Lot
	}
	return unitScale, unitScale
}

// SymbolID resolves a symbol name (or "#id", or a bare id) to its id.
func (v *Venue) SymbolID(name string) (uint32, error) {
	for i, s := range v.Symbols {
		if s.Name == name {
			return uint32(i + 1), nil
		}
	}
	if id, err := strconv.ParseUint(strings.TrimPrefix(name, "#"), 10, 32); err == nil && id > 0 {
		return uint32(id), nil
	}
	return 0, fmt.Errorf("unknown symbol %q (the config lists %s)", name, v.symbolList())
}

// BrokerID resolves a broker's TargetCompID (or "#id", or a bare account
// id) by the journal's bindings, wherever the config lists it. Only a
// journal that binds no account (written before bindings) takes the
// config's session list, by position.
func (v *Venue) BrokerID(name string) (uint32, error) {
	for id, b := range v.bound {
		if b == name {
			return id, nil
		}
	}
	if i := slices.Index(v.Brokers, name); i >= 0 {
		if len(v.bound) == 0 {
			return uint32(i + 1), nil
		}
		return 0, fmt.Errorf("broker %q: the config lists it, but the journal binds no account to it (no node of this venue has started with it in its config yet)", name)
	}
	if id, err := strconv.ParseUint(strings.TrimPrefix(name, "#"), 10, 32); err == nil && id > 0 {
		return uint32(id), nil
	}
	bound := make([]string, 0, len(v.bound))
	for _, b := range v.bound {
		bound = append(bound, b)
	}
	slices.Sort(bound)
	return 0, fmt.Errorf("unknown broker %q (the journal binds %s; the config lists %s)", name, strings.Join(bound, ", "), strings.Join(v.Brokers, ", "))
}

func (v *Venue) symbolList() string {
	names := make([]string, len(v.Symbols))
	for i, s := range v.Symbols {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}
