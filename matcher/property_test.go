package matcher

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

var (
	longProps = flag.Bool("long", false, "run the property tests over millions of commands (minutes)")
	propSeed  = flag.Uint64("seed", 1, "seed of the property tests' random streams")
)

// streamGen writes random but plausible command streams: a few brokers on a
// few symbols around one price, so orders cross often; cancels and replaces
// mostly name orders that exist, sometimes ones that do not, finished ones,
// other brokers' ones; now and then a malformed command.
type streamGen struct {
	rng   *rand.Rand
	syms  []uint32
	seq   int64
	used  map[uint32][]sentID // ClOrdIDs each account has sent, newest last
	symOf map[int64]uint32    // symbol of the order each new-order command created
	ownOf map[int64]uint32    // Owner of the order each new-order command created
	live  []liveOrder         // resting orders, as the events told

	// A wide stream spreads its prices tick apart around mid, which moves
	// now and then: books wider than a side's window, levels outside it,
	// and windows that must move. tick 0 is the narrow stream.
	tick, mid int64
}

type liveOrder struct {
	id   int64
	acct uint32
	sym  uint32
	cl   ClOrdID
}

// observe follows the events to know which orders rest.
func (g *streamGen) observe(evs []Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.OrderID == 0 || ev.Type == EvRejected || ev.Type == EvCancelRejected {
			continue
		}
		k := slices.IndexFunc(g.live, func(l liveOrder) bool { return l.id == ev.OrderID })
		alive := ev.LeavesQty > 0 && ev.Type != EvCancelled && ev.Type != EvExpired
		switch {
		case alive && k < 0:
			g.live = append(g.live, liveOrder{ev.OrderID, ev.Account, ev.Symbol, ev.ClOrdID})
		case alive:
			g.live[k].cl = ev.ClOrdID
		case k >= 0:
			g.live = slices.Delete(g.live, k, k+1)
		}
	}
}

type sentID struct {
	cl  ClOrdID
	sym uint32
}

func newStreamGen(rng *rand.Rand, cfg Config) *streamGen {
	g := &streamGen{rng: rng, used: map[uint32][]sentID{}, symOf: map[int64]uint32{}, ownOf: map[int64]uint32{}}
	for _, s := range cfg.Symbols {
		g.syms = append(g.syms, s.ID)
	}
	return g
}

// streamAccounts are the accounts the streams bind first: sessions 1 to 3
// (the senders) and two named trading accounts their orders may be for.
var streamAccounts = []AccountBinding{{1, "S1"}, {2, "S2"}, {3, "S3"}, {FirstNamedAccount, "N1"}, {FirstNamedAccount + 1, "N2"}}

// owners are what a new order's Owner may be: mostly none (the session's
// own), the named accounts, a session's own account named outright.
var owners = []uint32{0, 0, 0, FirstNamedAccount, FirstNamedAccount + 1, 2}

func randomConfig(rng *rand.Rand) Config {
	cfg := randomMatchConfig(rng)
	// Firms: S1 and S2 with N1 (and maybe N2), scope account or firm;
	// modes by name, a firm default or an account's own.
	if rng.IntN(3) > 0 {
		names := []string{"S1", "S2", "N1", "N2"}[:3+rng.IntN(2)]
		cfg.Firms = []FirmSTP{{Scope: STPScope(rng.IntN(2)), Names: names}}
		for _, n := range names {
			if rng.IntN(3) == 0 {
				cfg.NamedSTP = append(cfg.NamedSTP, NamedSTP{Name: n, Mode: STPMode(rng.IntN(5))})
			}
		}
	}
	return cfg
}

func randomMatchConfig(rng *rand.Rand) Config {
	return Config{
		Symbols: []SymbolSpec{
			{ID: 1},
			{ID: 2, MinQty: 2, MaxQty: 15},
			{ID: 3, BandTicks: 3, RefPrice: 100},
			{ID: 7, BandTicks: 4},
		},
		STP:           STPMode(rng.IntN(5)),
		AccountSTP:    []AccountSTP{{Account: 2, Mode: STPMode(rng.IntN(5))}, {Account: 3, Mode: STPMode(rng.IntN(5))}}[:rng.IntN(3)],
		MaxOrders:     []int{0, 0, 6, 40}[rng.IntN(4)],
		ClOrdIDWindow: []int{0, 0, 1, 6, 30, 200}[rng.IntN(6)],
	}
}

func (g *streamGen) pick(n int) int { return g.rng.IntN(n) }

func (g *streamGen) chance(pct int) bool { return g.rng.IntN(100) < pct }

func (g *streamGen) freshID() ClOrdID {
	return id("c" + strconv.FormatInt(g.seq, 10))
}

// knownID returns a ClOrdID account has used (recently, mostly).
func (g *streamGen) knownID(acct uint32) sentID {
	u := g.used[acct]
	if len(u) == 0 {
		return sentID{id("none"), 1}
	}
	k := min(len(u), 12)
	if g.chance(10) {
		k = len(u)
	}
	return u[len(u)-1-g.pick(k)]
}

func (g *streamGen) newID(acct, sym uint32) ClOrdID {
	if g.chance(4) {
		return g.knownID(acct).cl
	}
	c := g.freshID()
	g.used[acct] = append(g.used[acct], sentID{c, sym})
	return c
}

// refused tells the generator the last command was rejected, so the
// ClOrdID it sent names nothing worth targeting.
func (g *streamGen) refused(c *Command) {
	u := g.used[c.Account]
	if n := len(u); n > 0 && u[n-1].cl == c.ClOrdID && c.ClOrdID == g.freshID() {
		g.used[c.Account] = u[:n-1]
	}
}

func (g *streamGen) qty() int64 {
	switch {
	case g.chance(2):
		return []int64{0, -3, MaxQtyLots + 1, 16}[g.pick(4)]
	case g.chance(10):
		return 20 + int64(g.pick(40))
	}
	return 1 + int64(g.pick(12))
}

func (g *streamGen) price() int64 {
	if g.chance(2) {
		return []int64{0, -1, MaxPriceTicks + 1, 120}[g.pick(4)]
	}
	if g.tick == 0 {
		return 94 + int64(g.pick(9))
	}
	if g.chance(3) {
		g.mid = max(10*g.tick, g.mid+int64(g.pick(8001))-4000)
	}
	return g.mid + int64(g.pick(9)-4)*g.tick
}

func (g *streamGen) next() Command {
	g.seq++
	c := Command{Seq: g.seq, TimeNs: 1_700_000_000_000_000_000 + 10*g.seq, Account: 1 + uint32(g.pick(3))}
	c.Symbol = g.syms[g.pick(len(g.syms))]
	if g.chance(2) {
		c.Symbol = 99
	}
	switch r := g.pick(100); {
	case r < 46:
		c.Kind, c.Side, c.Type, c.TIF = KindNew, Side(1+g.pick(2)), Limit, []TIF{Day, Day, Day, GTC, IOC, FOK}[g.pick(6)]
		if g.chance(12) {
			c.Type = Market
		}
		if g.chance(2) {
			c.Side, c.Type, c.TIF = Side(g.pick(4)), OrdType(g.pick(4)), TIF(g.pick(6))
		}
		c.Qty, c.Price, c.ClOrdID = g.qty(), g.price(), g.newID(c.Account, c.Symbol)
		if c.Side == Sell {
			c.Price += 4 // sellers ask a little more than buyers bid: the book fills up
		}
		g.symOf[c.Seq] = c.Symbol
		if g.chance(25) {
			c.STP = uint8(g.pick(7)) // the order's own mode, or 6: not one
		}
		if g.chance(30) {
			c.Owner = owners[g.pick(len(owners))] // for a firm's account
		}
		if g.chance(20) {
			c.STPGroup = uint32(1 + g.pick(2)) // an STP group
		}
		g.ownOf[c.Seq] = c.Owner
		if c.Type == Market && g.chance(70) {
			c.Price = 0
		}
	case r < 68:
		c.Kind = KindCancel
		g.target(&c)
		c.ClOrdID = g.freshID()
	case r < 93:
		c.Kind = KindReplace
		g.target(&c)
		if g.chance(30) {
			c.Side = Side(1 + g.pick(2)) // the gateway's replaces name the side: it must be the order's
		}
		if g.chance(25) {
			c.STP = uint8(g.pick(7)) // the replace's own mode, or 6: not one
		}
		c.Owner = g.ownOf[c.OrderID] // the order's account, as a broker names it
		if g.chance(8) {
			c.Owner = owners[g.pick(len(owners))] // perhaps not
		}
		c.Qty, c.Price, c.ClOrdID = g.qty(), g.price(), g.newID(c.Account, c.Symbol)
	case r < 95:
		c.Kind = KindStatus
		g.target(&c)
		c.ClOrdID = g.freshID()
	case r < 98:
		c.Kind = KindMassCancel
		if g.chance(50) {
			c.Symbol = 0
		}
		if g.chance(50) {
			c.TIF = GTC // every order; Day (zero): Day orders only
		}
		if g.chance(50) {
			c.Qty, c.Price = 1, 7 // a broker's request: report when done
		}
		if g.chance(15) {
			// The kill switch of a session or of a named account.
			a := []uint32{1, 2, 3, FirstNamedAccount, FirstNamedAccount + 1}[g.pick(5)]
			c = MassCancel{Account: a, Scope: ScopeAllOrders, Origin: OriginKillSwitch}.Command()
			c.Seq, c.TimeNs = g.seq, 1_700_000_000_000_000_000+10*g.seq
		}
	default:
		c.Kind = Kind(g.pick(10)) // checkpoint markers, end of day, and kinds that do not exist
		if c.Kind == KindEndOfDay && !g.chance(20) {
			c.Kind = 9 // a day of about 2,500 commands: long enough to fill the ClOrdID windows
		}
	}
	return c
}

// target names the order a cancel or replace acts on.
func (g *streamGen) target(c *Command) {
	owner := c.Account
	if g.chance(8) {
		owner = 1 + uint32(g.pick(3)) // perhaps another broker's order
	}
	sym := c.Symbol
	switch r := g.pick(100); {
	case r < 55 && len(g.live) > 0:
		l := g.live[g.pick(len(g.live))]
		c.Account, sym = l.acct, l.sym
		if g.chance(50) {
			c.OrigClOrdID = l.cl
		} else {
			c.OrderID = l.id
		}
	case r < 75:
		k := g.knownID(owner)
		c.OrigClOrdID, sym = k.cl, k.sym
	case r < 95:
		c.OrderID = 1 + int64(g.pick(int(g.seq)))
		if g.chance(80) {
			c.OrderID = max(1, g.seq-int64(g.pick(20)))
		}
		if s, ok := g.symOf[c.OrderID]; ok {
			sym = s
		}
	default:
		c.OrigClOrdID = id("ghost")
	}
	if g.chance(92) {
		c.Symbol = sym
	}
}

func describeAll(evs []Event) string {
	s := ""
	for i := range evs {
		s += fmt.Sprintf("\n    %s  %+v", describe(&evs[i]), evs[i])
	}
	return s
}

// TestEngineMatchesReferenceModel feeds random streams to the engine and to
// the reference model and wants identical events. Along the way the engine
// is snapshotted, restored into a fresh engine that carries on in its place,
// and the restored one must write the same snapshot and hash.
func TestEngineMatchesReferenceModel(t *testing.T) {
	streams, length := 400, 500
	if testing.Short() {
		streams = 50
	}
	if *longProps {
		streams, length = 4000, 1000
	}
	checkStreams(t, streams, length, 0, false)
}

// TestWideBooksMatchReferenceModel: books whose prices spread wider than a
// side's window and wander, so levels live outside the window and windows
// move.
func TestWideBooksMatchReferenceModel(t *testing.T) {
	streams, length := 200, 500
	if testing.Short() {
		streams = 30
	}
	if *longProps {
		streams, length = 2000, 1000
	}
	checkStreams(t, streams, length, 1<<40, true)
}

// TestShortStreamsMatchReferenceModel: many short streams, each from an
// empty engine, where most edge cases of a young book live (first trade,
// first retirement, empty sides).
func TestShortStreamsMatchReferenceModel(t *testing.T) {
	streams := 20_000
	if testing.Short() {
		streams = 2000
	}
	if *longProps {
		streams = 1_000_000
	}
	checkStreams(t, streams, 25, 1<<32, false)
}

func checkStreams(t *testing.T, streams, length int, seedBase uint64, wide bool) {
	var got []Event
	total := 0
	seen := map[string]int{}
	for s := range streams {
		rng := rand.New(rand.NewPCG(*propSeed, seedBase+uint64(s)))
		cfg := randomConfig(rng)
		e, m, g := New(cfg), newRefModel(cfg), newStreamGen(rng, cfg)
		for _, b := range streamAccounts {
			g.seq++
			c, _ := b.Command()
			c.Seq = g.seq
			got = e.Apply(&c, got[:0])
			m.apply(&c)
		}
		if wide {
			g.tick = []int64{150, 300, 700}[g.pick(3)]
			g.mid = 100_000
		}
		for step := range length {
			c := g.next()
			got = e.Apply(&c, got[:0])
			want := m.apply(&c)
			if !slices.Equal(got, want) {
				t.Fatalf("stream %d (seed %d, config %+v) step %d, command %+v:\n  engine:%s\n  model:%s",
					s, *propSeed, cfg, step, c, describeAll(got), describeAll(want))
			}
			if err := e.checkInvariants(); err != nil {
				t.Fatalf("stream %d step %d: %v", s, step, err)
			}
			if len(got) > 0 && (got[0].Type == EvRejected || got[0].Type == EvCancelRejected) {
				g.refused(&c)
			}
			g.observe(got)
			for i := range got {
				seen[got[i].Type.String()+"/"+got[i].Reason.String()]++
			}
			if g.chance(3) {
				e = roundTrip(t, cfg, e)
			}
			total++
		}
	}
	t.Logf("%d streams, %d commands agree; events seen: %v", streams, total, seen)
	if length < 100 {
		return // too short to reach every case
	}
	for _, want := range []string{"fill/none", "replaced/none", "cancelled/self_trade", "cancelled/mass_cancel",
		"cancelled/user_cancel", "expired/fok_unfilled", "expired/ioc_remainder", "expired/no_liquidity",
		"expired/market_remainder", "rejected/price_band", "rejected/duplicate_clordid", "rejected/book_full",
		"cancel_rejected/too_late", "cancel_rejected/unknown_order", "cancel_rejected/duplicate_clordid",
		"cancel_rejected/price_band", "status/none", "status/too_late", "status/unknown_order", "rejected/invalid_qty", "rejected/invalid_price", "rejected/invalid_order"} {
		if seen[want] == 0 {
			t.Errorf("the random streams never produced %s", want)
		}
	}
}

// roundTrip restores e's snapshot into a new engine, checks it writes the
// same bytes and hash, and returns the new engine.
func roundTrip(t *testing.T, cfg Config, e *Engine) *Engine {
	t.Helper()
	snap := e.Snapshot(nil)
	n := New(cfg)
	if err := n.Restore(snap); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if again := n.Snapshot(nil); !slices.Equal(snap, again) {
		t.Fatalf("snapshot differs after restore: %d vs %d bytes", len(snap), len(again))
	}
	if n.Hash() != e.Hash() {
		t.Fatal("hash differs after restore")
	}
	if err := n.checkInvariants(); err != nil {
		t.Fatalf("after restore: %v", err)
	}
	return n
}
