package risk

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ringex/ringex/matcher"
)

const (
	testAccounts = 4
	testSymbols  = 3
)

func testConfig(mode Mode) Config {
	return Config{
		Mode: mode, Accounts: testAccounts,
		Symbols: []Symbol{{CashPerTickLot: 1, ProtectionPrice: 120}, {CashPerTickLot: 2, ProtectionPrice: 115}, {CashPerTickLot: 5}},
		Default: Limits{MaxOrderQty: 22, MaxOrderNotional: 6000, MaxOpenOrders: 6},
		Account: map[uint32]Limits{4: {}}, // account 4 has no limits
		FeeBps:  30,
	}
}

func testEngines(t testing.TB, partitions int, stp matcher.STPMode) matcher.Partitions {
	t.Helper()
	cfg := matcher.Config{STP: stp}
	for y := uint32(1); y <= testSymbols; y++ {
		cfg.Symbols = append(cfg.Symbols, matcher.SymbolSpec{ID: y})
	}
	ps, err := matcher.NewPartitions(cfg, partitions)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// gen makes random command streams: orders of every kind, cancels and
// replaces of earlier orders (by order id), mass cancels, ends of day,
// deposits and withdrawals (some of more than is there).
type gen struct {
	r      *rand.Rand
	seq    int64
	orders []matcher.Command // the new orders so far
	cl     int
}

// recent is one of the last orders: most are still working.
func (g *gen) recent() matcher.Command {
	n := min(len(g.orders), 12)
	return g.orders[len(g.orders)-1-g.r.IntN(n)]
}

func (g *gen) id() matcher.ClOrdID {
	g.cl++
	id, _ := matcher.MakeClOrdID(fmt.Sprintf("c%d", g.cl))
	return id
}

func (g *gen) next() matcher.Command {
	g.seq++
	r := g.r
	c := matcher.Command{Seq: g.seq, TimeNs: g.seq, Account: 1 + uint32(r.IntN(testAccounts)), Symbol: 1 + uint32(r.IntN(testSymbols))}
	switch p := r.IntN(100); {
	case p < 12 && len(g.orders) > 0:
		o := g.recent()
		c.Kind, c.Account, c.Symbol, c.OrderID, c.ClOrdID = matcher.KindCancel, o.Account, o.Symbol, o.Seq, g.id()
	case p < 24 && len(g.orders) > 0:
		o := g.recent()
		c.Kind, c.Account, c.Symbol, c.OrderID, c.ClOrdID, c.Side = matcher.KindReplace, o.Account, o.Symbol, o.Seq, g.id(), o.Side
		c.Owner = o.Owner
		if r.IntN(10) == 0 {
			c.Side = matcher.Side(r.IntN(3))
		}
		if r.IntN(10) == 0 {
			c.Owner = 0 // not the order's trading account: the matcher refuses it
		}
		c.Qty, c.Price = 1+r.Int64N(25), 88+r.Int64N(25)
	case p < 32:
		f := matcher.Funds{Account: c.Account, Amount: 1 + r.Int64N(3000)}
		if r.IntN(2) == 0 {
			f.Symbol, f.Amount = c.Symbol, 1+r.Int64N(60)
		}
		c, _ = f.Command()
		c.Seq, c.TimeNs = g.seq, g.seq
	case p < 38:
		f := matcher.Funds{Withdraw: true, Account: c.Account, Amount: 1 + r.Int64N(1500)}
		if r.IntN(2) == 0 {
			f.Symbol, f.Amount = c.Symbol, 1+r.Int64N(30)
		}
		c, _ = f.Command()
		c.Seq, c.TimeNs = g.seq, g.seq
	case p < 41:
		m := matcher.MassCancel{Account: c.Account, Symbol: c.Symbol, Scope: matcher.ScopeAllOrders}
		if r.IntN(2) == 0 {
			m.Scope = matcher.ScopeDayOrders
		}
		c = m.Command()
		c.Seq, c.TimeNs = g.seq, g.seq
	case p < 42:
		c = matcher.Command{Seq: g.seq, TimeNs: g.seq, Kind: matcher.KindEndOfDay}
	case p < 44:
		c, _ = matcher.AccountBlock{Account: c.Account, Unblock: r.IntN(3) > 0, Firm: g.seq%2 == 0}.Command()
		c.Seq, c.TimeNs = g.seq, g.seq
	case p < 45:
		// The rules change while orders work: limits, a protection price, the fee.
		switch r.IntN(3) {
		case 0:
			c, _ = matcher.RiskLimits{Account: c.Account, MaxOrderQty: r.Int64N(30), MaxOrderNotional: r.Int64N(8000), MaxOpenOrders: r.Int64N(8)}.Command()
		case 1:
			c, _ = matcher.RiskSymbol{Symbol: c.Symbol, ProtectionPrice: r.Int64N(3) * 60}.Command()
		default:
			c, _ = matcher.RiskFee{FeeBps: r.Int64N(60)}.Command()
		}
		c.Seq, c.TimeNs = g.seq, g.seq
	default:
		c.Kind, c.Side, c.Type = matcher.KindNew, matcher.Side(1+r.IntN(2)), matcher.Limit
		c.TIF = []matcher.TIF{matcher.Day, matcher.Day, matcher.GTC, matcher.IOC, matcher.FOK}[r.IntN(5)]
		c.Qty, c.Price, c.ClOrdID = 1+r.Int64N(24), 92+r.Int64N(18), g.id()
		if c.Side == matcher.Sell {
			c.Price += 3
		}
		if r.IntN(8) == 0 {
			c.Type, c.Price = matcher.Market, 0
		}
		if r.IntN(4) == 0 {
			// For another trading account (a firm's), whose limits and
			// balances it uses while its session gets the reports.
			c.Owner = 1 + uint32(r.IntN(testAccounts))
		}
		g.orders = append(g.orders, c)
	}
	return c
}

func stream(seed uint64, n int) []matcher.Command {
	g := &gen{r: rand.New(rand.NewPCG(seed, 19))}
	cmds := make([]matcher.Command, n)
	for i := range cmds {
		cmds[i] = g.next()
	}
	return cmds
}

// checkInvariants holds every rule the package doc promises, after a
// command has been settled.
func checkInvariants(t *testing.T, s *State, engines matcher.Partitions, at int64) {
	t.Helper()
	f := s.Funding()
	cash, inv := s.Fees(), make([]int64, testSymbols) // the fees stay in the venue
	for i := range s.stride {
		if total, held := s.settledCell(i); held != 0 || total < 0 || (i != s.cashCell(0) && total != 0) || (!s.spot && total != 0) {
			t.Fatalf("seq %d: fee account cell %d total %d held %d", at, i, total, held)
		}
	}
	resting := 0
	for _, e := range engines {
		resting += e.RestingOrders()
	}
	if s.orders.n != resting {
		t.Fatalf("seq %d: %d order records, the engines hold %d working orders", at, s.orders.n, resting)
	}
	for a := uint32(1); a <= testAccounts; a++ {
		held := map[int]int64{}
		open := int64(0)
		for _, o := range s.orders.all() {
			if o.account != a {
				continue
			}
			open++
			if !s.spot {
				continue
			}
			if o.side == matcher.Buy {
				held[s.cashCell(a)] += o.leaves * o.unit
			} else {
				held[s.invCell(a, o.symbol)] += o.leaves
			}
		}
		held[s.openCell(a)] = open
		for _, o := range s.orders.all() {
			if o.account == a {
				held[s.sideCell(a, o.side)]++
			}
		}
		for i := s.cashCell(a); i < s.cashCell(a)+s.stride; i++ {
			c := &s.cells[i]
			total, h := s.settledCell(i)
			free := total - h
			switch {
			case h < 0 || total < 0 || (!s.isCount(a, i) && free < 0):
				t.Fatalf("seq %d: account %d cell %d: total %d held %d free %d", at, a, i-s.cashCell(a), total, h, free)
			case s.pending[i] != c.applied.Load():
				t.Fatalf("seq %d: account %d cell %d: %d reserved by Check, %d applied", at, a, i-s.cashCell(a), s.pending[i], c.applied.Load())
			case h != held[i]:
				t.Fatalf("seq %d: account %d cell %d holds %d, its working orders %d", at, a, i-s.cashCell(a), h, held[i])
			}
		}
		cash += s.cells[s.cashCell(a)].total.Load()
		for y := range inv {
			inv[y] += s.cells[s.invCell(a, uint32(y+1))].total.Load()
		}
	}
	if cash != f.Cash || !slicesEqual(inv, f.Inv) {
		t.Fatalf("seq %d: totals cash %d inventory %v; deposited less withdrawn: cash %d inventory %v", at, cash, inv, f.Cash, f.Inv)
	}
}

// isCount reports whether cell i of account a counts orders (its free
// amount is minus the count) rather than holding an amount.
func (s *State) isCount(a uint32, i int) bool {
	return i == s.openCell(a) || i == s.sideCell(a, matcher.Sell) || i == s.sideCell(a, matcher.Buy)
}

func slicesEqual(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func run(t *testing.T, mode Mode, cmds []matcher.Command, partitions int, stp matcher.STPMode, each func(s *State, e matcher.Partitions, seq int64)) (*State, matcher.Partitions, []Hold) {
	t.Helper()
	s, err := New(testConfig(mode))
	if err != nil {
		t.Fatal(err)
	}
	engines := testEngines(t, partitions, stp)
	var evs []matcher.Event
	holds := make([]Hold, len(cmds))
	for i := range cmds {
		c := cmds[i]
		evs, holds[i] = s.Step(&c, engines, evs[:0])
		if each != nil {
			each(s, engines, c.Seq)
		}
	}
	return s, engines, holds
}

func TestSpotPropertyBalancesNeverNegativeAndConserved(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		cmds := stream(seed, 3000)
		stp := matcher.STPMode(seed % 5)
		refused := map[matcher.Reason]int{}
		s, engines, holds := run(t, ModeSpot, cmds, 1+int(seed%3), stp, func(s *State, e matcher.Partitions, seq int64) { checkInvariants(t, s, e, seq) })
		for _, h := range holds {
			refused[h.Reason]++
		}
		// Every kind of refusal happened, so the invariants were held
		// against all of them.
		for _, r := range []matcher.Reason{matcher.ReasonRiskOrderQty, matcher.ReasonRiskNotional, matcher.ReasonRiskOpenOrders,
			matcher.ReasonRiskCash, matcher.ReasonRiskInventory, matcher.ReasonRiskNoProtection, matcher.ReasonRiskFundsRefused,
			matcher.ReasonRiskBlocked} {
			if refused[r] == 0 && seed == 1 {
				t.Errorf("seed %d: no refusal %v in the stream: %v", seed, r, refused)
			}
		}
		// Ending every order releases every hold.
		var evs []matcher.Event
		seq := int64(len(cmds))
		for a := uint32(1); a <= testAccounts; a++ {
			seq++
			c := matcher.MassCancel{Account: a, Scope: matcher.ScopeAllOrders}.Command()
			for y := uint32(1); y <= testSymbols; y++ {
				c.Symbol, c.Seq = y, seq
				evs, _ = s.Step(&c, engines, evs[:0])
			}
		}
		checkInvariants(t, s, engines, seq)
		for a := uint32(1); a <= testAccounts; a++ {
			b, _ := s.Balance(a)
			if b.CashHeld != 0 || b.OpenOrders != 0 || fmt.Sprint(b.InvHeld) != fmt.Sprint(make([]int64, testSymbols)) {
				t.Fatalf("seed %d: account %d still holds %+v with no working order", seed, a, b)
			}
		}
	}
}

// In mode limits, no order is accepted while its account has its
// maxOpenOrders (as in force then: the stream changes it) working.
func TestLimitsPropertyOpenOrdersCounted(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		s, _ := New(testConfig(ModeLimits))
		engines := testEngines(t, 2, matcher.STPNone)
		var evs []matcher.Event
		for _, c := range stream(seed, 3000) {
			a := c.OwnerID() // the trading account's count and limit
			_, before := s.settledCell(s.openCell(a))
			max := s.limits[a].MaxOpenOrders
			var h Hold
			evs, h = s.Step(&c, engines, evs[:0])
			if c.Kind == matcher.KindNew && h.Open != 0 && max > 0 && before >= max {
				t.Fatalf("seq %d: account %d had %d open orders, maxOpenOrders %d, and an order was accepted", c.Seq, a, before, max)
			}
			checkInvariants(t, s, engines, c.Seq)
		}
	}
}

// A replay (the same stream again), and a replay from a snapshot taken
// half way, reach the same state byte for byte.
func TestReplayReproducesEveryBalance(t *testing.T) {
	cmds := stream(7, 4000)
	s1, e1, _ := run(t, ModeSpot, cmds, 2, matcher.STPCancelResting, nil)
	s2, e2, _ := run(t, ModeSpot, cmds, 2, matcher.STPCancelResting, nil)
	if !bytes.Equal(s1.Snapshot(nil), s2.Snapshot(nil)) || s1.Hash() != s2.Hash() || e1.Hash() != e2.Hash() {
		t.Fatal("two replays of one stream differ")
	}
	half, eh, _ := run(t, ModeSpot, cmds[:2000], 2, matcher.STPCancelResting, nil)
	s3, _ := New(testConfig(ModeSpot))
	if err := s3.Restore(half.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	e3 := testEngines(t, 2, matcher.STPCancelResting)
	if err := e3.Restore(eh.Snapshot()); err != nil {
		t.Fatal(err)
	}
	var evs []matcher.Event
	for i := 2000; i < len(cmds); i++ {
		c := cmds[i]
		evs, _ = s3.Step(&c, e3, evs[:0])
		checkInvariants(t, s3, e3, c.Seq)
	}
	if !bytes.Equal(s1.Snapshot(nil), s3.Snapshot(nil)) {
		t.Fatal("a replay from a snapshot half way reaches another state")
	}
}

// The pipeline's timing: Check runs up to lag commands ahead of the settle
// half, which sees the engines' events later; a view-dependent refusal
// waits until the settle half has caught up and checks again. Every
// decision, and the end state, is the sequential one's.
func TestCheckAheadOfSettleDecidesAsSequential(t *testing.T) {
	cmds := stream(11, 4000)
	want, _, wantHolds := run(t, ModeSpot, cmds, 2, matcher.STPNone, nil)
	r := rand.New(rand.NewPCG(3, 4))
	s, _ := New(testConfig(ModeSpot))
	engines := testEngines(t, 2, matcher.STPNone)
	type inFlight struct {
		cmd  matcher.Command
		hold Hold
	}
	var queue []inFlight
	settleOne := func() {
		f := &queue[0]
		s.Apply(&f.cmd, f.hold)
		if f.hold.Reason == matcher.ReasonNone {
			evs := engines.Apply(&f.cmd, nil)
			for i := range evs {
				s.Event(&evs[i])
			}
		}
		s.Done()
		queue = queue[1:]
	}
	waited, exacts, finals := 0, 0, 0
	for i := range cmds {
		c := cmds[i]
		exact := s.Exact(c.Account)
		h := s.Check(&c)
		if exact && len(queue) > 0 {
			exacts++
		}
		final := ViewDependent(h.Reason) && !exact && s.Final(&c, h.Reason)
		if final && len(queue) > 0 {
			finals++
		}
		if Reducible(&c, h.Reason) {
			// As the node: the settle half and the engines caught up.
			waited++
			for len(queue) > 0 {
				settleOne()
			}
			id, cum := engines.Target(&c)
			h = s.CheckExact(&c, id, cum)
		} else if ViewDependent(h.Reason) && !exact && !final && len(queue) > 0 {
			waited++
			for len(queue) > 0 {
				settleOne()
			}
			h = s.Check(&c)
		}
		if h != wantHolds[i] {
			t.Fatalf("seq %d: decided %+v with the settle half %d behind; sequentially %+v", c.Seq, h, len(queue), wantHolds[i])
		}
		queue = append(queue, inFlight{c, h})
		for len(queue) > 0 && (len(queue) > 16 || r.IntN(3) == 0) {
			settleOne()
		}
	}
	for len(queue) > 0 {
		settleOne()
	}
	if !bytes.Equal(want.Snapshot(nil), s.Snapshot(nil)) {
		t.Fatal("the end state differs from the sequential one")
	}
	if waited == 0 || exacts == 0 || finals == 0 {
		t.Fatalf("%d refusals waited, %d checks were exact and %d refusals final with the settle half behind: the test did not exercise all three", waited, exacts, finals)
	}
}
