package marketdata

import "github.com/ringex/ringex/matcher"

// dayStats are one symbol's prices of the trading day, in ticks, 0 where
// none is known: the open trading day's first trade (open), its highest
// and lowest; and the close, the symbol's last trade price as the last
// trading day ended (the matcher's last trade price, which is the symbol's
// reference price before its first trade). They are a function of the
// events alone, in order, so of the journal: the publish stage keeps them
// (tap.traded, tap.endOfDay), never the goroutine, which may conflate
// trades away.
type dayStats struct {
	open, high, low, close int64
}

// MDEntryType values of the day's prices, in the order W and X carry them.
var dayTypes = [...]byte{'4', '5', '7', '8'} // open, close, high, low

func (d *dayStats) price(typ byte) int64 {
	switch typ {
	case '4':
		return d.open
	case '5':
		return d.close
	case '7':
		return d.high
	}
	return d.low
}

// traded takes a trade of symbol at px into its day. Hot path: no
// allocation.
func (t *tap) traded(sym uint32, px int64) {
	if int(sym) >= len(t.days) {
		return // not a listed symbol: the matcher refuses its orders
	}
	t.lastPx[sym] = px
	d := &t.days[sym]
	old := *d
	if d.open == 0 {
		d.open, d.high, d.low = px, px, px
	} else {
		d.high, d.low = max(d.high, px), min(d.low, px)
	}
	if *d != old {
		t.dayDirty = append(t.dayDirty, sym)
	}
}

// endOfDay ends the trading day: each symbol's close is its last trade
// price, and the next day has no open, high or low until it trades. Cold
// path, once a day.
func (t *tap) endOfDay() {
	for sym := 1; sym < len(t.days); sym++ {
		d := dayStats{close: t.lastPx[sym]}
		if d != t.days[sym] {
			t.days[sym] = d
			t.dayDirty = append(t.dayDirty, uint32(sym))
		}
	}
}

// EndOfDay ends the trading day for market data: the publish stage calls
// it at a KindEndOfDay, after its expiries. The next EndBatch hands the
// change on.
func (f *Feed) EndOfDay() { f.tap.endOfDay() }

// SeedDay takes the events of the open trading day, as a replay of the
// journal from the last end of day gives them, command by command, before
// Start: their trades make the day's open, high and low. Cold path.
func (f *Feed) SeedDay(evs []matcher.Event) {
	for i := range evs {
		if ev := &evs[i]; ev.Type == matcher.EvFill && f.tap.completesTrade(ev) {
			f.tap.traded(ev.Symbol, ev.LastPx)
		}
	}
	f.tap.dayDirty = f.tap.dayDirty[:0] // Start hands every symbol's on
}

// SeedClose sets symbol's close, its last trade price as the last trading
// day ended (matcher.Engine.LastTradePx then), before Start and SeedDay.
func (f *Feed) SeedClose(symbol uint32, px int64) {
	if symbol > 0 && int(symbol) < len(f.tap.days) {
		f.tap.days[symbol].close = px
	}
}

// dayEntries appends to dst what turns the day's prices before into after,
// for the entry types asked for.
func dayEntries(dst []entry, before, after *dayStats) []entry {
	if *before == *after {
		return dst
	}
	for _, typ := range dayTypes {
		was, now := before.price(typ), after.price(typ)
		switch {
		case was == now:
		case was == 0:
			dst = append(dst, entry{action: actionNew, typ: typ, px: now})
		case now == 0:
			dst = append(dst, entry{action: actionDelete, typ: typ, px: was})
		default:
			dst = append(dst, entry{action: actionChange, typ: typ, px: now})
		}
	}
	return dst
}
