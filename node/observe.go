package node

import (
	"fmt"
	"math/bits"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/ringbuffer"
)

// What a node tells its operator beyond the log: Status, read at any time
// from another goroutine (the metrics endpoint and the status page,
// internal/httpd). Most of it is read at call time from what the stages
// keep anyway (the ring's sequences, the journal's last seq, replication's
// figures, the latency histograms). What the stages count only for this,
// they count when the node counts (config http.listen set), in the loops
// over a batch's slots that they run anyway (no second pass over the
// ring):
//   - the publish stage adds up each command's kind, and the rejects and
//     fills among the events it hands on, in plain fields of its own
//     (batchCounts), and adds them to the atomic totals once per batch:
//     one atomic add per kind and reason seen in the batch;
//   - each match partition marks the symbols of its own that a batch
//     touched, and publishes their best bid and offer once per batch.
//
// Single writers: each figure has one goroutine that writes it; Status
// reads only atomics (the totals, and the quotes' sequence locks). What
// different goroutines write sits on different cache lines: the publish
// stage's counts, each partition's marks (and their backing arrays), and
// each quote. No lock and no allocation on the hot path.

const (
	kindSlots   = matcher.NumKinds   // a slot for every matcher.Kind
	reasonSlots = matcher.NumReasons // a slot for every matcher.Reason
	cacheLine   = 64                 // bytes; what different goroutines write is at least this far apart
)

// batchCounts.kindSeen has a bit for each kind, and reasonSeen one for
// each reason: a kind or a reason numbered 64 or more fails this build
// until the masks widen.
var (
	_ [64 - kindSlots]struct{}
	_ [64 - reasonSlots]struct{}
)

// observer holds what the node counts for Status. The zero value counts
// nothing on the hot path (counting false) and still counts the cold
// paths (snapshots, promotions). The pads keep the publish stage's
// counts off the lines of the fields every stage reads, and the whole
// off the Node's neighbouring fields (the journal stage's encodeBuf
// before it).
type observer struct {
	_        [cacheLine]byte
	counting bool         // set before the stages start, read-only after
	trades   []quote      // by symbol id - 1: last trade price, quantity (the publish stage writes)
	tops     []quote      // by symbol id - 1: bid price, qty, ask price, qty (the owning partition writes)
	marks    []matchMarks // by partition: its match goroutine only
	_        [cacheLine]byte
	pub      publishCounts // the publish stage writes; Status reads the totals
	_        [cacheLine]byte

	snapshots  atomic.Uint64 // snapshot files written (checkpointer)
	snapshotNs atomic.Int64  // time spent writing them
	promotions atomic.Uint64 // standby → primary in this process
	_          [cacheLine]byte
}

// publishCounts is what the publish stage counts: the totals Status
// reads, and the batch it is in.
type publishCounts struct {
	kinds   [kindSlots]atomic.Uint64   // commands past the publish stage, by kind
	rejects [reasonSlots]atomic.Uint64 // EvRejected and EvCancelRejected, by reason
	fills   atomic.Uint64              // EvFill events: one per side of each trade
	batch   batchCounts
}

// batchCounts is what the publish stage counted in the batch it is in.
type batchCounts struct {
	kinds      [kindSlots]uint64
	rejects    [reasonSlots]uint64
	kindSeen   uint64 // bit k: kinds[k] != 0
	reasonSeen uint64 // bit r: rejects[r] != 0
	fills      uint64
	traded     []uint32 // symbol ids with a fill in this batch
	last       [][2]int64
}

// matchMarks is what one match partition marks in the batch it is in:
// the symbols of its own that the batch touched. Padded: the partitions'
// goroutines write their own, side by side.
type matchMarks struct {
	touched []uint32 // symbol ids, each once: the first n
	n       int
	// mark, by symbol id - 1: in touched[:n], or owned by another
	// partition (marked for good at the start, so that touch looks at
	// one array).
	mark []bool
	_    [cacheLine]byte
}

// quote is a few figures of one symbol, written by one goroutine and read
// by any as a whole: a sequence lock whose readers retry, never a lock the
// writer waits on. Padded to two cache lines, so that its 40 bytes share
// no line with a neighbour's wherever the slice begins (128 - 40 >= 64):
// neighbours belong to other partitions.
type quote struct {
	ver atomic.Uint64 // odd while a write is in progress; 0: never written
	v   [4]atomic.Int64
	_   [88]byte
}

// store publishes the figures, unless they are those published already.
// Hot path: six atomic writes when they changed, none when not.
func (q *quote) store(a, b, c, d int64) {
	// Only this goroutine writes v, so its loads see what it stored last.
	if q.ver.Load() != 0 && q.v[0].Load() == a && q.v[1].Load() == b && q.v[2].Load() == c && q.v[3].Load() == d {
		return
	}
	q.ver.Add(1)
	q.v[0].Store(a)
	q.v[1].Store(b)
	q.v[2].Store(c)
	q.v[3].Store(d)
	q.ver.Add(1)
}

// load returns the figures and whether they were ever written; it gives
// up (ok false) after a few tries against a busy writer.
func (q *quote) load() (v [4]int64, ok bool) {
	for range 16 {
		s := q.ver.Load()
		if s&1 != 0 {
			continue
		}
		for i := range v {
			v[i] = q.v[i].Load()
		}
		if q.ver.Load() == s {
			return v, s != 0
		}
	}
	return v, false
}

// initObserver sizes the observer for the node's config; it counts on the
// hot path when the config opens the HTTP endpoint.
func (n *Node) initObserver() {
	o := &n.obs
	o.counting = n.cfg.HTTP.Listen != ""
	if !o.counting {
		return
	}
	syms := len(n.cfg.Symbols)
	o.trades, o.tops = make([]quote, syms), make([]quote, syms)
	o.pub.batch.last = padded[[2]int64](syms)
	o.pub.batch.traded = padded[uint32](syms)[:0]
	o.marks = padded[matchMarks](n.cfg.Match.Partitions)
	for p := range o.marks {
		m := &o.marks[p]
		m.touched, m.mark = padded[uint32](syms), padded[bool](syms)
		for i := range m.mark {
			m.mark[i] = matcher.PartitionOf(uint32(i+1), n.cfg.Match.Partitions) != p
		}
	}
}

// padded returns n zero Ts in an allocation with a cache line to spare at
// each end: whatever the allocator puts beside it shares no line with
// them.
func padded[T any](n int) []T {
	size := int(unsafe.Sizeof(*new(T)))
	pad := (cacheLine + size - 1) / size
	return make([]T, pad+n+pad)[pad : pad+n : pad+n]
}

// command counts a command of kind k that the publish stage passed. Hot
// path: the publish stage, once per slot.
func (b *batchCounts) command(k matcher.Kind) {
	k %= kindSlots
	b.kinds[k]++
	b.kindSeen |= 1 << k
}

// count adds the rejects and fills among evs, events the publish stage
// has handed on, to the batch's counts. Hot path.
func (b *batchCounts) count(evs []matcher.Event) {
	for i := range evs {
		ev := &evs[i]
		switch ev.Type {
		case matcher.EvRejected, matcher.EvCancelRejected:
			if ev.Kind == matcher.KindReject {
				continue // the gateway's own, counted there (source gateway)
			}
			r := ev.Reason % reasonSlots
			b.rejects[r]++
			b.reasonSeen |= 1 << r
		case matcher.EvFill:
			b.fills++
			if i := int(ev.Symbol) - 1; i >= 0 && i < len(b.last) {
				if b.last[i] == [2]int64{} {
					b.traded = append(b.traded, ev.Symbol) // within its capacity: one entry per symbol
				}
				b.last[i] = [2]int64{ev.LastPx, ev.LastQty}
			}
		}
	}
}

// endPublishBatch adds the publish stage's batch to the totals. Hot path,
// once per batch: one atomic add per kind and reason seen, and one quote
// store per traded symbol.
func (n *Node) endPublishBatch() {
	o, b := &n.obs, &n.obs.pub.batch
	addSeen(b.kindSeen, b.kinds[:], o.pub.kinds[:])
	addSeen(b.reasonSeen, b.rejects[:], o.pub.rejects[:])
	b.kindSeen, b.reasonSeen = 0, 0
	if b.fills != 0 {
		o.pub.fills.Add(b.fills)
		b.fills = 0
	}
	for _, sym := range b.traded {
		last := &b.last[sym-1]
		o.trades[sym-1].store(last[0], last[1], 0, 0)
		*last = [2]int64{}
	}
	b.traded = b.traded[:0]
}

// addSeen adds counts[i] to totals[i], and zeroes it, for each bit i set
// in seen. Hot path (endPublishBatch): one atomic add per bit, no branch
// but the loop's.
func addSeen(seen uint64, counts []uint64, totals []atomic.Uint64) {
	for ; seen != 0; seen &= seen - 1 {
		i := bits.TrailingZeros64(seen)
		totals[i].Add(counts[i])
		counts[i] = 0
	}
}

// marksOf is partition p's marks, nil when the node does not count.
func (o *observer) marksOf(p int) *matchMarks {
	if !o.counting {
		return nil
	}
	return &o.marks[p]
}

// touch marks cmd's symbol as touched in the partition's batch, if the
// partition owns it (every symbol it owns for an end of day, which
// expires Day orders in every book). Hot path: the match stage, once per
// slot; small enough to be inlined there.
func (m *matchMarks) touch(cmd *matcher.Command) {
	if i := uint(cmd.Symbol) - 1; i < uint(len(m.mark)) && !m.mark[i] {
		m.mark[i] = true
		m.touched[m.n] = cmd.Symbol // one entry per symbol: within its length
		m.n++
	} else if cmd.Kind == matcher.KindEndOfDay {
		m.touchAll()
	}
}

// touchAll marks every symbol the partition owns as touched. Cold path:
// once a day.
func (m *matchMarks) touchAll() {
	for i := range m.mark {
		if !m.mark[i] {
			m.mark[i] = true
			m.touched[m.n] = uint32(i + 1)
			m.n++
		}
	}
}

// endMatchBatch publishes the best bid and offer of each symbol that
// partition p's batch touched, and unmarks them. Hot path (p's
// goroutine), once per batch: one Top and one quote store per symbol
// touched.
func (n *Node) endMatchBatch(p *partition) {
	o := &n.obs
	m := &o.marks[p.index]
	for _, sym := range m.touched[:m.n] {
		t := p.engine.Top(sym)
		o.tops[sym-1].store(t.BidPx, t.BidQty, t.AskPx, t.AskQty)
		m.mark[sym-1] = false
	}
	m.n = 0
}

// publishRebuiltTops publishes every symbol's best bid and offer as the
// start's replay left the books: the match stage publishes only those its
// batches touch. Cold path: once per start, before the partitions'
// goroutines, the quotes' writers from then on, run.
func (n *Node) publishRebuiltTops() {
	o := &n.obs
	for i := range o.tops {
		sym := uint32(i + 1)
		t := n.partitions[matcher.PartitionOf(sym, len(n.partitions))].engine.Top(sym)
		o.tops[i].store(t.BidPx, t.BidQty, t.AskPx, t.AskQty)
	}
}

// seedTrades publishes the last trade of each symbol among evs, events of
// the start's replay of the open trading day (replayDay, marketdata.go).
// Cold path: before the publish stage, their writer from then on, runs.
func (o *observer) seedTrades(evs []matcher.Event) {
	for i := range evs {
		if ev := &evs[i]; ev.Type == matcher.EvFill && ev.Symbol >= 1 && int(ev.Symbol) <= len(o.trades) {
			o.trades[ev.Symbol-1].store(ev.LastPx, ev.LastQty, 0, 0)
		}
	}
}

// noteSnapshot counts a snapshot written in d. Cold path.
func (o *observer) noteSnapshot(d time.Duration) {
	o.snapshots.Add(1)
	o.snapshotNs.Add(int64(d))
}

// Status is a node's state for operators, read at one moment, figure by
// figure (not one atomic snapshot).
type Status struct {
	Role       string // "primary", "standby", or "single" without replication
	ServingFIX bool   // the FIX acceptor is open (a primary, or a single node)
	// CaughtUp: a standby that has reached its primary's last seq on its
	// current connection; false for a primary.
	CaughtUp bool
	Epoch    uint64 // 0 without replication
	// Shard: a node of a shard led through etcd (its name, member, leader,
	// fencing token and lease); nil otherwise.
	Shard    *ShardStatus
	Stopped  string // why the pipeline stopped; "" while it runs
	Counting bool   // the hot-path counters below are kept (http.listen set)

	Stages      []ringbuffer.StageStats // writers, then each stage
	Journal     JournalStatus
	Replication *ReplicationStats // nil without replication
	Promotions  uint64
	// PrimarySilentSeconds (standby): since the last frame from its
	// primary; 0 before the first connection.
	PrimarySilentSeconds float64

	Sessions []gateway.SessionState // nil while no FIX gateway runs
	// GatewayRejects are the gateway's own rejects, by reason (malformed
	// or refused before the ring), and the FIX sessions' throttle refusals
	// (reason "throttled"); Rejects those of the engines.
	GatewayRejects []Count
	Commands       []Count // by kind
	Rejects        []Count // by reason
	Fills          uint64
	Symbols        []SymbolStatus

	Snapshots       uint64
	SnapshotSeconds float64 // time spent writing them
}

// Count is one labelled counter.
type Count struct {
	Name string
	N    uint64
}

// JournalStatus is the journal as the node sees it.
type JournalStatus struct {
	Dir      string
	Sync     string
	LastSeq  int64 // last durable seq
	Segments int   // hot segment files
	Archived int   // compressed copies
	Bytes    int64 // of the hot segment files
}

// SymbolStatus is one symbol's market, as the match and publish stages
// last published it; prices formatted with the symbol's tick size.
type SymbolStatus struct {
	Name           string
	HasTop         bool // the book as the start rebuilt it, or as a batch since left it
	BidPx, AskPx   string
	BidQty, AskQty int64
	HasTrade       bool // a trade since the start, or in the open trading day before it
	LastPx         string
	LastQty        int64
}

// Status returns the node's state. Safe from any goroutine.
func (n *Node) Status() Status {
	st := Status{Role: "single", ServingFIX: true, Counting: n.obs.counting, Stages: n.ring.Stats(),
		Promotions: n.obs.promotions.Load(), Snapshots: n.obs.snapshots.Load(),
		SnapshotSeconds: time.Duration(n.obs.snapshotNs.Load()).Seconds()}
	if err := n.ring.Err(); err != nil {
		st.Stopped = err.Error()
	}
	if rs, ok := n.ReplicationStats(); ok {
		st.Replication, st.Role, st.Epoch = &rs, fmt.Sprint(rs.Role), rs.Epoch
		st.ServingFIX = st.Role == "primary"
		st.CaughtUp = st.Role == "standby" && rs.InSync
		if st.Role == "standby" && n.repl.receiver != nil {
			st.PrimarySilentSeconds = n.repl.receiver.SilentFor().Seconds()
		}
	}
	if n.opts.Publisher != nil {
		st.ServingFIX = false
	}
	st.Shard = n.shardStatus()
	st.Journal = n.journalStatus()
	if g := n.servingGateway(); g != nil {
		st.Sessions = g.Sessions()
		st.GatewayRejects = reasonCounts(g.Rejects())
		if n := throttled(st.Sessions); n != 0 {
			st.GatewayRejects = append(st.GatewayRejects, Count{"throttled", n})
		}
	}
	var rejects [reasonSlots]uint64
	for k := range n.obs.pub.kinds {
		if v := n.obs.pub.kinds[k].Load(); v != 0 || matcher.Kind(k).Named() {
			st.Commands = append(st.Commands, Count{kindName(k), v})
		}
	}
	for r := range rejects {
		rejects[r] = n.obs.pub.rejects[r].Load()
	}
	st.Rejects = reasonCounts(rejects[:])
	st.Fills = n.obs.pub.fills.Load()
	if n.obs.counting {
		st.Symbols = n.symbolStatus()
	}
	return st
}

// kindName names matcher.Kind k for a label.
func kindName(k int) string { return matcher.Kind(k).String() }

// throttled adds up the messages the sessions' throttles refused.
func throttled(sessions []gateway.SessionState) uint64 {
	var n int64
	for _, s := range sessions {
		n += s.Throttled
	}
	return uint64(n)
}

func reasonCounts(by []uint64) []Count {
	var out []Count
	for r, v := range by {
		if v != 0 {
			out = append(out, Count{matcher.Reason(r).String(), v})
		}
	}
	return out
}

// servingGateway is the FIX gateway now taking orders, nil when none: a
// standby's comes with its promotion, through the switcher.
func (n *Node) servingGateway() *gateway.Gateway {
	if n.repl == nil {
		return n.gateway // set in Start only
	}
	to := n.switcher.to.Load()
	if to == nil {
		return nil
	}
	g, _ := (*to).(*gateway.Gateway)
	return g
}

func (n *Node) journalStatus() JournalStatus {
	js := JournalStatus{Dir: n.journalDir(), Sync: fmt.Sprint(n.cfg.Journal.Sync), LastSeq: n.journal.LastSeq()}
	segs, err := journal.Segments(js.Dir)
	if err != nil {
		return js
	}
	for _, s := range segs {
		if s.Archived != "" {
			js.Archived++
		}
		if s.Hot != "" {
			js.Segments++
			js.Bytes += fileSize(s.Hot)
		}
	}
	return js
}

func (n *Node) symbolStatus() []SymbolStatus {
	out := make([]SymbolStatus, len(n.cfg.Symbols))
	for i, s := range n.cfg.Symbols {
		tick, err := gateway.ParseScale(s.TickSize)
		if err != nil {
			continue // Start refused it already
		}
		ss := &out[i]
		ss.Name = s.Name
		if v, ok := n.obs.tops[i].load(); ok {
			ss.HasTop = true
			ss.BidPx, ss.BidQty, ss.AskPx, ss.AskQty = tick.Format(v[0]), v[1], tick.Format(v[2]), v[3]
		}
		if v, ok := n.obs.trades[i].load(); ok {
			ss.HasTrade, ss.LastPx, ss.LastQty = true, tick.Format(v[0]), v[1]
		}
	}
	return out
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
