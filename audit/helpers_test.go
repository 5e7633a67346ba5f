package audit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// loadGen writes a seeded random stream of the commands brokers send, on
// several symbols and brokers: new orders that rest and that cross (limit,
// some IOC, a few market), cancels and replaces of live orders (it follows
// the book through a shadow replay, as a broker follows its reports), and a
// share of cancels and replaces of orders already finished or never sent,
// so the stream has its rejects too.
type loadGen struct {
	rng     *rand.Rand
	seq     int64
	ns      int64
	symbols int
	brokers int
	mid     []int64 // per symbol, ticks
	shadow  *engines
	live    []sentRef
	pos     map[int64]int // order id -> index in live
	dead    []sentRef     // recently finished, for late cancels
	noMass  bool          // send no mass cancels (the FIX gateway takes none)
	dayLen  int64         // > 0: every dayLen-th command ends the trading day
}

type sentRef struct {
	id    int64
	acct  uint32
	sym   uint32
	side  matcher.Side
	price int64
	qty   int64
	cl    matcher.ClOrdID
}

// loadResting is about how many orders the generator keeps resting.
const loadResting = 1000

func newLoadGen(seed uint64, symbols, brokers int) *loadGen {
	g := &loadGen{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), ns: 1_772_000_000_000_000_000,
		symbols: symbols, brokers: brokers, pos: map[int64]int{}}
	for range symbols {
		g.mid = append(g.mid, 10_000)
	}
	v, _ := VenueOf(config.Default())
	g.shadow, _ = newEngines(v.spec(), v.Partitions)
	return g
}

func (g *loadGen) clOrd(prefix byte) matcher.ClOrdID {
	id, _ := matcher.MakeClOrdID(fmt.Sprintf("%c%d", prefix, g.seq))
	return id
}

// next returns the next command, already applied to the shadow.
func (g *loadGen) next() matcher.Command {
	c := g.draw()
	g.observe(g.shadow.apply(&c))
	return c
}

func (g *loadGen) draw() matcher.Command {
	g.seq++
	g.ns += 1 + g.rng.Int64N(50_000)
	c := matcher.Command{Seq: g.seq, TimeNs: g.ns}
	if g.dayLen > 0 && g.seq%g.dayLen == 0 {
		c.Kind = matcher.KindEndOfDay
		return c
	}
	newW := 45
	if len(g.live) < loadResting/2 {
		newW = 70
	} else if len(g.live) > 2*loadResting {
		newW = 20
	}
	// Not a new order: 42% cancels, 57.7% replaces, 0.3% mass cancels.
	r := 1000 + g.rng.IntN(1000)
	if g.rng.IntN(100) < newW {
		r = 0
	}
	if g.noMass && r >= 1997 {
		r = 1996
	}
	target := func() *sentRef {
		if len(g.dead) > 0 && g.rng.IntN(10) == 0 {
			return &g.dead[g.rng.IntN(len(g.dead))] // finished: too late
		}
		return &g.live[g.rng.IntN(len(g.live))]
	}
	switch {
	case r < 1000 || len(g.live) == 0:
		sym := uint32(1 + g.rng.IntN(g.symbols))
		mid := &g.mid[sym-1]
		*mid += g.rng.Int64N(5) - 2
		c.Kind, c.Symbol, c.Account, c.ClOrdID = matcher.KindNew, sym, uint32(1+g.rng.IntN(g.brokers)), g.clOrd('N')
		c.Side = matcher.Side(1 + g.rng.IntN(2))
		c.Type, c.TIF, c.Qty = matcher.Limit, matcher.Day, 1+g.rng.Int64N(50)
		off := g.rng.Int64N(24) - 5 // mostly passive, some crossing
		if c.Side == matcher.Buy {
			c.Price = *mid - off
		} else {
			c.Price = *mid + off
		}
		switch k := g.rng.IntN(40); {
		case k == 0:
			c.Type, c.Price = matcher.Market, 0
		case k < 5:
			c.TIF = matcher.IOC
		case k < 7:
			c.TIF = matcher.GTC
		}
	case r < 1420:
		s := target()
		c.Kind, c.Symbol, c.Account, c.Side, c.OrigClOrdID, c.ClOrdID = matcher.KindCancel, s.sym, s.acct, s.side, s.cl, g.clOrd('C')
		if g.rng.IntN(50) == 0 {
			c.OrigClOrdID = g.clOrd('?') // never sent
		}
	case r < 1997:
		s := target()
		c.Kind, c.Symbol, c.Account, c.Side, c.OrigClOrdID, c.ClOrdID = matcher.KindReplace, s.sym, s.acct, s.side, s.cl, g.clOrd('R')
		c.Type, c.TIF = matcher.Limit, matcher.Day
		c.Qty, c.Price = s.qty, s.price
		if g.rng.IntN(2) == 0 && s.qty > 1 {
			c.Qty--
		} else {
			c.Price += g.rng.Int64N(7) - 3
		}
	default:
		c.Kind, c.Account, c.ClOrdID = matcher.KindMassCancel, uint32(1+g.rng.IntN(g.brokers)), g.clOrd('M')
		c.Symbol = uint32(1 + g.rng.IntN(g.symbols))
	}
	return c
}

// observe follows the live orders through the events, as brokers do.
func (g *loadGen) observe(evs []matcher.Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.OrderID == 0 || ev.Type == matcher.EvRejected || ev.Type == matcher.EvCancelRejected {
			continue
		}
		k, ok := g.pos[ev.OrderID]
		alive := ev.LeavesQty > 0 && ev.Type != matcher.EvCancelled && ev.Type != matcher.EvExpired &&
			ev.OrdType == matcher.Limit && ev.TIF != matcher.IOC && ev.TIF != matcher.FOK
		ref := sentRef{id: ev.OrderID, acct: ev.Account, sym: ev.Symbol, side: ev.Side, price: ev.Price, qty: ev.OrderQty, cl: ev.ClOrdID}
		switch {
		case alive && !ok:
			g.pos[ev.OrderID] = len(g.live)
			g.live = append(g.live, ref)
		case alive:
			g.live[k] = ref
		case ok:
			last := len(g.live) - 1
			g.live[k] = g.live[last]
			g.pos[g.live[k].id] = k
			g.live = g.live[:last]
			delete(g.pos, ev.OrderID)
			if len(g.dead) < 256 {
				g.dead = append(g.dead, ref)
			} else {
				g.dead[g.rng.IntN(256)] = ref
			}
		}
	}
}

func (g *loadGen) commands(n int) []matcher.Command {
	out := make([]matcher.Command, 0, n)
	for len(out) < n {
		out = append(out, g.next())
	}
	return out
}

// The journal's layout (journal/doc.go), which these tests damage on purpose
// at chosen records. audit itself reads journals only through the journal
// package.
const (
	segHeaderBytes = 24
	frameBytes     = 16
	recordBytes    = frameBytes + matcher.CommandSize
)

// writeJournal journals cmds in dir in random batches, rolling segments of
// about segBytes.
func writeJournal(t testing.TB, dir string, cmds []matcher.Command, segBytes int64) {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: dir, SegmentBytes: segBytes, Sync: journal.SyncNone, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	var buf [matcher.CommandSize]byte
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < len(cmds); {
		n := min(1+rng.IntN(64), len(cmds)-i)
		for _, c := range cmds[i : i+n] {
			if err := j.Append(c.Seq, c.Encode(buf[:])); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Commit(); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// testVenue is the embedded default configuration's venue.
func testVenue(t testing.TB) *Venue {
	t.Helper()
	v, err := VenueOf(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// applyAll runs cmds through fresh engines the way node does and returns
// every event, in order, and the engines.
func applyAll(t testing.TB, v *Venue, p int, cmds []matcher.Command) ([]matcher.Event, *engines) {
	t.Helper()
	e, err := newEngines(v.spec(), p)
	if err != nil {
		t.Fatal(err)
	}
	var all []matcher.Event
	for i := range cmds {
		all = append(all, e.apply(&cmds[i])...)
	}
	return all, e
}

// segmentFiles lists the plain segments of dir, oldest first.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no segments in %s (%v)", dir, err)
	}
	return m
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// waitPublished returns once n's publish stage has passed everything
// submitted before it (Funds returns then), a checkpoint's hash record
// included.
func waitPublished(t *testing.T, n *node.Node) {
	t.Helper()
	if _, err := n.Funds(false, "BROKER01", "cash", "0.01"); err != nil {
		t.Fatal(err)
	}
}

// stopAndVerify waits until n has published everything submitted, stops
// it, and verifies its journal against cfg's venue.
func stopAndVerify(t *testing.T, n *node.Node, cfg config.Config) *Report {
	t.Helper()
	waitPublished(t, n)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	v, err := VenueOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
