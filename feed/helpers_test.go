package feed

import (
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

var testSymbols = []uint32{1, 2, 3}

func testEngineConfig(stp matcher.STPMode) matcher.Config {
	var specs []matcher.SymbolSpec
	for _, s := range testSymbols {
		specs = append(specs, matcher.SymbolSpec{ID: s})
	}
	return matcher.Config{Symbols: specs, STP: stp, MaxOrders: 4096}
}

// exchange is the part of a node the feed sees: commands journaled, then
// matched by partitions, then translated live.
type exchange struct {
	t     testing.TB
	cfg   matcher.Config
	dir   string
	j     *journal.Journal
	parts matcher.Partitions
	tr    *Translator
	rng   *rand.Rand
	seq   int64
	evs   []matcher.Event
	live  []Message // every message the live feed has sent
}

func newExchange(t testing.TB, seed uint64, stp matcher.STPMode) *exchange {
	return newExchangeSegments(t, seed, stp, 0)
}

// newExchangeSegments is newExchange whose journal rolls a segment every
// segmentBytes (0: the journal's default).
func newExchangeSegments(t testing.TB, seed uint64, stp matcher.STPMode, segmentBytes int64) *exchange {
	dir := filepath.Join(t.TempDir(), "journal")
	j, err := journal.Open(journal.Options{Dir: dir, Sync: journal.SyncNone, SegmentBytes: segmentBytes, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	cfg := testEngineConfig(stp)
	parts, err := matcher.NewPartitions(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	return &exchange{t: t, cfg: cfg, dir: dir, j: j, parts: parts, tr: NewTranslator(4096), rng: rand.New(rand.NewPCG(seed, 7))}
}

// submit journals cmd, matches it and returns the messages it put on the feed.
func (x *exchange) submit(cmd matcher.Command) []Message {
	x.seq++
	cmd.Seq, cmd.TimeNs = x.seq, 1_700_000_000_000_000_000+x.seq*1000
	var b [matcher.CommandSize]byte
	if err := x.j.Append(cmd.Seq, cmd.Encode(b[:0])); err != nil {
		x.t.Fatal(err)
	}
	if err := x.j.Commit(); err != nil {
		x.t.Fatal(err)
	}
	x.evs = x.parts.Apply(&cmd, x.evs[:0])
	n := len(x.live)
	x.live = x.tr.Command(&cmd, x.evs, x.live)
	return x.live[n:]
}

// randomCommand is a plausible random command: mostly limit orders around
// a price so that they cross, cancels and replaces of resting orders (price
// moves, quantity up and down), IOC and market orders, a mass cancel or an
// end of day now and then.
func (x *exchange) randomCommand() matcher.Command {
	r := x.rng
	sym := testSymbols[r.IntN(len(testSymbols))]
	acct := uint32(1 + r.IntN(4))
	cl, _ := matcher.MakeClOrdID(fmt.Sprintf("c%d", x.seq+1))
	side := matcher.Side(1 + r.IntN(2))
	px := int64(100 + r.IntN(9) - 4)
	qty := int64(1 + r.IntN(10))
	rest := x.parts.Of(sym).Resting(sym, nil)
	switch k := r.IntN(100); {
	case k < 14 && len(rest) > 0:
		o := rest[r.IntN(len(rest))]
		return matcher.Command{Kind: matcher.KindCancel, Symbol: sym, Account: o.Account, OrderID: o.OrderID, ClOrdID: cl}
	case k < 30 && len(rest) > 0:
		o := rest[r.IntN(len(rest))]
		np, nq := o.Price, o.Qty-int64(r.IntN(3))
		switch r.IntN(3) {
		case 0:
			np = px
		case 1:
			nq = o.Qty + int64(r.IntN(5))
		}
		return matcher.Command{Kind: matcher.KindReplace, Symbol: sym, Account: o.Account, OrderID: o.OrderID,
			ClOrdID: cl, Price: np, Qty: max(nq, 1), Side: o.Side, Type: matcher.Limit}
	case k < 31:
		return matcher.MassCancel{Account: acct, Symbol: sym, Scope: matcher.ScopeAllOrders}.Command()
	case k < 32:
		return matcher.Command{Kind: matcher.KindEndOfDay}
	case k < 37:
		return matcher.Command{Kind: matcher.KindNew, Symbol: sym, Account: acct, ClOrdID: cl, Side: side, Type: matcher.Market, Qty: qty}
	case k < 42:
		return matcher.Command{Kind: matcher.KindNew, Symbol: sym, Account: acct, ClOrdID: cl, Side: side, Type: matcher.Limit, TIF: matcher.IOC, Price: px, Qty: qty}
	}
	tif := matcher.Day
	if r.IntN(3) == 0 {
		tif = matcher.GTC
	}
	return matcher.Command{Kind: matcher.KindNew, Symbol: sym, Account: acct, ClOrdID: cl, Side: side, Type: matcher.Limit, TIF: tif, Price: px, Qty: qty}
}

// sameBooks fails unless book holds, symbol by symbol, exactly the
// matcher's resting orders in the matcher's priority order.
func (x *exchange) sameBooks(book *Book, who string) {
	x.t.Helper()
	for _, sym := range testSymbols {
		want := x.parts.Of(sym).Resting(sym, nil)
		got := book.Orders(sym, nil)
		ok := len(got) == len(want)
		for i := 0; ok && i < len(got); i++ {
			w := want[i]
			ok = got[i] == Order{OrderID: w.OrderID, Side: sideOf(w.Side), Price: w.Price, Qty: w.Leaves}
		}
		if !ok {
			x.t.Fatalf("after seq %d, %s's book of symbol %d:\n got %v\nwant %v", x.seq, who, sym, got, want)
		}
	}
}

// startServer runs a recovery service over x's journal on 127.0.0.1.
func (x *exchange) startServer(retain int, join func(*net.UDPAddr) func()) string {
	return x.startServerWith(ServerConfig{RetainMax: retain, Join: join})
}

// startServerWith is startServer with cfg, whose journal and engines are x's.
func (x *exchange) startServerWith(cfg ServerConfig) string {
	cfg.Dir, cfg.Origin = x.dir, JournalStart(x.cfg, 2)
	s, err := NewServer(cfg)
	if err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(s.Close) // its follower too
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(func() { ln.Close() })
	go s.Serve(ln)
	return ln.Addr().String()
}
