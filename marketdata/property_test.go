package marketdata

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

// recorder is a subscriber that keeps what it was sent.
type recorder struct {
	begin  string
	msgs   []sent
	queued int // what Queued says
}

type sent struct {
	msgType string
	fields  []tv
}

type tv struct {
	tag int
	val string
}

func (r *recorder) Queued() int { return r.queued }

func (r *recorder) Send(msgType string, body *fix.Fields) error {
	var fs []tv
	for _, f := range bytes.Split(bytes.TrimSuffix(body.Bytes(), []byte{1}), []byte{1}) {
		k, v, _ := bytes.Cut(f, []byte("="))
		t, _ := strconv.Atoi(string(k))
		fs = append(fs, tv{t, string(v)})
	}
	r.msgs = append(r.msgs, sent{msgType, fs})
	return nil
}

// take returns the messages received since the last take.
func (r *recorder) take() []sent {
	m := r.msgs
	r.msgs = nil
	return m
}

// rebuilt is a subscriber's book, rebuilt from W and X alone, by symbol
// name: price (as sent) → size.
type rebuilt struct {
	sides  map[string]*[2]map[string]string
	rpt    map[string]int64 // the last RptSeq seen, per symbol
	trades map[string]int64 // lots traded, per symbol, from X trade entries
}

func newRebuilt() *rebuilt {
	return &rebuilt{sides: map[string]*[2]map[string]string{}, rpt: map[string]int64{}, trades: map[string]int64{}}
}

func (b *rebuilt) side(sym string, typ string) map[string]string {
	s := b.sides[sym]
	if s == nil {
		s = &[2]map[string]string{{}, {}}
		b.sides[sym] = s
	}
	return s[typ[0]-'0']
}

// apply applies one W or X; it reports a malformed message or an update
// that does not fit the book (a change of a price it does not hold).
func (b *rebuilt) apply(t *testing.T, m sent) {
	t.Helper()
	switch m.msgType {
	case "W":
		sym := value(m.fields, tagSymbol)
		b.sides[sym] = &[2]map[string]string{{}, {}}
		b.rpt[sym], _ = strconv.ParseInt(value(m.fields, tagRptSeq), 10, 64)
		for _, e := range groups(m.fields, tagMDEntryType) {
			if typ := value(e, tagMDEntryType); typ != "2" {
				b.side(sym, typ)[value(e, tagMDEntryPx)] = value(e, tagMDEntrySize)
			}
		}
	case "X":
		for _, e := range groups(m.fields, tagMDUpdateAction) {
			sym, typ, px := value(e, tagSymbol), value(e, tagMDEntryType), value(e, tagMDEntryPx)
			rpt, _ := strconv.ParseInt(value(e, tagRptSeq), 10, 64)
			if rpt < b.rpt[sym] {
				t.Fatalf("X entry %v: RptSeq %d after %d", e, rpt, b.rpt[sym])
			}
			b.rpt[sym] = rpt
			if typ == "2" {
				q, _ := strconv.ParseInt(value(e, tagMDEntrySize), 10, 64)
				b.trades[sym] += q
				continue
			}
			s := b.side(sym, typ)
			_, held := s[px]
			switch act := value(e, tagMDUpdateAction); {
			case act == "0" && !held, act == "1" && held:
				s[px] = value(e, tagMDEntrySize)
			case act == "2" && held:
				delete(s, px)
			default:
				t.Fatalf("X entry %v does not fit the book %v", e, s)
			}
		}
	default:
		t.Fatalf("unexpected %s %v", m.msgType, m.fields)
	}
}

func value(fs []tv, tag int) string {
	for _, f := range fs {
		if f.tag == tag {
			return f.val
		}
	}
	return ""
}

// groups splits fields into repeating-group entries starting at delim.
func groups(fs []tv, delim int) [][]tv {
	var out [][]tv
	for _, f := range fs {
		if f.tag == delim {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], f)
		}
	}
	return out
}

// requestMsg frames a MarketDataRequest body as the session layer would
// hand it on.
func requestMsg(t testing.TB, begin, body string) *fix.Message {
	t.Helper()
	body = "35=V\x0134=2\x0149=B\x0152=20260101-00:00:00\x0156=RINGEX\x01" + body
	head := "8=" + begin + "\x019=" + strconv.Itoa(len(body)) + "\x01"
	sum := 0
	for _, c := range []byte(head + body) {
		sum += int(c)
	}
	raw := []byte(fmt.Sprintf("%s%s10=%03d\x01", head, body, sum%256))
	var m fix.Message
	if err := m.Parse(raw); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return &m
}

// vBody is a MarketDataRequest body: id, type, depth, update type, entry
// types, symbols.
func vBody(id string, subType byte, depth, updateType int, types string, syms ...string) string {
	s := "262=" + id + "\x01263=" + string(subType) + "\x01264=" + strconv.Itoa(depth) + "\x01"
	if updateType >= 0 {
		s += "265=" + strconv.Itoa(updateType) + "\x01"
	}
	s += "267=" + strconv.Itoa(len(types)) + "\x01"
	for _, c := range types {
		s += "269=" + string(c) + "\x01"
	}
	s += "146=" + strconv.Itoa(len(syms)) + "\x01"
	for _, sym := range syms {
		s += "55=" + sym + "\x01"
	}
	return s
}

var testSymbols = []string{"AAA", "BBB"}

func testFeed(t testing.TB) *Feed {
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	var syms []Symbol
	for _, n := range testSymbols {
		syms = append(syms, Symbol{Name: n, Tick: cent, Lot: gateway.ScaleOf(1)})
	}
	return New(Options{Symbols: syms})
}

// viewer is one subscription under test and the book it rebuilt.
type viewer struct {
	name  string
	rec   *recorder
	book  *rebuilt
	depth int
	full  bool // MDUpdateType 0: every change is a W
}

// TestBookFromSnapshotAndIncrementalsEqualsMatcher runs random order
// streams through a matcher engine and the feed, cut into batches of random
// size, and checks after every batch that each subscriber's book, rebuilt
// from the W and X it was sent alone, is the matcher's book as its view
// shows it: the whole book, the first 3 levels, the top (as full
// refreshes), and one that subscribed in the middle of the stream.
func TestBookFromSnapshotAndIncrementalsEqualsMatcher(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) { runStream(t, seed, 1500) })
	}
}

func runStream(t *testing.T, seed uint64, commands int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	f := testFeed(t) // not started: the test runs each pass itself (f.pass), as the goroutine would
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}, STP: matcher.STPMode(seed % 4)})
	viewers := []*viewer{
		{name: "whole_book", depth: 0},
		{name: "depth_3", depth: 3},
		{name: "top_full_refresh", depth: 1, full: true},
	}
	subscribe := func(v *viewer) {
		v.rec, v.book = &recorder{begin: "FIX.4.4"}, newRebuilt()
		ut := 1
		if v.full {
			ut = 0
		}
		f.request(v.rec, requestMsg(t, "FIX.4.4", vBody(v.name, '1', v.depth, ut, "012", testSymbols...)))
	}
	for _, v := range viewers {
		subscribe(v)
	}
	var evs []matcher.Event
	var traded [3]int64
	g := &orderGen{rng: rng}
	for i := 0; i < commands; {
		batch := 1 + rng.IntN(6)
		for ; batch > 0 && i < commands; batch-- {
			i++
			cmd := g.next(int64(i))
			evs = e.Apply(&cmd, evs[:0])
			g.observe(evs)
			for k := range evs {
				f.Apply(&evs[k])
				if evs[k].Type == matcher.EvFill {
					traded[evs[k].Symbol] += evs[k].LastQty
				}
			}
		}
		f.EndBatch()
		f.pass()
		if i == commands/2 {
			late := &viewer{name: "late_whole_book"}
			subscribe(late)
			viewers = append(viewers, late)
		}
		for _, v := range viewers {
			for _, m := range v.rec.take() {
				v.book.apply(t, m)
			}
			for id, name := range testSymbols {
				checkBook(t, i, v, name, e, uint32(id+1))
			}
		}
	}
	whole := viewers[0].book
	for id, name := range testSymbols {
		if 2*whole.trades[name] != traded[id+1] {
			t.Errorf("%s: the trades in X add up to %d lots, the matcher's fills to %d (two per trade)", name, whole.trades[name], traded[id+1])
		}
	}
}

func checkBook(t *testing.T, step int, v *viewer, name string, e *matcher.Engine, sym uint32) {
	t.Helper()
	for i, sd := range [...]matcher.Side{matcher.Buy, matcher.Sell} {
		want := map[string]string{}
		for _, lv := range e.Depth(sym, sd, v.depth, nil) {
			want[formatCents(lv.Price)] = strconv.FormatInt(lv.Qty, 10)
		}
		got := v.book.side(name, strconv.Itoa(i))
		if !mapsEqual(got, want) {
			t.Fatalf("after command %d, %s's %s side %d: rebuilt %v, matcher %v", step, v.name, name, i, got, want)
		}
	}
}

func formatCents(ticks int64) string {
	var f fix.Fields
	cent, _ := gateway.ParseScale("0.01")
	cent.AddTo(&f, 1, ticks)
	return string(bytes.TrimSuffix(bytes.TrimPrefix(f.Bytes(), []byte("1=")), []byte{1}))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// orderGen writes random commands for two symbols around one price: limit
// orders of every time in force, market orders, cancels and replaces of
// resting orders, mass cancels and now and then an end of day.
type orderGen struct {
	seq  int64 // for callers that keep the count here
	rng  *rand.Rand
	live []matcher.Event // resting orders, as their last event showed them
}

func (g *orderGen) observe(evs []matcher.Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.OrderID == 0 || ev.Type == matcher.EvRejected || ev.Type == matcher.EvCancelRejected || ev.Type == matcher.EvStatus {
			continue
		}
		k := slices.IndexFunc(g.live, func(l matcher.Event) bool { return l.OrderID == ev.OrderID })
		alive := ev.LeavesQty > 0 && ev.Type != matcher.EvCancelled && ev.Type != matcher.EvExpired && rests(ev)
		switch {
		case alive && k < 0:
			g.live = append(g.live, *ev)
		case alive:
			g.live[k] = *ev
		case k >= 0:
			g.live = slices.Delete(g.live, k, k+1)
		}
	}
}

func (g *orderGen) next(seq int64) matcher.Command {
	r := g.rng
	cmd := matcher.Command{Seq: seq, TimeNs: seq, Account: 1 + uint32(r.IntN(3)), Symbol: 1 + uint32(r.IntN(2))}
	cmd.ClOrdID, _ = matcher.MakeClOrdID("c" + strconv.FormatInt(seq, 10))
	switch p := r.IntN(100); {
	case p < 15 && len(g.live) > 0:
		o := g.live[r.IntN(len(g.live))]
		cmd.Kind, cmd.Symbol, cmd.Account, cmd.OrderID = matcher.KindCancel, o.Symbol, o.Account, o.OrderID
	case p < 30 && len(g.live) > 0:
		o := g.live[r.IntN(len(g.live))]
		cmd.Kind, cmd.Symbol, cmd.Account, cmd.OrderID = matcher.KindReplace, o.Symbol, o.Account, o.OrderID
		cmd.Price, cmd.Qty = o.Price+int64(r.IntN(5))-2, 1+int64(r.IntN(20))
	case p < 32:
		cmd = matcher.MassCancel{Account: cmd.Account, Symbol: cmd.Symbol, Scope: matcher.ScopeAllOrders}.Command()
		cmd.Seq, cmd.TimeNs = seq, seq
	case p < 33:
		cmd = matcher.Command{Seq: seq, TimeNs: seq, Kind: matcher.KindEndOfDay}
	default:
		cmd.Kind, cmd.Side, cmd.Type = matcher.KindNew, matcher.Side(1+r.IntN(2)), matcher.Limit
		cmd.TIF = [...]matcher.TIF{matcher.Day, matcher.Day, matcher.GTC, matcher.IOC, matcher.FOK}[r.IntN(5)]
		cmd.Price, cmd.Qty = 1000+int64(r.IntN(12))-6, 1+int64(r.IntN(15))
		if r.IntN(12) == 0 {
			cmd.Type, cmd.Price = matcher.Market, 0
		}
	}
	return cmd
}
