package audit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// loadGen writes a seeded random stream of the commands brokers send: new
// orders that rest and that cross (limit, some IOC, some market), cancels
// and replaces of orders sent before (some of them long finished, so the
// stream has its share of rejects), on several symbols and brokers.
type loadGen struct {
	rng     *rand.Rand
	seq     int64
	ns      int64
	symbols int
	brokers int
	sent    []sentRef
	mid     []int64 // per symbol, ticks
}

type sentRef struct {
	acct  uint32
	sym   uint32
	side  matcher.Side
	price int64
	qty   int64
	cl    matcher.ClOrdID
}

func newLoadGen(seed uint64, symbols, brokers int) *loadGen {
	g := &loadGen{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), ns: 1_772_000_000_000_000_000, symbols: symbols, brokers: brokers}
	for range symbols {
		g.mid = append(g.mid, 10_000)
	}
	return g
}

func (g *loadGen) clOrd(prefix byte) matcher.ClOrdID {
	id, _ := matcher.MakeClOrdID(fmt.Sprintf("%c%d", prefix, g.seq))
	return id
}

func (g *loadGen) next() matcher.Command {
	g.seq++
	g.ns += 1 + g.rng.Int64N(50_000)
	c := matcher.Command{Seq: g.seq, TimeNs: g.ns}
	r := g.rng.IntN(100)
	if len(g.sent) == 0 {
		r = 0
	}
	switch {
	case r < 55:
		sym := uint32(1 + g.rng.IntN(g.symbols))
		mid := &g.mid[sym-1]
		*mid += g.rng.Int64N(5) - 2
		c.Kind, c.Symbol, c.Account, c.ClOrdID = matcher.KindNew, sym, uint32(1+g.rng.IntN(g.brokers)), g.clOrd('N')
		c.Side = matcher.Side(1 + g.rng.IntN(2))
		c.Type, c.TIF, c.Qty = matcher.Limit, matcher.Day, 1+g.rng.Int64N(50)
		off := g.rng.Int64N(20) - 6 // mostly passive, some crossing
		if c.Side == matcher.Buy {
			c.Price = *mid - off
		} else {
			c.Price = *mid + off
		}
		switch k := g.rng.IntN(20); {
		case k == 0:
			c.Type, c.Price = matcher.Market, 0
		case k < 3:
			c.TIF = matcher.IOC
		case k < 4:
			c.TIF = matcher.GTC
		}
		if c.Type == matcher.Limit && c.TIF != matcher.IOC {
			g.sent = append(g.sent, sentRef{acct: c.Account, sym: sym, side: c.Side, price: c.Price, qty: c.Qty, cl: c.ClOrdID})
		}
	case r < 75:
		i := g.rng.IntN(len(g.sent))
		s := g.sent[i]
		c.Kind, c.Symbol, c.Account, c.Side, c.OrigClOrdID, c.ClOrdID = matcher.KindCancel, s.sym, s.acct, s.side, s.cl, g.clOrd('C')
		g.sent[i] = g.sent[len(g.sent)-1]
		g.sent = g.sent[:len(g.sent)-1]
	case r < 97:
		s := &g.sent[g.rng.IntN(len(g.sent))]
		c.Kind, c.Symbol, c.Account, c.Side, c.OrigClOrdID, c.ClOrdID = matcher.KindReplace, s.sym, s.acct, s.side, s.cl, g.clOrd('R')
		c.Type, c.TIF = matcher.Limit, matcher.Day
		c.Qty, c.Price = s.qty, s.price
		if g.rng.IntN(2) == 0 && s.qty > 1 {
			c.Qty--
		} else {
			c.Price += g.rng.Int64N(7) - 3
		}
		s.cl, s.qty, s.price = c.ClOrdID, c.Qty, c.Price
	default:
		c.Kind, c.Account, c.ClOrdID = matcher.KindMassCancel, uint32(1+g.rng.IntN(g.brokers)), g.clOrd('M')
		c.Symbol = uint32(g.rng.IntN(g.symbols + 1))
	}
	return c
}

func (g *loadGen) commands(n int) []matcher.Command {
	out := make([]matcher.Command, n)
	for i := range out {
		out[i] = g.next()
	}
	return out
}

// writeJournal journals cmds in dir in random batches, rolling segments of
// about segBytes.
func writeJournal(t testing.TB, dir string, cmds []matcher.Command, segBytes int64) {
	t.Helper()
	j, err := journal.Open(journal.Options{Dir: dir, SegmentBytes: segBytes, Sync: journal.SyncNone, Logf: func(string, ...any) {}})
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
	e, err := newEngines(v.EngineConfig(), p)
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
