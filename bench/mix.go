package bench

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// OpKind is what a request asks for.
type OpKind uint8

const (
	OpNew     OpKind = 'D' // NewOrderSingle
	OpCancel  OpKind = 'F' // OrderCancelRequest
	OpReplace OpKind = 'G' // OrderCancelReplaceRequest
)

// Op is one request of one session's stream. Its ClOrdID is the run's
// prefix and its index in the stream; Ref is the index of the request
// whose ClOrdID currently names the order a cancel or replace targets.
type Op struct {
	Kind   OpKind
	Side   uint8 // 1 buy, 2 sell
	TIF    uint8 // FIX TimeInForce: '0' Day, '3' IOC
	Taking bool  // priced to cross the book on arrival
	Symbol uint16
	Price  int64 // ticks
	Qty    int64 // lots
	Ref    int64 // cancel/replace: index of the request naming the target
}

// MixConfig shapes the generated order mix.
type MixConfig struct {
	Seed    uint64
	Symbols int // symbol indexes 0..Symbols-1
	// Weights (any scale) of the next request of a resting-style broker;
	// taking-style brokers (every other session, starting with the second)
	// swap Passive and Taking.
	Passive, Taking, Replace, Cancel int
	// RestingMax bounds the orders a session believes rest; at the bound
	// its next request is a cancel of the oldest, so books stay bounded.
	// A mix without replaces and cancels tracks no resting orders.
	RestingMax int
	// DayTakers sends taking orders as Day instead of IOC, for a peer that
	// knows no IOC; what a taker does not fill on arrival rests.
	DayTakers bool
}

// DefaultMix is a crossing mix over several symbols: makers rest and amend,
// takers cross.
func DefaultMix(seed uint64, symbols int) MixConfig {
	return MixConfig{Seed: seed, Symbols: symbols, Passive: 50, Taking: 15, Replace: 20, Cancel: 15, RestingMax: 200}
}

// PeerMix is what QuickFIX/C++'s ordermatch example can answer: new Day
// limit orders only, makers resting and takers crossing, over several
// symbols. It has no replace, and it answers a cancel under the original
// order's ClOrdID, or not at all when the order has traded.
func PeerMix(seed uint64, symbols int) MixConfig {
	return MixConfig{Seed: seed, Symbols: symbols, Passive: 50, Taking: 15, DayTakers: true}
}

// NewOnly reports whether the mix sends new orders only.
func (c MixConfig) NewOnly() bool { return c.Replace == 0 && c.Cancel == 0 }

// Source yields one session's requests in order.
type Source interface {
	// Next fills op with the next request; false at the end of the stream.
	Next(op *Op) bool
}

// Generator is one session's generated stream: a deterministic function of
// the config and the session index. Prices sit around a fixed mid per
// symbol: passive orders 1..20 ticks away on their side, taking orders
// (IOC) up to 6 ticks through the mid.
type Generator struct {
	cfg     MixConfig
	rng     *rand.Rand
	maker   bool
	k       int64   // index of the next request
	resting []int64 // requests naming orders believed to rest, oldest first
	sides   []uint8 // parallel to resting
	syms    []uint16
}

// NewGenerator returns session s's stream of cfg.
func NewGenerator(cfg MixConfig, s int) *Generator {
	if cfg.Symbols < 1 {
		cfg.Symbols = 1
	}
	if cfg.RestingMax < 1 {
		cfg.RestingMax = 1
	}
	return &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(s)*0x9E3779B97F4A7C15+1)), maker: s%2 == 0}
}

// MidTicks is the fixed mid price of symbol i, in ticks.
func MidTicks(i int) int64 { return 10_000 + 2_500*int64(i) }

// Next implements Source; a generated stream never ends.
func (g *Generator) Next(op *Op) bool {
	c := &g.cfg
	passive, taking := c.Passive, c.Taking
	if !g.maker {
		passive, taking = taking, passive
	}
	replace, cancel := c.Replace, c.Cancel
	if len(g.resting) == 0 {
		replace, cancel = 0, 0
	}
	*op = Op{}
	r := g.rng.IntN(max(passive+taking+replace+cancel, 1))
	switch {
	case len(g.resting) >= c.RestingMax:
		g.cancel(op, 0)
	case r < passive:
		g.newOrder(op, false)
	case r < passive+taking:
		g.newOrder(op, true)
	case r < passive+taking+replace:
		g.replace(op, g.rng.IntN(len(g.resting)))
	default:
		g.cancel(op, g.rng.IntN(len(g.resting)))
	}
	g.k++
	return true
}

func (g *Generator) newOrder(op *Op, taking bool) {
	op.Kind, op.Taking = OpNew, taking
	op.Symbol = uint16(g.rng.IntN(g.cfg.Symbols))
	op.Side = uint8(1 + g.rng.IntN(2))
	op.Qty = int64(1+g.rng.IntN(10)) * 10
	mid := MidTicks(int(op.Symbol))
	away := int64(1 + g.rng.IntN(20))
	if taking {
		away = -int64(g.rng.IntN(7)) // at or through the mid
		op.TIF = '3'
		if g.cfg.DayTakers {
			op.TIF = '0'
		}
	} else {
		op.TIF = '0'
	}
	if op.Side == 1 {
		op.Price = mid - away
	} else {
		op.Price = mid + away
	}
	if !taking && !g.cfg.NewOnly() {
		g.resting = append(g.resting, g.k)
		g.sides = append(g.sides, op.Side)
		g.syms = append(g.syms, op.Symbol)
	}
}

func (g *Generator) cancel(op *Op, i int) {
	op.Kind, op.Ref, op.Side, op.Symbol, op.TIF = OpCancel, g.resting[i], g.sides[i], g.syms[i], '0'
	g.resting = append(g.resting[:i], g.resting[i+1:]...)
	g.sides = append(g.sides[:i], g.sides[i+1:]...)
	g.syms = append(g.syms[:i], g.syms[i+1:]...)
}

func (g *Generator) replace(op *Op, i int) {
	op.Kind, op.Ref, op.Side, op.Symbol, op.TIF = OpReplace, g.resting[i], g.sides[i], g.syms[i], '0'
	op.Qty = int64(1+g.rng.IntN(10)) * 10
	away := int64(1 + g.rng.IntN(20))
	if op.Side == 1 {
		op.Price = MidTicks(int(op.Symbol)) - away
	} else {
		op.Price = MidTicks(int(op.Symbol)) + away
	}
	g.resting[i] = g.k // the order is now named by this request's ClOrdID
}

// Stream is a recorded stream (from a file): a Source over a slice.
type Stream struct {
	Ops []Op
	pos int
}

// Next implements Source.
func (s *Stream) Next(op *Op) bool {
	if s.pos >= len(s.Ops) {
		return false
	}
	*op = s.Ops[s.pos]
	s.pos++
	return true
}

// mixHeader starts a mix file. Each following line is one request:
// session kind side tif taking symbol price qty ref, where kind is D, F or
// G and tif is the FIX character.
const mixHeader = "# ringex bench mix v1: session kind side tif taking symbol price qty ref"

// WriteMix writes n requests of each of sessions generated streams of cfg,
// interleaved as a run sends them.
func WriteMix(w io.Writer, cfg MixConfig, sessions, n int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\n# seed=%d symbols=%d sessions=%d\n", mixHeader, cfg.Seed, cfg.Symbols, sessions)
	gens := make([]*Generator, sessions)
	for s := range gens {
		gens[s] = NewGenerator(cfg, s)
	}
	var op Op
	for range n {
		for s, g := range gens {
			g.Next(&op)
			t := 0
			if op.Taking {
				t = 1
			}
			fmt.Fprintf(bw, "%d %c %d %c %d %d %d %d %d\n", s, op.Kind, op.Side, op.TIF, t, op.Symbol, op.Price, op.Qty, op.Ref)
		}
	}
	return bw.Flush()
}

// ReadMix reads a mix file into one Stream per session.
func ReadMix(r io.Reader) ([]*Stream, error) {
	var streams []*Stream
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		var s, t int
		var kind, tif rune
		var op Op
		n, err := fmt.Sscanf(text, "%d %c %d %c %d %d %d %d %d", &s, &kind, &op.Side, &tif, &t, &op.Symbol, &op.Price, &op.Qty, &op.Ref)
		if n != 9 || err != nil || s < 0 || s > 4096 || (kind != 'D' && kind != 'F' && kind != 'G') || (op.Side != 1 && op.Side != 2) {
			return nil, fmt.Errorf("mix line %d: %q: want session kind side tif taking symbol price qty ref", line, text)
		}
		op.Kind, op.TIF, op.Taking = OpKind(kind), uint8(tif), t == 1
		for len(streams) <= s {
			streams = append(streams, &Stream{})
		}
		streams[s].Ops = append(streams[s].Ops, op)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mix line %d: %w", line, err)
	}
	return streams, nil
}
