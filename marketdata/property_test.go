package marketdata

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

// recorder is a subscriber that keeps what it was sent.
type recorder struct {
	begin  string
	comp   string // TargetCompID; "" a session without books by order
	msgs   []sent
	queued int // what Queued says
}

func (r *recorder) TargetCompID() string { return r.comp }

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
// name: price (as sent) → size; or, from entries with an OrderID, price
// → the orders in the sequence they were sent.
type rebuilt struct {
	sides  map[string]*[2]map[string]string
	orders map[string]*[2]map[string][]restingEntry
	day    map[string]map[string]string // MDEntryType 4, 5, 7, 8 → price, per symbol
	trades map[string]int64             // lots traded, per symbol, from X trade entries
}

// restingEntry is an order as a book by order shows it.
type restingEntry struct{ id, size string }

func newRebuilt() *rebuilt {
	return &rebuilt{sides: map[string]*[2]map[string]string{}, orders: map[string]*[2]map[string][]restingEntry{},
		day: map[string]map[string]string{}, trades: map[string]int64{}}
}

func (b *rebuilt) queues(sym string, typ string) map[string][]restingEntry {
	s := b.orders[sym]
	if s == nil {
		s = &[2]map[string][]restingEntry{{}, {}}
		b.orders[sym] = s
	}
	return s[typ[0]-'0']
}

func (b *rebuilt) dayOf(sym string) map[string]string {
	if b.day[sym] == nil {
		b.day[sym] = map[string]string{}
	}
	return b.day[sym]
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
		b.orders[sym] = &[2]map[string][]restingEntry{{}, {}}
		b.day[sym] = map[string]string{}
		pos := [2]int{}
		for _, e := range groups(m.fields, tagMDEntryType) {
			switch typ, px, id := value(e, tagMDEntryType), value(e, tagMDEntryPx), value(e, tagOrderID); {
			case typ == "2":
			case typ != "0" && typ != "1":
				b.dayOf(sym)[typ] = px
			case id != "":
				pos[typ[0]-'0']++
				if got := value(e, tagMDEntryPosNo); got != strconv.Itoa(pos[typ[0]-'0']) {
					t.Fatalf("W entry %v: MDEntryPositionNo %s, want %d", e, got, pos[typ[0]-'0'])
				}
				b.queues(sym, typ)[px] = append(b.queues(sym, typ)[px], restingEntry{id, value(e, tagMDEntrySize)})
			default:
				b.side(sym, typ)[px] = value(e, tagMDEntrySize)
			}
		}
	case "X":
		for _, e := range groups(m.fields, tagMDUpdateAction) {
			sym, typ, px := value(e, tagSymbol), value(e, tagMDEntryType), value(e, tagMDEntryPx)
			switch {
			case typ == "2":
				q, _ := strconv.ParseInt(value(e, tagMDEntrySize), 10, 64)
				b.trades[sym] += q
				continue
			case typ != "0" && typ != "1":
				b.applyDay(t, sym, e)
				continue
			case value(e, tagOrderID) != "":
				b.applyOrder(t, sym, e)
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

// applyDay applies an X entry of a day's price: new, change or delete.
func (b *rebuilt) applyDay(t *testing.T, sym string, e []tv) {
	t.Helper()
	d, typ := b.dayOf(sym), value(e, tagMDEntryType)
	_, held := d[typ]
	switch act := value(e, tagMDUpdateAction); {
	case act == "0" && !held, act == "1" && held:
		d[typ] = value(e, tagMDEntryPx)
	case act == "2" && held:
		delete(d, typ)
	default:
		t.Fatalf("X entry %v does not fit the day's prices %v", e, d)
	}
}

// applyOrder applies an X entry of a book by order: a new order joins the
// back of its price's queue, a change sets its size in place, a delete
// takes it out.
func (b *rebuilt) applyOrder(t *testing.T, sym string, e []tv) {
	t.Helper()
	qs, px, id := b.queues(sym, value(e, tagMDEntryType)), value(e, tagMDEntryPx), value(e, tagOrderID)
	at := slices.IndexFunc(qs[px], func(r restingEntry) bool { return r.id == id })
	switch act := value(e, tagMDUpdateAction); {
	case act == "0" && at < 0:
		qs[px] = append(qs[px], restingEntry{id, value(e, tagMDEntrySize)})
	case act == "1" && at >= 0:
		qs[px][at].size = value(e, tagMDEntrySize)
	case act == "2" && at >= 0:
		qs[px] = slices.Delete(qs[px], at, at+1)
		if len(qs[px]) == 0 {
			delete(qs, px)
		}
	default:
		t.Fatalf("X entry %v does not fit the book by order %v", e, qs)
	}
}

// ordersOf is one side of a rebuilt book by order, best price first, each
// price's orders in the sequence the book holds them: "px id size".
func (b *rebuilt) ordersOf(sym string, side int) []string {
	qs := b.queues(sym, strconv.Itoa(side))
	pxs := slices.Collect(maps.Keys(qs))
	slices.SortFunc(pxs, func(x, y string) int {
		a, _ := strconv.ParseFloat(x, 64)
		c, _ := strconv.ParseFloat(y, 64)
		if side == 0 {
			a, c = c, a
		}
		return cmp.Compare(a, c)
	})
	var out []string
	for _, px := range pxs {
		for _, r := range qs[px] {
			out = append(out, px+" "+r.id+" "+r.size)
		}
	}
	return out
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

func testFeed(t testing.TB) *Feed { return testFeedByOrder(t, []string{byOrderComp}) }

// testFeedByOrder is testFeed with the sessions that may ask for books by
// order (none: they are not kept).
func testFeedByOrder(t testing.TB, byOrder []string) *Feed {
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	var syms []Symbol
	for _, n := range testSymbols {
		syms = append(syms, Symbol{Name: n, Tick: cent, Lot: gateway.ScaleOf(1)})
	}
	return New(Options{Symbols: syms, ByOrderSessions: byOrder})
}

// byOrderComp is the session testFeed serves books by order.
const byOrderComp = "ORD"

// viewer is one subscription under test and the book it rebuilt.
type viewer struct {
	name    string
	rec     *recorder
	book    *rebuilt
	depth   int
	full    bool // MDUpdateType 0: every change is a W
	byOrder bool // AggregatedBook N
}

// TestBookFromSnapshotAndIncrementalsEqualsMatcher runs random order
// streams through a matcher engine and the feed, cut into batches of random
// size, and checks after every batch that each subscriber's book, rebuilt
// from the W and X it was sent alone, is the matcher's book as its view
// shows it: the whole book, the first 3 levels, the top (as full
// refreshes), and one that subscribed in the middle of the stream; and
// that the book by order rebuilt the same way is the matcher's resting
// orders (ids, prices, sizes, time priority); and that every view's open,
// high, low and close are those of the trades since the last end of day.
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
		{name: "by_order", byOrder: true},
		{name: "by_order_full_refresh", byOrder: true, full: true},
	}
	subscribe := func(v *viewer) {
		v.rec, v.book = &recorder{begin: "FIX.4.4", comp: byOrderComp}, newRebuilt()
		ut := 1
		if v.full {
			ut = 0
		}
		body := vBody(v.name, '1', v.depth, ut, "0124578", testSymbols...)
		if v.byOrder {
			body = byOrderBody(body)
		}
		f.request(v.rec, requestMsg(t, "FIX.4.4", body))
	}
	for _, v := range viewers {
		subscribe(v)
	}
	var evs []matcher.Event
	var traded [3]int64
	var days dayRef
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
			days.take(evs)
			if cmd.Kind == matcher.KindEndOfDay {
				f.EndOfDay() // after the day's expiries, as the publish stage does
				days.end(e)
			}
		}
		f.EndBatch()
		f.pass()
		if i == commands/2 {
			late := []*viewer{{name: "late_whole_book"}, {name: "late_by_order", byOrder: true}}
			for _, v := range late {
				subscribe(v)
			}
			viewers = append(viewers, late...)
		}
		for _, v := range viewers {
			for _, m := range v.rec.take() {
				v.book.apply(t, m)
			}
			for id, name := range testSymbols {
				checkBook(t, i, v, name, e, uint32(id+1))
				if got, want := v.book.dayOf(name), days.prices(uint32(id+1)); !mapsEqual(got, want) {
					t.Fatalf("after command %d, %s's %s day prices: rebuilt %v, from the trades %v", i, v.name, name, got, want)
				}
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

// byOrderBody adds AggregatedBook N to a MarketDataRequest body.
func byOrderBody(body string) string { return strings.Replace(body, "267=", "266=N\x01267=", 1) }

// dayRef is the day's prices of each symbol as the test reckons them from
// the matcher's fills and ends of day: open, close, high, low.
type dayRef [3][4]int64

func (d *dayRef) take(evs []matcher.Event) {
	fills := 0
	for _, ev := range evs {
		if ev.Type != matcher.EvFill {
			continue
		}
		if fills++; fills%2 == 1 {
			continue // a trade is two fills; the second completes it
		}
		p := &d[ev.Symbol]
		if p[0] == 0 {
			p[0], p[2], p[3] = ev.LastPx, ev.LastPx, ev.LastPx
		}
		p[2], p[3] = max(p[2], ev.LastPx), min(p[3], ev.LastPx)
	}
}

func (d *dayRef) end(e *matcher.Engine) {
	for sym := range d {
		d[sym] = [4]int64{1: e.LastTradePx(uint32(sym))}
	}
}

func (d *dayRef) prices(sym uint32) map[string]string {
	m := map[string]string{}
	for i, typ := range []string{"4", "5", "7", "8"} {
		if px := d[sym][i]; px != 0 {
			m[typ] = formatCents(px)
		}
	}
	return m
}

func checkBook(t *testing.T, step int, v *viewer, name string, e *matcher.Engine, sym uint32) {
	t.Helper()
	if v.byOrder {
		checkOrders(t, step, v, name, e, sym)
		return
	}
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

// checkOrders compares a rebuilt book by order with the matcher's resting
// orders, side by side, in priority: ids, prices, sizes and order.
func checkOrders(t *testing.T, step int, v *viewer, name string, e *matcher.Engine, sym uint32) {
	t.Helper()
	var want [2][]string
	for _, o := range e.Resting(sym, nil) {
		i := sideIndex(o.Side)
		want[i] = append(want[i], formatCents(o.Price)+" "+strconv.FormatInt(o.OrderID, 10)+" "+strconv.FormatInt(o.Leaves, 10))
	}
	for i := range want {
		if got := v.book.ordersOf(name, i); !slices.Equal(got, want[i]) {
			t.Fatalf("after command %d, %s's %s side %d by order:\nrebuilt %v\nmatcher %v", step, v.name, name, i, got, want[i])
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

// TestSeededFeedEqualsMatcher: a feed built from an engine's resting
// orders, as a node builds it after replaying its journal, holds the
// matcher's books by price and by order (time priority included), and
// stays equal to them as the stream goes on.
func TestSeededFeedEqualsMatcher(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}, STP: matcher.STPMode(seed % 4)})
		g := &orderGen{rng: rand.New(rand.NewPCG(seed, 11))}
		var evs []matcher.Event
		step := func(f *Feed) {
			g.seq++
			cmd := g.next(g.seq)
			evs = e.Apply(&cmd, evs[:0])
			g.observe(evs)
			for k := range evs {
				if f != nil {
					f.Apply(&evs[k])
				}
			}
		}
		for range 800 {
			step(nil)
		}
		f := testFeed(t)
		for sym := uint32(1); sym <= 2; sym++ {
			for _, o := range e.Resting(sym, nil) {
				f.Seed(o)
			}
			f.SeedLastTrade(sym, e.LastTradePx(sym))
		}
		f.EndBatch()
		f.pass()
		viewers := []*viewer{{name: "by_price"}, {name: "by_order", byOrder: true}}
		for _, v := range viewers {
			v.rec, v.book = &recorder{begin: "FIX.4.4", comp: byOrderComp}, newRebuilt()
			body := vBody(v.name, '1', 0, 1, "01", testSymbols...)
			if v.byOrder {
				body = byOrderBody(body)
			}
			f.request(v.rec, requestMsg(t, "FIX.4.4", body))
		}
		for i := 0; i < 300; i += 3 {
			for range 3 {
				step(f)
			}
			f.EndBatch()
			f.pass()
			for _, v := range viewers {
				for _, m := range v.rec.take() {
					v.book.apply(t, m)
				}
				for id, name := range testSymbols {
					checkBook(t, 800+i, v, name, e, uint32(id+1))
				}
			}
		}
	}
}
