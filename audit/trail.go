package audit

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ringex/ringex/matcher"
)

// Columns of the audit trail, in CSV order and JSON key order. One command
// is one "command" row followed by one "event" row per event it caused.
// Prices and quantities are decimals in the symbol's units (tick and lot
// size from the config); ids and nanosecond times are strings in JSON so no
// parser rounds them.
var trailColumns = [...]string{
	"seq", "time", "time_ns", "row", "what", "broker", "symbol", "side", "ord_type", "tif",
	"clordid", "orig_clordid", "order_id", "exec_id", "price", "qty",
	"last_qty", "last_px", "cum_qty", "leaves_qty", "avg_px",
	"msg_type", "exec_type", "ord_status", "reason",
}

const (
	colSeq = iota
	colTime
	colTimeNs
	colRow
	colWhat
	colBroker
	colSymbol
	colSide
	colOrdType
	colTIF
	colClOrdID
	colOrigClOrdID
	colOrderID
	colExecID
	colPrice
	colQty
	colLastQty
	colLastPx
	colCumQty
	colLeavesQty
	colAvgPx
	colMsgType
	colExecType
	colOrdStatus
	colReason
	nCols
)

// numeric columns are written bare in JSON.
var jsonBare = [nCols]bool{colSeq: true}

// Filter selects trail rows. Zero fields select everything. An event row is
// kept when it matches; a command row when it, or any event it caused,
// matches (so a passive fill of a broker shows with the order that hit it).
type Filter struct {
	Symbols  map[uint32]bool
	Brokers  map[uint32]bool
	ClOrdIDs map[matcher.ClOrdID]bool // the row's ClOrdID or OrigClOrdID
	OrderIDs map[int64]bool
	FromNs   int64 // ingress time, inclusive; 0 = open
	ToNs     int64 // inclusive; 0 = open
	FromSeq  int64 // inclusive; 0 = open
	ToSeq    int64 // inclusive; 0 = open
}

func (f *Filter) inRange(c *matcher.Command) bool {
	return (f.FromSeq == 0 || c.Seq >= f.FromSeq) && (f.ToSeq == 0 || c.Seq <= f.ToSeq) &&
		(f.FromNs == 0 || c.TimeNs >= f.FromNs) && (f.ToNs == 0 || c.TimeNs <= f.ToNs)
}

func (f *Filter) matchCommand(c *matcher.Command) bool {
	orderID := c.OrderID
	if c.Kind == matcher.KindNew {
		orderID = c.Seq // order ids are the seq of the command that created them
	}
	return f.match(c.Symbol, c.Account, &c.ClOrdID, &c.OrigClOrdID, orderID)
}

func (f *Filter) matchEvent(ev *matcher.Event) bool {
	return f.match(ev.Symbol, ev.Account, &ev.ClOrdID, &ev.OrigClOrdID, ev.OrderID)
}

func (f *Filter) match(sym, acct uint32, cl, orig *matcher.ClOrdID, orderID int64) bool {
	return (f.Symbols == nil || f.Symbols[sym]) && (f.Brokers == nil || f.Brokers[acct]) &&
		(f.ClOrdIDs == nil || f.ClOrdIDs[*cl] || f.ClOrdIDs[*orig]) && (f.OrderIDs == nil || f.OrderIDs[orderID])
}

// TrailOptions say what to replay and how to write it.
type TrailOptions struct {
	Dir          string // journal folder
	Venue        *Venue
	Partitions   int    // 0: Venue.Partitions
	FromSnapshot bool   // start from the newest snapshot before the first selected seq
	Format       string // "csv" (default) or "json" (JSON lines)
	Filter       Filter
	Progress     io.Writer // a terminal for the progress line; nil: none
}

// TrailStats counts what Trail wrote.
type TrailStats struct {
	Commands, Events int64 // replayed
	Rows             int64 // written
	FromSeq          int64 // first record read (after a snapshot when one was used)
	LastSeq          int64 // last record replayed
	Snapshot         int64 // seq of the snapshot replay started from; 0: none
}

// Trail writes the audit trail of the journal in o.Dir to w.
func Trail(w io.Writer, o TrailOptions) (TrailStats, error) {
	var st TrailStats
	if o.Format == "" {
		o.Format = "csv"
	}
	if o.Format != "csv" && o.Format != "json" {
		return st, fmt.Errorf("format %q: want csv or json", o.Format)
	}
	src, err := openSource(o.Dir)
	if err != nil {
		return st, err
	}
	p := o.Partitions
	if p == 0 {
		p = o.Venue.Partitions
	}
	f := &o.Filter
	first := max(f.FromSeq, 1)
	if len(src.segs) > 0 {
		first = max(first, src.segs[0].First) // a journal seeded from a snapshot begins later
	}
	from, err := startAt(src, o.Venue, p, o.FromSnapshot, func(sf *snapFile) bool {
		if f.FromNs != 0 && f.FromSeq == 0 {
			// Times may step back a little between writers: keep a second clear.
			ns := recordTime(src, sf.seq)
			return ns != 0 && ns < f.FromNs-int64(time.Second)
		}
		return sf.seq < first
	})
	if err != nil {
		return st, err
	}
	if from.snap != nil {
		st.Snapshot = from.snap.seq
	}
	st.FromSeq = from.seq
	tw := newTrailWriter(w, o.Format, o.Venue)
	// Ingress times may step back by a little between writers; read a second
	// past the end of a time range before stopping.
	stopNs := int64(0)
	if f.ToNs != 0 {
		stopNs = f.ToNs + int64(time.Second)
	}
	prog := src.progress(o.Progress, "trail")
	_, err = run(src, from, runOpts{bound: bound{toSeq: f.ToSeq, toNs: stopNs}}, func(c *matcher.Command, evs []matcher.Event, _ *captured) error {
		prog.tick(c.Seq)
		st.Commands++
		st.LastSeq = c.Seq
		st.Events += int64(len(evs))
		if !f.inRange(c) {
			return nil
		}
		show := f.matchCommand(c)
		for i := range evs {
			if show {
				break
			}
			show = f.matchEvent(&evs[i])
		}
		if show {
			tw.command(c)
			st.Rows++
		}
		for i := range evs {
			if f.matchEvent(&evs[i]) {
				tw.event(&evs[i])
				st.Rows++
			}
		}
		return tw.err
	})
	prog.done()
	if ferr := tw.flush(); err == nil {
		err = ferr
	}
	return st, err
}

// trailWriter formats rows as CSV or JSON lines.
type trailWriter struct {
	w     *bufio.Writer
	json  bool
	v     *Venue
	cols  [nCols]string
	line  []byte
	err   error
	wrote bool
}

func newTrailWriter(w io.Writer, format string, v *Venue) *trailWriter {
	return &trailWriter{w: bufio.NewWriterSize(w, 1<<20), json: format == "json", v: v}
}

func (t *trailWriter) flush() error {
	if t.err == nil && !t.json && !t.wrote {
		t.header()
	}
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}

func (t *trailWriter) header() {
	t.wrote = true
	if t.json {
		return
	}
	t.line = t.line[:0]
	for i, c := range trailColumns {
		if i > 0 {
			t.line = append(t.line, ',')
		}
		t.line = append(t.line, c...)
	}
	t.line = append(t.line, '\n')
	_, t.err = t.w.Write(t.line)
}

func fmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func (t *trailWriter) common(seq, timeNs int64, row string) {
	t.cols = [nCols]string{}
	t.cols[colSeq] = strconv.FormatInt(seq, 10)
	t.cols[colTime] = fmtTime(timeNs)
	t.cols[colTimeNs] = strconv.FormatInt(timeNs, 10)
	t.cols[colRow] = row
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func (t *trailWriter) command(c *matcher.Command) {
	if r, ok := matcher.GatewayRejectOf(c); ok {
		t.common(c.Seq, c.TimeNs, "command")
		t.cols[colWhat] = c.Kind.String()
		t.reject(&r)
		t.write()
		return
	}
	tick, lot := t.v.scales(c.Symbol)
	t.common(c.Seq, c.TimeNs, "command")
	t.cols[colWhat] = c.Kind.String()
	t.cols[colBroker] = t.v.BrokerName(c.Account)
	t.cols[colSymbol] = t.v.SymbolName(c.Symbol)
	t.cols[colSide] = sideName(c.Side)
	if c.Kind == matcher.KindNew || c.Kind == matcher.KindReplace {
		t.cols[colOrdType] = ordTypeName(c.Type)
		t.cols[colTIF] = tifName(c.TIF)
		if c.Price != 0 {
			t.cols[colPrice] = tick.Format(c.Price)
		}
		t.cols[colQty] = lot.Format(c.Qty)
	}
	if b, ok := matcher.BandOf(c); ok { // the reference price in price, the band's width (ticks) in qty
		if b.RefPrice != 0 {
			t.cols[colPrice] = tick.Format(b.RefPrice)
		}
		t.cols[colQty] = tick.Format(b.BandTicks)
	}
	if s, ok := matcher.SymbolScaleOf(c); ok { // the lot size in qty; the tick size is in clordid below
		t.cols[colQty] = strconv.FormatInt(s.Lot, 10)
	}
	if v, ok := matcher.RiskVenueOf(c); ok { // the mode in ord_type; the cash unit is in clordid below
		t.cols[colOrdType] = riskModeName(v.Mode)
	}
	if b, ok := matcher.BlockOf(c); ok && b.Firm { // a firm's block of a member, not its own: firm in ord_type
		t.cols[colOrdType] = "firm"
	}
	if f, ok := matcher.FirmBlockOf(c); ok { // a firm's kill switch: the firm in the broker column
		t.cols[colBroker] = f.Firm
	} else if c.Kind != matcher.KindBindAccount { // those fields hold the name the broker column shows
		t.cols[colClOrdID] = c.ClOrdID.String()
		t.cols[colOrigClOrdID] = c.OrigClOrdID.String()
	}
	t.cols[colOrderID] = idString(c.OrderID)
	t.write()
}

// reject fills the columns of a gateway's refusal (a KindReject record,
// or its event): the broker, the symbol (rejectSymbol), the side
// (rejectSide), the ClOrdIDs and the reason.
func (t *trailWriter) reject(r *matcher.GatewayReject) {
	t.cols[colBroker] = t.v.BrokerName(r.Account)
	t.cols[colSymbol] = rejectSymbol(t.v, r)
	t.cols[colSide] = rejectSide(r)
	t.cols[colClOrdID] = r.ClOrdID.String()
	t.cols[colOrigClOrdID] = r.OrigClOrdID.String()
	t.cols[colReason] = r.Reason.String()
}

func (t *trailWriter) event(ev *matcher.Event) {
	if r, ok := matcher.GatewayRejectOfEvent(ev); ok {
		t.common(ev.Seq, ev.TimeNs, "event")
		t.cols[colWhat] = ev.Type.String()
		t.reject(&r)
		msgType, execType, ordStatus := execTypeStatus(ev)
		if msgType == "8" {
			t.cols[colExecID] = strconv.FormatInt(ev.ExecID, 10)
		}
		t.cols[colMsgType], t.cols[colExecType], t.cols[colOrdStatus] = msgType, execType, ordStatus
		t.write()
		return
	}
	tick, lot := t.v.scales(ev.Symbol)
	t.common(ev.Seq, ev.TimeNs, "event")
	t.cols[colWhat] = ev.Type.String()
	t.cols[colBroker] = t.v.BrokerName(ev.Account)
	t.cols[colSymbol] = t.v.SymbolName(ev.Symbol)
	t.cols[colSide] = sideName(ev.Side)
	t.cols[colOrdType] = ordTypeName(ev.OrdType)
	t.cols[colTIF] = tifName(ev.TIF)
	t.cols[colClOrdID] = ev.ClOrdID.String()
	t.cols[colOrigClOrdID] = ev.OrigClOrdID.String()
	t.cols[colOrderID] = idString(ev.OrderID)
	msgType, execType, ordStatus := execTypeStatus(ev)
	if msgType == "8" {
		t.cols[colExecID] = strconv.FormatInt(ev.ExecID, 10)
	}
	if ev.Price != 0 {
		t.cols[colPrice] = tick.Format(ev.Price)
	}
	t.cols[colQty] = lot.Format(ev.OrderQty)
	if ev.Type == matcher.EvFill {
		t.cols[colLastQty] = lot.Format(ev.LastQty)
		t.cols[colLastPx] = tick.Format(ev.LastPx)
	}
	t.cols[colCumQty] = lot.Format(ev.CumQty)
	t.cols[colLeavesQty] = lot.Format(ev.LeavesQty)
	t.cols[colAvgPx] = tick.FormatRatio(ev.CumNotional, ev.CumQty)
	t.cols[colMsgType], t.cols[colExecType], t.cols[colOrdStatus] = msgType, execType, ordStatus
	if ev.Reason != matcher.ReasonNone {
		t.cols[colReason] = ev.Reason.String()
	}
	t.write()
}

func (t *trailWriter) write() {
	if t.err != nil {
		return
	}
	if !t.wrote {
		t.header()
	}
	t.line = t.line[:0]
	if t.json {
		t.line = append(t.line, '{')
		for i, c := range trailColumns {
			if i > 0 {
				t.line = append(t.line, ',')
			}
			t.line = append(append(append(t.line, '"'), c...), '"', ':')
			if jsonBare[i] {
				t.line = append(t.line, t.cols[i]...)
			} else {
				t.line = appendJSONString(t.line, t.cols[i])
			}
		}
		t.line = append(t.line, '}', '\n')
	} else {
		for i := range t.cols {
			if i > 0 {
				t.line = append(t.line, ',')
			}
			t.line = appendCSV(t.line, t.cols[i])
		}
		t.line = append(t.line, '\n')
	}
	_, t.err = t.w.Write(t.line)
}

// appendCSV quotes a field when RFC 4180 requires it.
func appendCSV(b []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendJSONString writes s as a JSON string (ClOrdIDs are arbitrary bytes).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
