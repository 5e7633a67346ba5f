package node

// Pre-trade risk in the pipeline (docs/design.md, "Risk"). With risk.mode
// other than "none" the ring has one more stage, before the journal and
// the match partitions: riskHandler runs the risk stage's decision
// (risk.Stage: Check, and for a refusal that depends on balances the wait
// for the settle step) on every slot in sequence order and leaves its Hold
// in the slot; a refused order gets its
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

// journalRiskRules journals the rule records todo (rulesToJournal) through
// the ring, before FIX opens: every order is decided after the rules it is
// decided by.
func (n *Node) journalRiskRules(todo []matcher.Command) error {
	for i := range todo {
		if _, err := n.submitSeq(&todo[i]); err != nil {
			return fmt.Errorf("journal the risk rules: %w", err)
		}
	}
	if len(todo) > 0 {
		n.log.Info("rules of the config journaled (symbols' tick and lot sizes, its risk mode and cash unit where the journal has none; bands, self-trade prevention, limits, protection prices, fee that differ from those in force)", "records", len(todo))
	}
	return nil
}

// riskStage is what the node keeps for its risk stage.
type riskStage struct {
	state   *risk.State
	stage   *risk.Stage  // the risk stage's decision, over riskPipe
	settled atomic.Int64 // ring sequence the publish stage has settled up to

	mu      sync.Mutex                        // guards waiting and pending: the operator's records (cold path)
	waiting map[matcher.ClOrdID]*operatorWait // by the record's ClOrdID (operatorRef)
	pending map[operatorKey]*operatorWait     // keyed records submitted here and not settled yet
	refs    atomic.Int64
}

// newRiskStage is the node's risk stage over state, with nothing settled.
func (n *Node) newRiskStage(state *risk.State) *riskStage {
	r := &riskStage{state: state}
	r.stage = risk.NewStage(state, riskPipe{n})
	r.settled.Store(-1)
	return r
}

// riskPipe is the node's pipeline as the risk stage's decision sees it
// (risk.Pipeline): the publish stage settles, and the match partitions'
// engines answer for a replace's order. Hot path.
type riskPipe struct{ n *Node }

func (p riskPipe) Settled() int64 { return p.n.risk.settled.Load() }
func (p riskPipe) Failed() bool   { return p.n.ring.Err() != nil }
func (p riskPipe) Target(cmd *matcher.Command) (id, cum int64) {
	return p.n.partitions[matcher.PartitionOf(cmd.Symbol, len(p.n.partitions))].engine.Target(cmd)
}

// riskHandler is the risk stage's one handler: risk.Stage.Decide on each
// slot, its Hold left in the slot, and a refused new order's Rejected
// event with it. Hot path: no allocation, no lock; a refusal that depends
// on balances ends the batch before its slot, or, at the start of one,
// waits (spinning, then yielding) for the publish stage to settle the slot
// before (risk.Stage).
type riskHandler struct{ n *Node }

// Handle is never called: the ring calls HandleUpTo.
func (h riskHandler) Handle(lo, hi int64) { h.HandleUpTo(lo, hi) }

func (h riskHandler) HandleUpTo(lo, hi int64) int64 {
	n, st := h.n, h.n.risk.stage
	n.stamp(lo, hi) // the first stage (stages.go)
	for seq := lo; seq <= hi; seq++ {
		s := n.ring.Slot(seq)
		hold, last, ok := st.Decide(&s.cmd, seq, lo, hi)
		if !ok {
			return last
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
// as any report is), and the operator who asked is answered: with the
// first record's outcome when the risk stage refused this one as its
// repeat (the settle step has settled that one before). Cold path.
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
	if w, ok := r.waiting[s.cmd.ClOrdID]; ok {
		w.out = risk.RefOutcome{Seq: s.cmd.Seq, Reason: s.hold.Reason}
		switch s.hold.Reason {
		case matcher.ReasonOperatorRepeat:
			if first, ok := r.state.OperatorRef(s.cmd.Account, s.cmd.OrigClOrdID); ok {
				w.out, w.repeat = first, true
			}
		case matcher.ReasonOperatorRefConflict:
			var ok bool
			if w.first, ok = r.state.OperatorRef(s.cmd.Account, s.cmd.OrigClOrdID); !ok {
				w.first, _ = r.state.OperatorRefElsewhere(s.cmd.Account, s.cmd.OrigClOrdID, w.req)
			}
		}
		close(w.done)
		delete(r.waiting, s.cmd.ClOrdID)
		if k := (operatorKey{s.cmd.OrigClOrdID, s.cmd.Account}); r.pending[k] == w {
			delete(r.pending, k)
		}
	}
	r.mu.Unlock()
}

// ErrNoRisk refuses account commands on a node whose risk.mode is "none".
var ErrNoRisk = errors.New("risk.mode is \"none\": this venue keeps no balances")

// ErrOperatorPending is wrapped by the error of an operator's request
// whose record is journaled but whose outcome the node could not tell
// before the request's deadline (a sync primary holding acknowledgements
// until a standby has the record) or before its pipeline stopped: the
// request with the same reference, asked again, learns it.
var ErrOperatorPending = errors.New("outcome pending")

// MaxOperatorRef is the longest operator request reference (a ClOrdID).
const MaxOperatorRef = matcher.IDLen

// operatorKey names an operator request as the risk state remembers it:
// its reference and the account of its record.
type operatorKey struct {
	ref     matcher.ClOrdID
	account uint32
}

// operatorWait is one operator record submitted by this node, until the
// publish stage settles it: then out is its outcome (for a repeat, the
// first record's, and repeat is true), and done is closed. Under
// riskStage.mu.
type operatorWait struct {
	seq    int64           // journal sequence, once submitted
	req    risk.RefRequest // what the record asks
	done   chan struct{}
	out    risk.RefOutcome
	repeat bool
	first  risk.RefOutcome // for ReasonOperatorRefConflict: what the reference was used for
}

// OperatorAnswer is the outcome of an operator's record (Funds, Block).
type OperatorAnswer struct {
	Seq    int64          // the journal sequence of the record that decided it
	Reason matcher.Reason // the risk stage's decision: ReasonNone, applied
	// Repeat: the request's reference was used already, and Seq and
	// Reason are the first record's outcome (no new record when the node
	// knew it, else a refused one).
	Repeat bool
	// First is, for ReasonOperatorRefConflict, the record the reference
	// was used for (its sequence and request; Seq 0 when the state no
	// longer tells it); Seq is then the refused record's, 0 when the node
	// journaled none.
	First risk.RefOutcome
}

// operatorRefOf reads an operator's request reference: "" is none (a zero
// key); else 1 to MaxOperatorRef letters, digits and "._:-", so that it
// travels as one field of the admin line and reads back as it was typed.
func operatorRefOf(ref string) (matcher.ClOrdID, error) {
	if ref == "" {
		return matcher.ClOrdID{}, nil
	}
	for _, c := range []byte(ref) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return matcher.ClOrdID{}, fmt.Errorf("ref %q: want 1 to %d letters, digits and ._:-", ref, MaxOperatorRef)
		}
	}
	k, ok := matcher.MakeClOrdID(ref)
	if !ok {
		return matcher.ClOrdID{}, fmt.Errorf("ref %q: want 1 to %d letters, digits and ._:-", ref, MaxOperatorRef)
	}
	return k, nil
}

// Funds deposits (or withdraws) amount, a decimal, of compID's cash
// (asset "" or "cash") or inventory of the symbol asset names, through the
// ring: journaled and replicated like any order. It returns the journal
// sequence once the risk stage has applied it, or why it was refused. It
// waits for the outcome as long as it takes (FundsRef bounds the wait).
func (n *Node) Funds(withdraw bool, compID, asset, amount string) (int64, error) {
	return n.FundsRef(context.Background(), "", withdraw, compID, asset, amount)
}

// FundsRef is Funds for the operator's request with reference ref ("":
// none), waiting for its outcome until ctx is done: then the error wraps
// ErrOperatorPending and names the record's sequence and ref. A request
// whose ref (for this account) the node remembers is not applied again:
// the answer is the first one's (OperatorAnswer.Repeat), without a new
// record when the node can tell it; one whose ref it knows for another
// request (another kind, asset or amount) is refused with a
// *RefConflictError and changes nothing.
func (n *Node) FundsRef(ctx context.Context, ref string, withdraw bool, compID, asset, amount string) (int64, error) {
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
	if f.Key, err = operatorRefOf(ref); err != nil {
		return 0, err
	}
	if f.Account, err = n.balanceAccountOf(compID); err != nil {
		return 0, err
	}
	if f.Account == 0 {
		if err := feeAccountFunds(withdraw, asset); err != nil {
			return 0, err
		}
	}
	if f.Symbol, f.Amount, err = n.fundsAmount(asset, amount); err != nil {
		return 0, err
	}
	f.Ref = n.operatorRef()
	cmd, err := f.Command()
	if err != nil {
		return 0, err
	}
	ans, err := n.submitOperator(ctx, &cmd)
	if err != nil {
		return ans.Seq, err
	}
	what := "deposit"
	if withdraw {
		what = "withdrawal"
	}
	seq, again := ans.Seq, ""
	if ans.Repeat {
		again = fmt.Sprintf(" (ref %s was used already: this is its first request's outcome; nothing moved now)", ref)
	}
	switch ans.Reason {
	case matcher.ReasonNone:
	case matcher.ReasonOperatorRefConflict:
		return seq, n.refConflict(ans, ref, compID)
	case matcher.ReasonRiskFundsLimit:
		return seq, fmt.Errorf("refused at sequence %d: %s %s of %s for %s would take the venue's total %s past %d units, the most a balance can hold%s",
			seq, what, amount, assetName(asset), compID, assetName(asset), int64(math.MaxInt64), again)
	case matcher.ReasonOperatorRepeat:
		return seq, fmt.Errorf("refused at sequence %d: ref %s was used already for %s, by a request the venue no longer tells the outcome of", seq, ref, compID)
	default:
		return seq, fmt.Errorf("refused at sequence %d: %s %s of %s for %s is more than is free%s", seq, what, amount, assetName(asset), compID, again)
	}
	if ans.Repeat {
		n.log.Info("funds request repeated: applied already", "what", what, "ref", ref, "comp_id", compID, "seq", seq)
		return seq, &RepeatError{Seq: seq, Ref: ref}
	}
	n.log.Info("funds applied", "what", what, "amount", amount, "asset", assetName(asset), "comp_id", compID, "seq", seq, "ref", ref)
	return seq, nil
}

// RepeatError is the answer to an operator's request whose reference was
// used already by one that was applied at Seq: nothing was applied again.
// The request did what it asked (the admin endpoint answers "ok ...
// already applied").
type RepeatError struct {
	Seq int64
	Ref string
}

func (e *RepeatError) Error() string {
	return fmt.Sprintf("already applied at sequence %d (ref %s): nothing applied again", e.Seq, e.Ref)
}

// RefConflictError is the answer to an operator's request whose
// reference the venue knows, for the same account, from another request
// (another kind, asset or amount): a reference names one request, so this
// one is refused and changes nothing, neither applied nor "already
// applied". Seq is the refused record's journal sequence (0: the node
// journaled none, it knew the reference), First the record the reference
// was used for (its Seq 0 when that one is not journaled yet), and What
// says First's request in the venue's units.
type RefConflictError struct {
	Seq     int64
	Ref     string
	Account string
	First   risk.RefOutcome
	What    string
}

func (e *RefConflictError) Error() string {
	at := "journaled nothing"
	if e.Seq != 0 {
		at = fmt.Sprintf("refused at sequence %d", e.Seq)
	}
	used := "by a request not journaled yet"
	if e.First.Seq != 0 {
		used = fmt.Sprintf("at sequence %d", e.First.Seq)
	}
	return fmt.Sprintf("%s: ref %s was used %s for another request: %s of %s; this request is refused and changes nothing (give it a new ref)",
		at, e.Ref, used, e.What, e.Account)
}

// refConflict is the RefConflictError of ans, a ReasonOperatorRefConflict
// answer to the request with reference ref for account name.
func (n *Node) refConflict(ans OperatorAnswer, ref, name string) *RefConflictError {
	return &RefConflictError{Seq: ans.Seq, Ref: ref, Account: name, First: ans.First, What: n.requestString(ans.First.Request)}
}

// requestString says operator request q in the venue's units: "deposit
// 100.00 cash", "withdraw 3 BTC-USD", "block", "firm's block".
func (n *Node) requestString(q risk.RefRequest) string {
	if q.Firm {
		return "firm's " + q.Kind.String()
	}
	if q.Kind != matcher.KindDeposit && q.Kind != matcher.KindWithdraw {
		return q.Kind.String()
	}
	if q.Symbol == 0 {
		unit, _ := gateway.ParseScale(n.cfg.Risk.CashUnit)
		return fmt.Sprintf("%v %s cash", q.Kind, unit.Format(q.Amount))
	}
	if i := int(q.Symbol) - 1; i < len(n.cfg.Symbols) {
		s := n.cfg.Symbols[i]
		return fmt.Sprintf("%v %s %s", q.Kind, gateway.ScaleOf(s.LotSize).Format(q.Amount), s.Name)
	}
	return fmt.Sprintf("%v %d lots of symbol %d", q.Kind, q.Amount, q.Symbol)
}

// operatorRef is a reference for an operator's record, unique in this
// process: the publish stage answers by it.
func (n *Node) operatorRef() matcher.ClOrdID {
	ref, _ := matcher.MakeClOrdID("op" + strconv.FormatInt(n.risk.refs.Add(1), 10))
	return ref
}

// submitOperator submits an operator's record, whose ClOrdID is its
// reference for the answer and OrigClOrdID the request's (zero: none),
// and waits until the publish stage has settled it: its journal sequence
// and the risk stage's decision (startOperator, awaitOperator).
func (n *Node) submitOperator(ctx context.Context, cmd *matcher.Command) (OperatorAnswer, error) {
	st, err := n.startOperator(cmd)
	if err != nil {
		return OperatorAnswer{}, err
	}
	return n.awaitOperator(ctx, st, cmd)
}

// operatorStart is an operator's record as startOperator left it: the
// record to wait for (w), or, with w nil, the answer known already.
type operatorStart struct {
	w       *operatorWait
	earlier bool // w is an earlier request's with the same key and request
	ans     OperatorAnswer
}

// startOperator journals operator record cmd, without waiting for its
// outcome. A keyed request is not submitted again while this node waits
// for an earlier one with the same key and request (the answer is that
// one's), nor when the risk state has settled one (its outcome is the
// answer); one whose key the node knows for another request is refused
// at once as a conflicting reuse (ReasonOperatorRefConflict, First the
// request the key was used for), journaling nothing.
func (n *Node) startOperator(cmd *matcher.Command) (operatorStart, error) {
	r := n.risk
	k := operatorKey{cmd.OrigClOrdID, cmd.Account}
	keyed := cmd.OrigClOrdID != (matcher.ClOrdID{})
	req := risk.RequestOf(cmd)
	r.mu.Lock()
	if w := r.pending[k]; keyed && w != nil {
		first := risk.RefOutcome{Seq: w.seq, Request: w.req}
		r.mu.Unlock()
		if first.Request != req {
			return operatorStart{ans: OperatorAnswer{Reason: matcher.ReasonOperatorRefConflict, First: first}}, nil
		}
		return operatorStart{w: w, earlier: true}, nil
	}
	if keyed {
		if first, ok := r.state.OperatorRef(cmd.Account, cmd.OrigClOrdID); ok {
			r.mu.Unlock()
			if first.Request != req {
				return operatorStart{ans: OperatorAnswer{Reason: matcher.ReasonOperatorRefConflict, First: first}}, nil
			}
			return operatorStart{ans: OperatorAnswer{Seq: first.Seq, Reason: first.Reason, Repeat: true}}, nil
		}
		if first, ok := r.state.OperatorRefElsewhere(cmd.Account, cmd.OrigClOrdID, req); ok {
			r.mu.Unlock() // the key names another account's request
			return operatorStart{ans: OperatorAnswer{Reason: matcher.ReasonOperatorRefConflict, First: first}}, nil
		}
	}
	if r.waiting == nil {
		r.waiting, r.pending = map[matcher.ClOrdID]*operatorWait{}, map[operatorKey]*operatorWait{}
	}
	w := &operatorWait{req: req, done: make(chan struct{})}
	r.waiting[cmd.ClOrdID] = w
	if keyed {
		r.pending[k] = w
	}
	r.mu.Unlock()
	seq, err := n.submitSeq(cmd)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		delete(r.waiting, cmd.ClOrdID)
		if r.pending[k] == w {
			delete(r.pending, k)
		}
		return operatorStart{}, err
	}
	w.seq = seq
	return operatorStart{w: w}, nil
}

// awaitOperator is the answer to st, startOperator's, once its record is
// settled or ctx is done (awaitOperatorSettled).
func (n *Node) awaitOperator(ctx context.Context, st operatorStart, cmd *matcher.Command) (OperatorAnswer, error) {
	if st.w == nil {
		return st.ans, nil
	}
	ans, err := n.awaitOperatorSettled(ctx, st.w, cmd)
	if st.earlier {
		ans.Repeat = err == nil // the earlier request's outcome
	}
	return ans, err
}

// awaitOperatorSettled waits for the publish stage to settle the operator's
// record w, cmd's, until ctx is done or the pipeline fails first: the
// record is journaled (the settle step, a replay, or the next primary
// applies it), but its outcome is not known here yet, so the answer says
// where it is and how to learn it instead of waiting for ever.
func (n *Node) awaitOperatorSettled(ctx context.Context, w *operatorWait, cmd *matcher.Command) (OperatorAnswer, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	answer := func() OperatorAnswer {
		n.risk.mu.Lock()
		defer n.risk.mu.Unlock()
		return OperatorAnswer{Seq: w.out.Seq, Reason: w.out.Reason, Repeat: w.repeat, First: w.first}
	}
	pending := func(why string) (OperatorAnswer, error) {
		n.risk.mu.Lock()
		seq := w.seq
		n.risk.mu.Unlock()
		ask := "; it is never applied twice"
		if ref := cmd.OrigClOrdID.String(); ref != "" {
			ask = fmt.Sprintf(" (ref %s): ask again with the same ref to learn it; it is never applied twice", ref)
		}
		return OperatorAnswer{Seq: seq}, fmt.Errorf("journaled at sequence %d, not settled: %w: %s%s", seq, ErrOperatorPending, why, ask)
	}
	for {
		select {
		case <-w.done:
			return answer(), nil
		case <-ctx.Done():
			select {
			case <-w.done: // settled just before the deadline
				return answer(), nil
			default:
			}
			why := "the request's deadline passed first"
			if st, ok := n.ReplicationStats(); ok && st.Holding != 0 {
				why += fmt.Sprintf(" (this sync primary holds acknowledgements: no standby has acknowledged up to sequence %d)", st.Holding)
			}
			return pending(why)
		case <-tick.C:
			if err := n.ring.Err(); err != nil {
				select {
				case <-w.done: // settled just before the failure
					return answer(), nil
				default:
				}
				return pending(fmt.Sprintf("the pipeline stopped (%v); a replay or the next primary applies it", err))
			}
		}
	}
}

// Block is the kill switch: it blocks the account named (a session's
// TargetCompID: the session, all its orders whatever account they are
// for; a firm's account name: the account, whichever session placed its
// orders; a firm's name: every session and account of the firm, and
// those added to it later until it is unblocked, firmblock.go) so that
// the risk stage refuses its new orders and replaces from then on, and
// cancels every working order of it, GTC included, through the ring;
// with unblock, it lets it trade again. An account's own block (by its
// name) and its firm's (by the firm's name) are independent: each
// unblock lifts only its own, so an account trades again once neither
// holds (firmblock.go). It returns the journal sequence
// of the last block record once the risk stage has applied it. It waits
// as long as that takes (BlockRef bounds the wait).
func (n *Node) Block(name string, unblock bool) (int64, error) {
	return n.BlockRef(context.Background(), "", name, unblock)
}

// BlockRef is Block for the operator's request with reference ref ("":
// none), waiting until ctx is done, as FundsRef does. A firm's block is
// one record per session and account, each with ref: a retry skips
// those applied already and journals the others.
func (n *Node) BlockRef(ctx context.Context, ref, name string, unblock bool) (int64, error) {
	if name == config.FeeAccount {
		return 0, fmt.Errorf("%s is the venue's fee account (account 0): it holds the fees collected and places no orders, so it cannot be blocked (journaled nothing)", config.FeeAccount)
	}
	if n.risk == nil {
		return 0, fmt.Errorf("%w (the kill switch needs mode \"limits\" or \"spot\")", ErrNoRisk)
	}
	if n.following.Load() {
		return 0, errors.New("a standby follows its primary's journal: block accounts on the primary")
	}
	key, err := operatorRefOf(ref)
	if err != nil {
		return 0, err
	}
	if f := n.cfg.Firm(name); f != nil {
		return n.blockFirm(ctx, f, key, ref, unblock)
	}
	a, err := n.accountOf(name)
	if err != nil {
		return 0, err
	}
	seq, err := n.blockOne(ctx, a, key, name, unblock, false)
	if re := (*RepeatError)(nil); (err != nil && !errors.As(err, &re)) || !unblock {
		return seq, err
	}
	if b, _ := n.risk.state.Balance(a); b.FirmBlock && n.blockedFirmOf(name) == nil {
		// A firm's block that no blocked firm's unblock would lift (the
		// account left the firm's config while it was blocked): the
		// account's unblock lifts it too, with a record of its own.
		s, ferr := n.blockOne(ctx, a, matcher.ClOrdID{}, name, true, true)
		if ferr != nil {
			return s, fmt.Errorf("%s: own block lifted at sequence %d; the block of a firm that no longer lists it: %w", name, seq, ferr)
		}
		return s, nil
	}
	return seq, err
}

// blockOne journals the block (or unblock) of account a, named name, for
// the request with reference key: one record, which also cancels every
// working order of the account in every partition (matcher.AccountBlock),
// so no crash can leave it blocked with orders working. firm: the record
// is the block of the account's firm, not the account's own.
func (n *Node) blockOne(ctx context.Context, a uint32, key matcher.ClOrdID, name string, unblock, firm bool) (int64, error) {
	cmd, err := n.blockCommand(a, key, unblock, firm)
	if err != nil {
		return 0, err
	}
	st, err := n.startOperator(&cmd)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n.blockAnswer(ctx, st, &cmd, name, unblock)
}

// blockCommand is the block (or unblock) record of account a for the
// request with reference key: its own block, or with firm its firm's.
func (n *Node) blockCommand(a uint32, key matcher.ClOrdID, unblock, firm bool) (matcher.Command, error) {
	return matcher.AccountBlock{Account: a, Unblock: unblock, Firm: firm, Ref: n.operatorRef(), Key: key}.Command()
}

// blockAnswer waits for block record cmd, started as st, of the account
// named name, and says its outcome: its sequence, or a *RepeatError, a
// *RefConflictError, a refusal, or an error wrapping ErrOperatorPending.
func (n *Node) blockAnswer(ctx context.Context, st operatorStart, cmd *matcher.Command, name string, unblock bool) (int64, error) {
	key := cmd.OrigClOrdID
	ans, err := n.awaitOperator(ctx, st, cmd)
	if err != nil {
		return ans.Seq, fmt.Errorf("%s: %w", name, err)
	}
	seq := ans.Seq
	switch {
	case ans.Reason == matcher.ReasonOperatorRefConflict:
		return seq, n.refConflict(ans, key.String(), name)
	case ans.Reason == matcher.ReasonOperatorRepeat:
		return seq, fmt.Errorf("%s: refused at sequence %d: ref %s was used already for it, by a request the venue no longer tells the outcome of", name, seq, key.String())
	case ans.Reason != matcher.ReasonNone && ans.Repeat:
		return seq, fmt.Errorf("%s: refused at sequence %d: %v (ref %s was used already: this is its first request's outcome)", name, seq, ans.Reason, key.String())
	case ans.Reason != matcher.ReasonNone:
		return seq, fmt.Errorf("%s: refused at sequence %d: %v", name, seq, ans.Reason)
	case ans.Repeat:
		return seq, &RepeatError{Seq: seq, Ref: key.String()}
	}
	what, level := "unblocked", slog.LevelInfo
	if !unblock {
		what, level = "BLOCKED (kill switch): its working orders are cancelled", slog.LevelWarn
	}
	n.log.Log(context.Background(), level, "account "+what, "account", cmd.Account, "name", name, "seq", seq, "ref", key.String())
	return seq, nil
}

// refConflictKnown is the ReasonOperatorRefConflict answer startOperator
// would give cmd now, ok false when it would give none. Cold path: it
// takes the operator's lock.
func (n *Node) refConflictKnown(cmd *matcher.Command) (ans OperatorAnswer, ok bool) {
	if cmd.OrigClOrdID == (matcher.ClOrdID{}) {
		return OperatorAnswer{}, false
	}
	r, req := n.risk, risk.RequestOf(cmd)
	r.mu.Lock()
	defer r.mu.Unlock()
	first, known := risk.RefOutcome{}, false
	if w := r.pending[operatorKey{cmd.OrigClOrdID, cmd.Account}]; w != nil {
		first, known = risk.RefOutcome{Seq: w.seq, Request: w.req}, true
	} else if first, known = r.state.OperatorRef(cmd.Account, cmd.OrigClOrdID); !known {
		if first, known = r.state.OperatorRefElsewhere(cmd.Account, cmd.OrigClOrdID, req); known {
			return OperatorAnswer{Reason: matcher.ReasonOperatorRefConflict, First: first}, true
		}
	}
	if !known || first.Request == req {
		return OperatorAnswer{}, false
	}
	return OperatorAnswer{Reason: matcher.ReasonOperatorRefConflict, First: first}, true
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
		if !ok || v <= 0 || v > matcher.MaxFundsAmount {
			return 0, 0, fmt.Errorf("cash amount %q: not a positive whole number of risk.cashUnit %s, at most %d of them", amount, n.cfg.Risk.CashUnit, int64(matcher.MaxFundsAmount))
		}
		return 0, v, nil
	}
	for i, s := range n.cfg.Symbols {
		if s.Name == asset {
			v, ok := gateway.ScaleOf(s.LotSize).Units([]byte(amount))
			if !ok || v <= 0 || v > matcher.MaxFundsAmount {
				return 0, 0, fmt.Errorf("%s amount %q: not a positive whole number of lots of %d, at most %d of them", asset, amount, s.LotSize, int64(matcher.MaxFundsAmount))
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
	a, err := n.balanceAccountOf(compID)
	if err != nil {
		return "", err
	}
	b, _ := n.risk.state.Balance(a)
	out := fmt.Sprintf("account %d %s blocked %v%s openOrders %d", a, compID, b.Blocked, n.blocksShown(compID, b), b.OpenOrders)
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
