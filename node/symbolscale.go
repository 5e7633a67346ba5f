package node

// The symbol scale records (matcher.KindSymbolScale): each symbol's name
// at its id (its place in config symbols[]) and its tick and lot sizes
// (symbols[].tickSize and lotSize). Every price in the journal is a number
// of ticks and every quantity a number of lots, so neither may change
// under a journal: read with another tick, a buy journaled at 100.00
// would bid 500.00; nor may the name at an id, or a symbol's orders would
// be another's. A record without a name (written before names were) is
// not checked for one. A start journals, before FIX
// opens, the record of each configured symbol the journal does not say
// yet; a start (symbolScalesToJournal reads the journal from its first
// record), a standby (verifySymbolScale, at each record its primary
// ships), `ringex replay` and `ringex verify` (SymbolScaleCheck) refuse a
// record that differs from their config, naming the symbol (or the id and
// both names), the key and both values. A journal whose segments holding a symbol's record were
// removed gets the config's again, as a journal written before the
// record existed does.

import (
	"errors"
	"fmt"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// config.MaxSymbolName, which the config checks, is the symbol scale
// record's room for a name: the build fails when the two differ.
var (
	_ [config.MaxSymbolName - matcher.MaxSymbolName]struct{}
	_ [matcher.MaxSymbolName - config.MaxSymbolName]struct{}
)

// symbolScales is the symbol scale record of each of cfg's symbols:
// symbol id i+1 is cfg.Symbols[i].
func symbolScales(cfg config.Config) []matcher.SymbolScale {
	out := make([]matcher.SymbolScale, len(cfg.Symbols))
	for i, s := range cfg.Symbols {
		out[i] = matcher.SymbolScale{Symbol: uint32(i + 1), Name: s.Name, Tick: canonicalUnit(s.TickSize), Lot: s.LotSize}
	}
	return out
}

// scaleChecker checks symbol scale records against a config's symbols.
type scaleChecker struct {
	want []matcher.SymbolScale // the config's, by symbol id - 1
}

func newScaleChecker(cfg config.Config) scaleChecker {
	return scaleChecker{want: symbolScales(cfg)}
}

// check says what is wrong with cmd, the journal record at seq, when it
// is a symbol scale record that differs from the config; nil for another
// record, one that agrees, or one of a symbol the config does not list
// (its orders are another matter). known, when not nil, is told the
// symbol of one that agreed.
func (c *scaleChecker) check(cmd *matcher.Command, seq int64, known func(symbol uint32)) error {
	s, ok := matcher.SymbolScaleOf(cmd)
	if !ok {
		return nil
	}
	if err := c.checkScale(s, fmt.Sprintf("journal record %d says", seq)); err != nil {
		return err
	}
	if known != nil && int(s.Symbol) <= len(c.want) {
		known(s.Symbol)
	}
	return nil
}

// checkScale says what is wrong with s, which where says (e.g. "journal
// record 7 says"), when it differs from the config; nil when it agrees or
// the config does not list its symbol. A name s lacks (a record written
// before names were) is not checked.
func (c *scaleChecker) checkScale(s matcher.SymbolScale, where string) error {
	if int(s.Symbol) > len(c.want) {
		return nil
	}
	want, i := c.want[s.Symbol-1], s.Symbol-1
	name := want.Name
	if s.Name != "" && s.Name != want.Name {
		return fmt.Errorf("symbol id %d is %s in the config (symbols[%d]), but %s the journal was written with symbol id %d %s: "+
			"a symbol's id is its place in symbols[], and every journaled order of %s would now be %s's; "+
			"keep each symbol at its place in symbols[] (put %s back at symbols[%d]) and list a new symbol at the end",
			s.Symbol, want.Name, i, where, s.Symbol, s.Name, s.Name, want.Name, s.Name, i)
	}
	if s.Tick != want.Tick {
		return fmt.Errorf("symbol %s (id %d): tickSize is %q in the config, but %s the journal was written with tickSize %q: "+
			"every price of %s in it is a whole number of ticks, and another tick would rescale them; "+
			"set symbols[%d].tickSize back to %q (the same decimal), or list a symbol with the new tick at the end of symbols[] or on a new, empty dataDir",
			name, s.Symbol, want.Tick, where, s.Tick, name, i, s.Tick)
	}
	if s.Lot != want.Lot {
		return fmt.Errorf("symbol %s (id %d): lotSize is %d in the config, but %s the journal was written with lotSize %d: "+
			"every quantity of %s in it is a whole number of lots, and another lot would rescale them; "+
			"set symbols[%d].lotSize back to %d, or list a symbol with the new lot at the end of symbols[] or on a new, empty dataDir",
			name, s.Symbol, want.Lot, where, s.Lot, name, i, s.Lot)
	}
	return nil
}

// checkEngines checks the symbol scale in force in engines (restored
// from a snapshot, or applied since) of each of the config's symbols
// whose known is false (known nil: every one), and sets known of those
// that have one.
func (c *scaleChecker) checkEngines(engines matcher.Partitions, known []bool) error {
	for i, s := range c.want {
		if known != nil && known[i] {
			continue
		}
		have, ok := engines.Of(s.Symbol).Scale(s.Symbol)
		if !ok {
			continue
		}
		if err := c.checkScale(have, "the snapshot says"); err != nil {
			return err
		}
		if known != nil {
			known[i] = true
		}
	}
	return nil
}

// SnapshotScaleCheck is the check a replay with cfg's symbols makes of
// the engines it restored from a snapshot (the symbol scales the snapshot
// holds, matcher Engine.Scale), as a start from that snapshot does:
// `ringex replay` and `ringex verify` from a snapshot make it.
func SnapshotScaleCheck(cfg config.Config) func(matcher.Partitions) error {
	c := newScaleChecker(cfg)
	return func(engines matcher.Partitions) error { return c.checkEngines(engines, nil) }
}

// SymbolScaleCheck is the check a replay with cfg's symbols makes at each
// journal record: nil, or why the replay cannot go on (a symbol scale
// record that differs from cfg). `ringex replay` and `ringex verify` make
// it as the node does.
func SymbolScaleCheck(cfg config.Config) func(cmd *matcher.Command) error {
	c := newScaleChecker(cfg)
	return func(cmd *matcher.Command) error { return c.check(cmd, cmd.Seq, nil) }
}

// symbolScalesToJournal checks the journal's symbol scale records against
// the config, reading from its first record until every configured
// symbol's is found (near the beginning, for a journal started by this
// version), then those the engines hold of the symbols the journal does
// not say (restored from the snapshot: matcher Engine.Scale), and returns
// the records of the symbols neither says yet, to journal before FIX
// opens. Cold path: at start, before the ring runs (the engines restored
// and replayed).
func (n *Node) symbolScalesToJournal() ([]matcher.Command, error) {
	c := newScaleChecker(n.cfg)
	known := make([]bool, len(c.want))
	left := len(known)
	first, err := journal.FirstSeq(n.journalDir())
	if err != nil {
		return nil, err
	}
	if first > 0 {
		var cmd matcher.Command
		err = journal.Read(n.journalDir(), first, func(seq int64, rec []byte) error {
			if err := cmd.DecodeAt(rec, seq); err != nil || cmd.Kind != matcher.KindSymbolScale {
				return err
			}
			err := c.check(&cmd, seq, func(sym uint32) {
				if !known[sym-1] {
					known[sym-1] = true
					left--
				}
			})
			if err == nil && left == 0 {
				return errStopReading
			}
			return err
		})
		if err != nil && !errors.Is(err, errStopReading) {
			return nil, err
		}
	}
	// A journal caught up from a snapshot (a standby's) begins after
	// the records: the engines restored them from the snapshot.
	if err := c.checkEngines(n.engines(), known); err != nil {
		return nil, err
	}
	var out []matcher.Command
	for i, s := range c.want {
		if known[i] {
			continue
		}
		cmd, err := s.Command()
		if err != nil {
			return nil, fmt.Errorf("config: symbols[%d] %s: %w", i, s.Name, err)
		}
		out = append(out, cmd)
	}
	return out, nil
}

// verifySymbolScale runs on the publish stage at a KindSymbolScale slot:
// a standby whose config disagrees with its primary's journal stops
// (what the primary journals agrees with its own config).
func (n *Node) verifySymbolScale(cmd *matcher.Command) {
	c := newScaleChecker(n.cfg)
	if err := c.check(cmd, cmd.Seq, nil); err != nil {
		n.fail(err)
	}
}
