package node

// Pre-trade risk in the pipeline (docs/design.md, "Risk"). With risk.mode
// other than "none" the ring has one more stage, before the journal and
// the match partitions: riskHandler runs risk.State.Check on every slot in
// sequence order and leaves its Hold in the slot; a refused order gets its
// Rejected event in the slot and no match partition applies it; a refused
// replace is answered by its order's match partition, which reports the
// order as it stands and changes nothing (matcher RefuseReplace). The
// publish stage settles each slot after publishing its events (settleSlot)
// and then says how far it has settled (riskSettled), which is what a
// refusal that depends on balances waits for. Replay on start runs the
// same Check, matching and settling one command at a time (risk.Step).
// The state goes into every checkpoint as one more frame after the
// partitions', and its hash into the checkpoint's combined hash.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/risk"
)

// RiskConfig is the risk.Config the node and replay build their risk
// state with: cfg's mode, accounts and symbols, and no rules (limits,
// protection prices, fee), which the journal's rule records put in force
// in their place; ok is false for mode "none".
func RiskConfig(cfg config.Config) (rc risk.Config, ok bool, err error) {
	if rc, ok, err = riskConfig(cfg, nil); err != nil || !ok {
		return rc, ok, err
	}
	rc.Default, rc.Account, rc.FeeBps = risk.Limits{}, nil, 0
	for i := range rc.Symbols {
		rc.Symbols[i].ProtectionPrice = 0
	}
	return rc, true, nil
}

// riskConfig is the risk.Config of cfg with the rules cfg wants in force;
// ids are the bound names' account ids (Node.accountIDs), for the limits
// of the accounts risk.accounts names.
func riskConfig(cfg config.Config, ids map[string]uint32) (rc risk.Config, ok bool, err error) {
	r := cfg.Risk
	if r.Mode == config.RiskModeNone {
		return rc, false, nil
	}
	rc = risk.Config{Mode: risk.ModeLimits, Accounts: riskAccounts(cfg), Default: limitsOf(r.Limits), Account: map[uint32]risk.Limits{}, FeeBps: r.FeeBps,
		CashUnit: venueOf(cfg).CashUnit}
	if r.Mode == config.RiskModeSpot {
		rc.Mode = risk.ModeSpot
	}
	var cash gateway.Scale
	if r.CashUnit != "" {
		if cash, err = gateway.ParseScale(r.CashUnit); err != nil {
			return rc, false, fmt.Errorf("config: risk.cashUnit: %w", err)
		}
	}
	protect := map[string]string{}
	for _, p := range r.Protection {
		protect[p.Symbol] = p.Price
	}
	for i, s := range cfg.Symbols {
		tick, err := gateway.ParseScale(s.TickSize)
		if err != nil {
			return rc, false, fmt.Errorf("config: symbols[%d] %s: tickSize: %w", i, s.Name, err)
		}
		sym := risk.Symbol{CashPerTickLot: 1}
		if r.CashUnit != "" {
			unit, ok := cash.Units([]byte(tick.Format(s.LotSize)))
			if !ok || unit < 1 || unit > risk.MaxCashPerTickLot {
				return rc, false, fmt.Errorf("config: symbols[%d] %s: tickSize × lotSize %s is not a whole number of risk.cashUnit %s (up to %d of them)",
					i, s.Name, tick.Format(s.LotSize), r.CashUnit, risk.MaxCashPerTickLot)
			}
			sym.CashPerTickLot = unit
		}
		if p, ok := protect[s.Name]; ok {
			px, ok := tick.Units([]byte(p))
			if !ok || px <= 0 || px > matcher.MaxPriceTicks {
				return rc, false, fmt.Errorf("config: risk.protection: %s price %q is not a positive price on the tick %s", s.Name, p, s.TickSize)
			}
			sym.ProtectionPrice = px
		}
		rc.Symbols = append(rc.Symbols, sym)
	}
	for _, a := range r.Accounts {
		if id := ids[a.CompID]; id != 0 {
			rc.Account[id] = limitsOf(a.Limits())
		}
	}
	return rc, true, rc.Validate()
}

func limitsOf(l config.RiskLimits) risk.Limits {
	return risk.Limits{MaxOrderQty: l.MaxOrderQty, MaxOrderNotional: l.MaxOrderNotional, MaxOpenOrders: l.MaxOpenOrders}
}

// newRisk builds the node's risk state, or nil for mode "none": with no
// rules until the journal's rule records.
func newRisk(cfg config.Config) (*risk.State, error) {
	rc, ok, err := RiskConfig(cfg)
	if err != nil || !ok {
		return nil, err
	}
	return risk.New(rc)
}

// riskRulesToJournal are the rule records that put the config's rules in
// force where the journal's differ, after the risk venue record where the
// journal has none (riskvenue.go). Call it while nothing is in flight:
// before the ring starts, or on a drained pipeline (a promotion).
func (n *Node) riskRulesToJournal() ([]matcher.Command, error) {
	venue, err := n.riskVenueToJournal() // riskvenue.go: before the rules
	if err != nil || n.risk == nil {
		return venue, err
	}
	ids := n.boundIDs()
	if ids == nil {
		ids = AccountIDs(nil)
		for i, id := range n.sessionIDs() {
			ids[n.cfg.FIX.Sessions[i].TargetCompID] = id
		}
	}
	want, _, err := riskConfig(n.cfg, ids)
	if err != nil {
		return nil, err
	}
	rules := append(venue, n.risk.state.RulesToJournal(want)...)
	// Only the configured sessions' ids (riskAccounts keeps every one
	// there can be) and the firms' named accounts get limits records: the
	// others belong to no one yet, or to a session removed from the
	// config, whose limits stay as they were.
	configured := make(map[uint32]bool, len(n.cfg.FIX.Sessions))
	for _, id := range n.sessionIDs() {
		configured[id] = true
	}
	return slices.DeleteFunc(rules, func(c matcher.Command) bool {
		l, ok := matcher.RiskLimitsOf(&c)
		return ok && !configured[l.Account] && l.Account < matcher.FirstNamedAccount
	}), nil
}

// journalRiskRules journals the rule records todo through the ring, before
// FIX opens: every order is decided after the rules it is decided by.
func (n *Node) journalRiskRules(todo []matcher.Command) error {
	for i := range todo {
		if _, err := n.submitSeq(&todo[i]); err != nil {
			return fmt.Errorf("journal the risk rules: %w", err)
		}
	}
	if len(todo) > 0 {
		n.log.Info("risk rules of the config journaled (its risk mode and cash unit where the journal has none; limits, protection prices, fee that differ from those in force)", "records", len(todo))
	}
	return nil
}

// riskStage is what the node keeps for its risk stage.
type riskStage struct {
	state   *risk.State
	settled atomic.Int64 // ring sequence the publish stage has settled up to
	waits   atomic.Int64 // refusals that waited for the settle step (risk stage only writes)

	mu      sync.Mutex // guards waiting: the operator's funds records (cold path)
	waiting map[matcher.ClOrdID]chan matcher.Reason
	refs    atomic.Int64
}

// riskHandler is the risk stage's one handler. Hot path: no allocation,
// no lock; a refusal that depends on balances waits (spinning, then
// yielding) for the publish stage to settle the slot before it.
type riskHandler struct{ n *Node }

// Handle is never called: the ring calls HandleUpTo.
func (h riskHandler) Handle(lo, hi int64) { h.HandleUpTo(lo, hi) }

func (h riskHandler) HandleUpTo(lo, hi int64) int64 {
	n, r := h.n, h.n.risk
	for seq := lo; seq <= hi; seq++ {
		s := n.ring.Slot(seq)
		hold := r.state.Check(&s.cmd)
		if risk.Reducible(&s.cmd, hold.Reason) {
			// Judged again on the difference, on the exact state: the
			// settle step and the engines idle at seq-1 (CheckExact).
			if r.settled.Load() < seq-1 {
				if done, ok := n.riskWait(seq, lo, hi); !ok {
					return done
				}
			}
			id, cum := n.partitions[matcher.PartitionOf(s.cmd.Symbol, len(n.partitions))].engine.Target(&s.cmd)
			hold = r.state.CheckExact(&s.cmd, id, cum)
		} else if risk.ViewDependent(hold.Reason) {
			// Refused on its view of the balances, which the settle step
			// may not have brought up to seq-1 yet: decide again, with
			// what vouches for the view read before the Check it vouches
			// for (the settle step may catch up while Check runs, after
			// it read its view). A refused Check reserved nothing, so it
			// may run again. Only here, not on every slot: Exact reads
			// counters that the settle step writes on the publish stage's
			// goroutine, a cache line from the other core each.
			settled := r.settled.Load() >= seq-1
			exact := settled || r.state.Exact(s.cmd.OwnerID())
			hold = r.state.Check(&s.cmd)
			if risk.ViewDependent(hold.Reason) && !exact && !r.state.Final(&s.cmd, hold.Reason) {
				if done, ok := n.riskWait(seq, lo, hi); !ok {
					return done
				}
				hold = r.state.Check(&s.cmd)
			}
		}
		s.hold = hold
		if hold.Reason == matcher.ReasonNone {
			continue
		}
		if ev, ok := risk.RefusalEvent(&s.cmd, hold); ok {
			s.events[0], s.nEvents = ev, 1
		}
	}
	return hi
}

// riskWait is the risk stage at slot seq of its batch lo..hi, which
// must wait for the settle step to reach seq-1: ok when it has, else
// what HandleUpTo returns: seq-1 when slots before seq are in the batch
// (the stages after this one reach seq-1 first), hi when the ring failed
// (nothing passes on). Hot path: no allocation, no lock.
func (n *Node) riskWait(seq, lo, hi int64) (done int64, ok bool) {
	if seq > lo {
		return seq - 1, false
	}
	r := n.risk
	r.waits.Store(r.waits.Load() + 1)
	if !n.awaitSettled(seq - 1) {
		return hi, false
	}
	return 0, true
}

// awaitSettled waits until the publish stage has settled ring sequence
// seq; false when the ring failed first (then it never will).
func (n *Node) awaitSettled(seq int64) bool {
	for i := 0; n.risk.settled.Load() < seq; i++ {
		runtime.Gosched()
		if i%1024 == 1023 && n.ring.Err() != nil {
			return false
		}
	}
	return true
}

// settleBegin, settleEvent and settleEnd are the publish stage's settle
// step for one slot, around its events. Hot path.
func (n *Node) settleBegin(s *slot) {
	if n.risk != nil {
		n.risk.state.Apply(&s.cmd, s.hold)
	}
}

func (n *Node) settleEvent(ev *matcher.Event) {
	if n.risk != nil {
		n.risk.state.Event(ev)
	}
}

func (n *Node) settleEnd() {
	if n.risk != nil {
		n.risk.state.Done()
	}
}

// publishOperator is the publish stage at an operator's record (a
// deposit, a withdrawal, a block, an unblock), at ring sequence seq: it is
// settled with the cancels a block caused in every partition (published
// as any report is), and the operator who asked is answered. Cold path.
func (n *Node) publishOperator(s *slot, seq int64) {
	n.settleBegin(s)
	if matcher.Route(&s.cmd, len(n.partitions)) == matcher.RouteAll {
		for _, p := range n.partitions {
			evs := p.takeSpill(seq)
			for i := range evs {
				n.publishEvent(&evs[i])
			}
		}
	}
	n.settleEnd()
	r := n.risk
	if r == nil {
		return // journaled by a node with risk; this one has none
	}
	r.mu.Lock()
	if ch, ok := r.waiting[s.cmd.ClOrdID]; ok {
		ch <- s.hold.Reason
		delete(r.waiting, s.cmd.ClOrdID)
	}
	r.mu.Unlock()
}

// ErrNoRisk refuses account commands on a node whose risk.mode is "none".
var ErrNoRisk = errors.New("risk.mode is \"none\": this venue keeps no balances")

// Funds deposits (or withdraws) amount, a decimal, of compID's cash
// (asset "" or "cash") or inventory of the symbol asset names, through the
// ring: journaled and replicated like any order. It returns the journal
// sequence once the risk stage has applied it, or why it was refused.
func (n *Node) Funds(withdraw bool, compID, asset, amount string) (int64, error) {
	if n.risk == nil {
		return 0, fmt.Errorf("%w (deposits and withdrawals need mode \"spot\")", ErrNoRisk)
	}
	if n.risk.state.Mode() != risk.ModeSpot {
		return 0, fmt.Errorf("risk.mode is %q: this venue keeps no balances (deposits and withdrawals need mode \"spot\")", n.cfg.Risk.Mode)
	}
	if n.following.Load() {
		return 0, errors.New("a standby follows its primary's journal: move funds on the primary")
	}
	f := matcher.Funds{Withdraw: withdraw}
	var err error
	if f.Account, err = n.accountOf(compID); err != nil {
		return 0, err
	}
	if f.Symbol, f.Amount, err = n.fundsAmount(asset, amount); err != nil {
		return 0, err
	}
	f.Ref = n.operatorRef()
	cmd, err := f.Command()
	if err != nil {
		return 0, err
	}
	seq, reason, err := n.submitOperator(&cmd)
	if err != nil {
		return 0, err
	}
	what := "deposit"
	if withdraw {
		what = "withdrawal"
	}
	switch reason {
	case matcher.ReasonNone:
	case matcher.ReasonRiskFundsLimit:
		return seq, fmt.Errorf("refused at sequence %d: %s %s of %s for %s would take the venue's total %s past %d units, the most a balance can hold",
			seq, what, amount, assetName(asset), compID, assetName(asset), int64(math.MaxInt64))
	default:
		return seq, fmt.Errorf("refused at sequence %d: %s %s of %s for %s is more than is free", seq, what, amount, assetName(asset), compID)
	}
	n.log.Info("funds applied", "what", what, "amount", amount, "asset", assetName(asset), "comp_id", compID, "seq", seq)
	return seq, nil
}

// operatorRef is a reference for an operator's record, unique in this
// process: the publish stage answers by it.
func (n *Node) operatorRef() matcher.ClOrdID {
	ref, _ := matcher.MakeClOrdID("op" + strconv.FormatInt(n.risk.refs.Add(1), 10))
	return ref
}

// submitOperator submits an operator's record, whose ClOrdID is its
// reference, and waits until the publish stage has settled it: its journal
// sequence and the risk stage's decision.
func (n *Node) submitOperator(cmd *matcher.Command) (int64, matcher.Reason, error) {
	ch := make(chan matcher.Reason, 1)
	n.risk.mu.Lock()
	if n.risk.waiting == nil {
		n.risk.waiting = map[matcher.ClOrdID]chan matcher.Reason{}
	}
	n.risk.waiting[cmd.ClOrdID] = ch
	n.risk.mu.Unlock()
	seq, err := n.submitSeq(cmd)
	if err != nil {
		n.risk.mu.Lock()
		delete(n.risk.waiting, cmd.ClOrdID)
		n.risk.mu.Unlock()
		return 0, 0, err
	}
	return n.awaitOperatorSettled(seq, ch)
}

// awaitOperatorSettled waits for the publish stage to settle the operator's record
// at seq, or for the pipeline to fail first: the record is journaled (a
// replay, or the next primary, may still apply it), but this node will
// never settle it, so the answer is unknown, and said so instead of
// waiting for ever.
func (n *Node) awaitOperatorSettled(seq int64, ch <-chan matcher.Reason) (int64, matcher.Reason, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-ch:
			return seq, r, nil
		case <-tick.C:
			if err := n.ring.Err(); err != nil {
				select {
				case r := <-ch: // settled just before the failure
					return seq, r, nil
				default:
				}
				return seq, 0, fmt.Errorf("journaled at sequence %d, not settled: the pipeline stopped (%v); its outcome is unknown here (a replay or the next primary applies it)", seq, err)
			}
		}
	}
}

// Block is the kill switch: it blocks the account named (a session's
// TargetCompID: the session, all its orders whatever account they are
// for; a firm's account name: the account, whichever session placed its
// orders; a firm's name: every session and account of the firm) so that
// the risk stage refuses its new orders and replaces from then on, and
// cancels every working order of it, GTC included, through the ring;
// with unblock, it lets it trade again. It returns the journal sequence
// of the last block record once the risk stage has applied it.
func (n *Node) Block(name string, unblock bool) (int64, error) {
	if n.risk == nil {
		return 0, fmt.Errorf("%w (the kill switch needs mode \"limits\" or \"spot\")", ErrNoRisk)
	}
	if n.following.Load() {
		return 0, errors.New("a standby follows its primary's journal: block accounts on the primary")
	}
	names := []string{name}
	if f := n.cfg.Firm(name); f != nil {
		names = append(slices.Clone(f.Sessions), f.Accounts...)
	}
	var seq int64
	for _, one := range names {
		a, err := n.accountOf(one)
		if err == nil {
			seq, err = n.blockOne(a, one, unblock)
		}
		if err != nil {
			return seq, err
		}
	}
	return seq, nil
}

// blockOne journals the block (or unblock) of account a, named name: one
// record, which also cancels every working order of the account in every
// partition (matcher.AccountBlock), so no crash can leave it blocked with
// orders working.
func (n *Node) blockOne(a uint32, name string, unblock bool) (int64, error) {
	cmd, err := matcher.AccountBlock{Account: a, Unblock: unblock, Ref: n.operatorRef()}.Command()
	if err != nil {
		return 0, err
	}
	seq, reason, err := n.submitOperator(&cmd)
	if err != nil {
		return 0, err
	}
	if reason != matcher.ReasonNone {
		return seq, fmt.Errorf("%s: refused at sequence %d: %v", name, seq, reason)
	}
	what, level := "unblocked", slog.LevelInfo
	if !unblock {
		what, level = "BLOCKED (kill switch): its working orders are cancelled", slog.LevelWarn
	}
	n.log.Log(context.Background(), level, "account "+what, "account", a, "name", name, "seq", seq)
	return seq, nil
}

func assetName(asset string) string {
	if asset == "" {
		return "cash"
	}
	return asset
}

// accountOf is the account id of a session's TargetCompID or of a firm's
// named account, as the journal binds them (accounts.go): a session
// removed from the config keeps its account, so it is found too.
func (n *Node) accountOf(name string) (uint32, error) {
	for i, id := range n.sessionIDs() {
		if n.cfg.FIX.Sessions[i].TargetCompID == name && id != 0 {
			return id, nil
		}
	}
	if id := n.boundIDs()[name]; id != 0 {
		return id, nil
	}
	return 0, fmt.Errorf("no session %q in fix.sessions, nor account %q in firms[].accounts, nor a name the journal binds", name, name)
}

// fundsAmount reads amount of asset: cash in risk.cashUnit units, or a
// symbol's inventory in lots.
func (n *Node) fundsAmount(asset, amount string) (uint32, int64, error) {
	if asset == "" || asset == "cash" {
		unit, err := gateway.ParseScale(n.cfg.Risk.CashUnit)
		if err != nil {
			return 0, 0, err
		}
		v, ok := unit.Units([]byte(amount))
		if !ok || v <= 0 {
			return 0, 0, fmt.Errorf("cash amount %q: not a positive whole number of risk.cashUnit %s", amount, n.cfg.Risk.CashUnit)
		}
		return 0, v, nil
	}
	for i, s := range n.cfg.Symbols {
		if s.Name == asset {
			v, ok := gateway.ScaleOf(s.LotSize).Units([]byte(amount))
			if !ok || v <= 0 {
				return 0, 0, fmt.Errorf("%s amount %q: not a positive whole number of lots of %d", asset, amount, s.LotSize)
			}
			return uint32(i + 1), v, nil
		}
	}
	return 0, 0, fmt.Errorf("asset %q: want cash or a symbol name", asset)
}

// AccountShow says compID's balances and holds as the settle step has
// them now, in the venue's units.
func (n *Node) AccountShow(compID string) (string, error) {
	if n.risk == nil {
		return "", ErrNoRisk
	}
	a, err := n.accountOf(compID)
	if err != nil {
		return "", err
	}
	b, _ := n.risk.state.Balance(a)
	out := fmt.Sprintf("account %d %s blocked %v openOrders %d", a, compID, b.Blocked, b.OpenOrders)
	if n.risk.state.Mode() != risk.ModeSpot {
		return out, nil
	}
	unit, _ := gateway.ParseScale(n.cfg.Risk.CashUnit)
	out += fmt.Sprintf(" cash %s held %s", unit.Format(b.Cash), unit.Format(b.CashHeld))
	for i, s := range n.cfg.Symbols {
		if b.Inv[i] != 0 || b.InvHeld[i] != 0 {
			lot := gateway.ScaleOf(s.LotSize)
			out += fmt.Sprintf(" %s %s held %s", s.Name, lot.Format(b.Inv[i]), lot.Format(b.InvHeld[i]))
		}
	}
	return out, nil
}

// stateHash is the combined hash a checkpoint records: the partitions',
// and with risk, the risk state's folded in after them.
func stateHash(partitions uint64, rs *risk.State) uint64 { return risk.CombineHash(partitions, rs) }

// riskState is the node's risk state, nil without one.
func (n *Node) riskState() *risk.State {
	if n.risk == nil {
		return nil
	}
	return n.risk.state
}

// stpMode is the matcher's self-trade prevention mode for a config's.
func stpMode(s config.STP) matcher.STPMode {
	switch s {
	case config.STPCancelOldest:
		return matcher.STPCancelResting
	case config.STPCancelNewest:
		return matcher.STPCancelIncoming
	case config.STPCancelBoth:
		return matcher.STPCancelBoth
	case config.STPDecrement:
		return matcher.STPDecrement
	}
	return matcher.STPNone
}
