package node

// The risk venue record (matcher.KindRiskVenue): the risk mode and cash
// unit the journal is written with (docs/design.md, "Risk"). Every
// decision of the risk stage depends on the mode, and every balance, hold
// and maxOrderNotional in the journal (deposit records, limits records,
// the risk snapshot) is a whole number of the cash unit, so neither may
// change under a journal: a start journals the config's before FIX opens
// when the journal does not say them yet, and a replay (start, rebuild,
// `ringex replay`) or a standby that meets one saying otherwise refuses to
// go on, naming the config key, the journal's value and what to do.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/risk"
)

// venueOf is the risk venue record of cfg's risk config (a venue with
// mode none journals none: see venueGuard).
func venueOf(cfg config.Config) matcher.RiskVenue {
	if cfg.Risk.Mode == config.RiskModeNone {
		return matcher.RiskVenue{}
	}
	return matcher.RiskVenue{Mode: uint8(cfg.Risk.Mode), CashUnit: canonicalUnit(cfg.Risk.CashUnit)}
}

// venueOfState is the risk venue record of a replay with the risk state
// rs (nil: mode none), as venueOf wrote it into rs's config (RiskConfig).
func venueOfState(rs *risk.State) matcher.RiskVenue {
	if rs == nil {
		return matcher.RiskVenue{}
	}
	return matcher.RiskVenue{Mode: uint8(rs.Mode()), CashUnit: rs.CashUnit()}
}

// canonicalUnit is a decimal with no leading zeros before its integer
// digits and no trailing zeros after its point ("0.010" and "00.01" are
// "0.01"), so that one amount is one string in the journal.
func canonicalUnit(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	s = strings.TrimLeft(s, "0")
	if s == "" || s[0] == '.' {
		s = "0" + s
	}
	if s == "0" {
		return "" // no unit (config.Check refuses a zero one)
	}
	return s
}

// checkVenue says what is wrong with a journal that where ("journal
// record 12", "the snapshot of record 40") says was written with
// journaled, for a node or replay whose config says want; nil when they
// agree (the cash unit of mode none is nobody's).
func checkVenue(where string, journaled, want matcher.RiskVenue) error {
	if journaled.Mode != want.Mode {
		was, is := config.RiskMode(journaled.Mode), config.RiskMode(want.Mode)
		return fmt.Errorf("risk.mode is %q in the config, but %s says the journal was written with risk.mode %q: "+
			"a replay with another mode decides its orders differently (it refuses orders that were accepted, or accepts refused ones); "+
			"set risk.mode back to %q, or run the venue with mode %q on a new, empty dataDir", is, where, was, was, is)
	}
	if journaled.CashUnit != want.CashUnit {
		return fmt.Errorf("risk.cashUnit is %q in the config, but %s says the journal was written with risk.cashUnit %q: "+
			"every balance, hold and maxOrderNotional in it is a whole number of that unit, and another would rescale them; "+
			"set risk.cashUnit back to %q (the same decimal), or run the venue with %q on a new, empty dataDir",
			want.CashUnit, where, journaled.CashUnit, journaled.CashUnit, want.CashUnit)
	}
	return nil
}

// journalRecord is checkVenue's where for the journal's record seq.
func journalRecord(seq int64) string { return fmt.Sprintf("journal record %d", seq) }

// checkSnapshotVenue is checkVenue for parts, the frames of the snapshot
// of record seq, for a node or replay with the risk state rs (nil: mode
// none): a node with a risk stage frames its risk state after its
// partitions' (collectCheckpoint), so a last frame that is an engine's
// says mode none, and a risk state's frame says its mode. Only the mode
// is checked here: where both have a risk stage, rs.Restore checks the
// cash unit, and a last frame that is neither is left to the restore to
// refuse. This is what stops, naming risk.mode, a standby caught up from
// its primary's snapshot (which no risk venue record follows) whose
// config has risk and the primary's none, or the other way round.
func checkSnapshotVenue(seq int64, parts [][]byte, rs *risk.State) error {
	want := venueOfState(rs)
	var taken matcher.RiskVenue
	if last := parts[len(parts)-1]; !matcher.IsEngineSnapshot(last) {
		mode, ok := risk.SnapshotMode(last)
		if !ok {
			return nil
		}
		taken.Mode = uint8(mode)
	}
	if taken.Mode == want.Mode {
		return nil
	}
	return checkVenue(fmt.Sprintf("the snapshot of record %d", seq), taken, want)
}

// venueGuard is the replay's check of the journal's risk mode and cash
// unit, record by record: a risk venue record that disagrees with rs (nil:
// mode none) stops it (checkVenue). A venue with mode none journals no
// such record, so that its journal is as it always was; so a replay with
// a risk stage from the journal's first record that meets an order before
// any record only a risk stage writes (riskStageOnly: a venue record, a
// deposit or withdrawal, a block, a rule) stops there too: the journal was written
// with mode none, and replayed through a risk stage its accepted orders
// could be refused. (A journal of a version before the venue record,
// written with a risk mode, whose first order came before any of those,
// is refused the same way: the journal cannot tell it from mode none.)
type venueGuard struct {
	rs    *risk.State
	from  int64 // the replay's first sequence: the journal's beginning when 1
	risky bool  // a record only a risk stage writes was met
	seen  func()
}

// check is the guard at cmd, the record at seq, before it is applied.
func (g *venueGuard) check(cmd *matcher.Command, seq int64) error {
	switch {
	case riskStageOnly(cmd.Kind):
		g.risky = true
		return checkVenueRecord(cmd, seq, g.rs, g.seen)
	case (cmd.Kind == matcher.KindNew || cmd.Kind == matcher.KindReplace) && g.rs != nil && g.from == 1 && !g.risky:
		return fmt.Errorf("risk.mode is %q in the config, but journal record %d is an order and no record before it was written by a risk stage "+
			"(a risk venue record, funds, a block, a rule): the journal was written with risk.mode \"none\", and a replay through a risk stage "+
			"would refuse orders that were accepted; set risk.mode back to \"none\", or run the venue with mode %q on a new, empty dataDir",
			config.RiskMode(g.rs.Mode()), seq, config.RiskMode(g.rs.Mode()))
	}
	return nil
}

// riskStageOnly reports whether only a venue with a risk stage journals
// records of kind k: the operator's funds, blocks and firm blocks, the
// risk rules and the risk venue record. Named one by one: a kind that any
// venue journals (an order's, a binding, a checkpoint) is none of them,
// whatever its number.
func riskStageOnly(k matcher.Kind) bool {
	switch k {
	case matcher.KindDeposit, matcher.KindWithdraw, matcher.KindBlock, matcher.KindUnblock,
		matcher.KindRiskLimits, matcher.KindRiskSymbol, matcher.KindRiskFee,
		matcher.KindBlockFirm, matcher.KindUnblockFirm, matcher.KindRiskVenue:
		return true
	}
	return false
}

// checkVenueRecord is checkVenue for cmd, a journal record at seq, when
// it is a risk venue record; rs is the replay's risk state (nil: none).
// seen, when not nil, is told that one agreed.
func checkVenueRecord(cmd *matcher.Command, seq int64, rs *risk.State, seen func()) error {
	v, ok := matcher.RiskVenueOf(cmd)
	if !ok {
		return nil
	}
	if err := checkVenue(journalRecord(seq), v, venueOfState(rs)); err != nil {
		return err
	}
	if seen != nil {
		seen()
	}
	return nil
}

// RiskModeMismatch explains a checkpoint hash that a replay with the risk
// state rs (nil: mode none) did not reproduce, when the journal in dir
// says it was written with another risk mode: a checkpoint can come
// before the first record venueGuard judges (a start's checkpoint right
// after its account bindings), and a state hash computed with a risk
// stage never matches one taken without (or the other way round). It
// reads the journal from its first record to the first that tells the
// mode (a risk venue record, another record only a risk stage writes,
// or, with a risk stage and a journal from seq 1, an order before
// either) and returns venueGuard's error naming risk.mode, or nil when
// the journal agrees with rs or does not tell. Cold path: a failed
// start's or verify's explanation, so it may read the whole journal.
func RiskModeMismatch(dir string, rs *risk.State) error {
	first, err := journal.FirstSeq(dir)
	if err != nil || first == 0 {
		return nil
	}
	g := venueGuard{rs: rs, from: first}
	var cmd matcher.Command
	var found error
	err = journal.Read(dir, first, func(seq int64, rec []byte) error {
		if err := cmd.DecodeAt(rec, seq); err != nil {
			return err
		}
		if found = g.check(&cmd, seq); found != nil {
			return errStopReading
		}
		switch {
		case riskStageOnly(cmd.Kind):
			if _, venue := matcher.RiskVenueOf(&cmd); rs == nil && !venue {
				found = fmt.Errorf("risk.mode is \"none\" in the config, but journal record %d (%s) was written by a risk stage: "+
					"the journal was written with a risk mode, and a replay without a risk stage decides its orders differently; "+
					"set risk.mode back to the journal's, or run the venue with mode \"none\" on a new, empty dataDir", seq, cmd.Kind)
			}
			return errStopReading
		case rs != nil && (cmd.Kind == matcher.KindNew || cmd.Kind == matcher.KindReplace):
			return errStopReading // a journal that starts past seq 1: its orders do not tell
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopReading) {
		return nil
	}
	return found
}

// RiskVenueCheck is the check a replay from sequence from with the risk
// state rs (nil: mode none) makes at each journal record before it applies
// it (venueGuard): nil, or why the replay cannot go on. `ringex replay`
// and `ringex verify` make it as the node does.
func RiskVenueCheck(rs *risk.State, from int64) func(cmd *matcher.Command) error {
	g := &venueGuard{rs: rs, from: from}
	return func(cmd *matcher.Command) error { return g.check(cmd, cmd.Seq) }
}

// verifyRiskVenue runs on the publish stage at a KindRiskVenue slot: the
// record agrees with the config (a primary's own; a standby's follow
// stopped at one that does not, followGuard), so the journal says it.
func (n *Node) verifyRiskVenue(cmd *matcher.Command) {
	if err := checkVenueRecord(cmd, cmd.Seq, n.riskState(), func() { n.venueSeen.Store(true) }); err != nil {
		n.fail(err)
	}
}

// riskVenueToJournal is the risk venue record to journal before FIX
// opens, or none when the journal already says the config's. The replay
// saw those after the snapshot it started from; for one before it, the
// journal is read from its first record to the first venue record (one
// near the beginning for a journal started by this version), which is
// checked as a replay checks it. A journal that has none (written before
// the record existed, or whose segments holding it were removed) gets
// the config's.
func (n *Node) riskVenueToJournal() ([]matcher.Command, error) {
	if n.risk == nil {
		return nil, nil // mode none journals none (venueGuard)
	}
	if !n.venueSeen.Load() {
		want := venueOfState(n.riskState())
		var cmd matcher.Command
		first, err := journal.FirstSeq(n.journalDir())
		if err != nil {
			return nil, err
		}
		err = journal.Read(n.journalDir(), first, func(seq int64, rec []byte) error {
			if err := cmd.DecodeAt(rec, seq); err != nil || cmd.Kind != matcher.KindRiskVenue {
				return err
			}
			if v, ok := matcher.RiskVenueOf(&cmd); ok {
				if err := checkVenue(journalRecord(seq), v, want); err != nil {
					return err
				}
				n.venueSeen.Store(true)
				return errStopReading
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopReading) {
			return nil, err
		}
	}
	if n.venueSeen.Load() {
		return nil, nil
	}
	cmd, err := venueOf(n.cfg).Command()
	if err != nil {
		return nil, err
	}
	return []matcher.Command{cmd}, nil
}

// checkpointHashMatches says whether h, a checkpoint hash record's, is the
// state hash of partitions and rs: as stateHash computes it, or, in
// legacy, as a checkpoint before risk snapshot version 3 did
// (LegacyStateHashes; replay computes them all at each checkpoint).
func checkpointHashMatches(h, hash uint64, legacy [2]uint64) bool {
	return h == hash || h == legacy[0] || h == legacy[1]
}

// LegacyStateHashes are stateHash with the risk state hashed as version 1
// snapshots did (the table's size and every cell): with the table of the
// version 1 snapshot restored, else the config's (risk.LegacyCombineHash);
// and with the table the bindings say the venue had (riskAccounts of the
// named accounts bound so far: a start binds every named account of its
// config before FIX opens, so a checkpoint after it had that table), which
// verifies a checkpoint taken before a named account was added. Without
// risk, partitions alone. A start and `ringex verify` use them.
func LegacyStateHashes(partitions uint64, engines matcher.Partitions, rs *risk.State) [2]uint64 {
	if rs == nil {
		return [2]uint64{partitions, partitions}
	}
	named := 0
	for _, b := range engines.Bindings() {
		if b.Account >= matcher.FirstNamedAccount {
			named++
		}
	}
	return [2]uint64{risk.LegacyCombineHash(partitions, rs),
		matcher.CombineHashes([]uint64{partitions, rs.LegacyHashAt(matcher.FirstNamedAccount - 1 + named)})}
}
