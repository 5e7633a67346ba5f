package feed

import (
	"fmt"

	"github.com/ringex/ringex/matcher"
)

// Translator turns the events of each command, in journal order, into feed
// messages with their sequence numbers. It is a pure function of the
// commands and events it is given: fed the stream that replaying a journal
// from the feed's origin reproduces (Replayer), it gives the same
// messages, numbered the same, as it gave live. It is not safe for
// concurrent use.
type Translator struct {
	session  uint32 // 1 (or the origin's: Origin), then one more after each end of day and each session break
	next     uint64 // seq of the next message
	started  bool   // the day's start-of-day message is out
	lost     bool   // the command before was a session-break marker
	lostTerm uint64 // that marker's term (0: a lost record's)
	resting  map[int64]restingOrder
	pend     pending

	cmdSeq, cmdTimeNs int64 // the command begun
	cmdKind           matcher.Kind
}

// restingOrder is what a replace needs to know of an order in the book.
type restingOrder struct {
	price, qty, leaves int64
}

// pending is the order a command brings in (a new order, or a replace that
// lost its place), matched before it is known whether it rests.
type pending struct {
	id         int64
	symbol     uint32
	side       byte
	price      int64
	qty        int64 // its total quantity
	leaves     int64
	takerExec  int64 // ExecID of its last fill: the match number
	wasResting bool  // a replace: it is in the receivers' book at its old place
}

// NewTranslator returns the translator of a journal's start: session 1, the
// next seq 1, empty books. maxOrders sizes its table of resting orders.
func NewTranslator(maxOrders int) *Translator {
	return &Translator{session: 1, next: 1, resting: make(map[int64]restingOrder, maxOrders)}
}

// resume makes t the translator of a feed that begins after a snapshot:
// session, from seq 1, with the orders resting in parts (symbols: every
// symbol id) in its table, and no start-of-day message of its own (the
// day began before the snapshot). A receiver of an earlier session takes
// the first message of this one as a sign to take a snapshot.
func (t *Translator) resume(session uint32, parts matcher.Partitions, symbols []uint32) {
	t.session, t.next, t.started = session, 1, true
	var rest []matcher.RestingOrder
	for _, sym := range symbols {
		rest = parts.Of(sym).Resting(sym, rest[:0])
		for _, o := range rest {
			t.resting[o.OrderID] = restingOrder{price: o.Price, qty: o.Qty, leaves: o.Leaves}
		}
	}
}

// Next returns the session and the seq of the next message.
func (t *Translator) Next() (session uint32, seq uint64) { return t.session, t.next }

func sideOf(s matcher.Side) byte {
	if s == matcher.Buy {
		return SideBuy
	}
	return SideSell
}

// Command appends to out the messages that cmd, with the events evs it
// caused (in the order Partitions.Apply gives them), puts on the feed:
// Begin, Event for each event, End. Hot path: it allocates only while its
// table of resting orders grows (sized for maxOrders at start, so not in
// steady state) or out has no room. A stream that breaks the matcher's
// rules (a fill of an order that does not rest) panics: the translator and
// the matcher disagree, and every later message would be wrong.
func (t *Translator) Command(cmd *matcher.Command, evs []matcher.Event, out []Message) []Message {
	out = t.Begin(cmd, out)
	for i := range evs {
		out = t.Event(&evs[i], out)
	}
	return t.End(out)
}

// Begin starts the messages of cmd; its events follow (Event), then End.
// For a caller that holds a command's events in more than one place (the
// node's publish stage: in the ring slot, then spilled). Hot path.
func (t *Translator) Begin(cmd *matcher.Command, out []Message) []Message {
	t.cmdSeq, t.cmdTimeNs, t.cmdKind = cmd.Seq, cmd.TimeNs, cmd.Kind
	t.pend = pending{}
	if !t.started {
		t.started = true
		out = t.emit(out, Message{Type: TypeSystem, Code: CodeStartOfDay})
	}
	term, marker := breakMarker(cmd)
	if marker && (!t.lost || term != t.lostTerm) {
		t.session++
		out = t.emit(out, Message{Type: TypeSystem, Code: CodeRecordsLost})
	}
	t.lost, t.lostTerm = marker, term
	return out
}

// breakMarker reports whether cmd is one of the journal's session-break
// markers (a checkpoint hash naming no checkpoint, node/missing.go): the
// records after it may follow ones that receivers had and the journal has
// not. Its hash field is 0 for a lost record's marker (a run of them is
// one break), or the epoch of a new primary's term, which may lack records
// its predecessor published (each such marker is a break of its own).
func breakMarker(cmd *matcher.Command) (term uint64, ok bool) {
	h, ok := matcher.CheckpointHashOf(cmd)
	return h.Hash, ok && h.Partitions == 0
}

// End ends the command Begin started. Hot path.
func (t *Translator) End(out []Message) []Message {
	out = t.settle(out)
	if t.cmdKind == matcher.KindEndOfDay {
		out = t.emit(out, Message{Type: TypeSystem, Code: CodeEndOfDay})
		t.session++
		out = t.emit(out, Message{Type: TypeSystem, Code: CodeStartOfDay})
	}
	return out
}

func (t *Translator) emit(out []Message, m Message) []Message {
	m.Session, m.Seq, m.JournalSeq, m.TimeNs = t.session, t.next, t.cmdSeq, t.cmdTimeNs
	t.next++
	return append(out, m)
}

// Event adds one event of the command begun. Hot path.
func (t *Translator) Event(e *matcher.Event, out []Message) []Message {
	p := &t.pend
	switch e.Type {
	case matcher.EvAccepted:
		t.take(e, false)
	case matcher.EvReplaced:
		if e.OrderID == p.id {
			// Self-trade prevention decremented the incoming order.
			p.qty, p.leaves = e.OrderQty, e.LeavesQty
			return out
		}
		old, ok := t.resting[e.OrderID]
		if !ok {
			panic(fmt.Sprintf("feed: seq %d replaces order %d, which does not rest", t.cmdSeq, e.OrderID))
		}
		if e.Price == old.price && e.OrderQty <= old.qty { // keeps its place
			d := old.leaves - e.LeavesQty
			t.resting[e.OrderID] = restingOrder{price: e.Price, qty: e.OrderQty, leaves: e.LeavesQty}
			if d > 0 {
				out = t.emit(out, Message{Type: TypeReduce, Symbol: e.Symbol, OrderID: e.OrderID, Qty: d})
			}
			return out
		}
		t.take(e, true)
	case matcher.EvFill:
		if e.OrderID == p.id {
			p.leaves, p.takerExec = e.LeavesQty, e.ExecID
			return out
		}
		out = t.emit(out, Message{Type: TypeExecuted, Symbol: e.Symbol, OrderID: e.OrderID,
			Qty: e.LastQty, Price: e.LastPx, Match: p.takerExec})
		out = t.emit(out, Message{Type: TypeTrade, Symbol: e.Symbol, Side: p.side,
			Qty: e.LastQty, Price: e.LastPx, Match: p.takerExec})
		out = t.reduce(e, out, false)
	case matcher.EvCancelled, matcher.EvExpired:
		if e.OrderID == p.id {
			p.leaves = 0
			return out
		}
		out = t.reduce(e, out, true)
	}
	return out
}

// take makes e's order the pending one.
func (t *Translator) take(e *matcher.Event, wasResting bool) {
	if t.pend.id != 0 {
		panic(fmt.Sprintf("feed: seq %d brings in order %d beside order %d", e.Seq, e.OrderID, t.pend.id))
	}
	t.pend = pending{id: e.OrderID, symbol: e.Symbol, side: sideOf(e.Side), price: e.Price,
		qty: e.OrderQty, leaves: e.LeavesQty, wasResting: wasResting}
}

// reduce records a resting order's new leaves after a fill, or its removal;
// an order that no longer rests gets a Delete, unless a fill took it all
// (receivers remove an order executed to nothing).
func (t *Translator) reduce(e *matcher.Event, out []Message, removed bool) []Message {
	o, ok := t.resting[e.OrderID]
	if !ok {
		panic(fmt.Sprintf("feed: seq %d: %v of order %d, which does not rest", t.cmdSeq, e.Type, e.OrderID))
	}
	if removed {
		delete(t.resting, e.OrderID)
		return t.emit(out, Message{Type: TypeDelete, Symbol: e.Symbol, OrderID: e.OrderID})
	}
	if o.leaves = e.LeavesQty; o.leaves == 0 {
		delete(t.resting, e.OrderID)
	} else {
		t.resting[e.OrderID] = o
	}
	return out
}

// settle says what became of the command's incoming order.
func (t *Translator) settle(out []Message) []Message {
	p := &t.pend
	if p.id == 0 {
		return out
	}
	switch {
	case p.leaves > 0:
		typ := TypeAdd
		if p.wasResting {
			typ = TypeReplace
		}
		t.resting[p.id] = restingOrder{price: p.price, qty: p.qty, leaves: p.leaves}
		out = t.emit(out, Message{Type: typ, Side: p.side, Symbol: p.symbol, OrderID: p.id, Qty: p.leaves, Price: p.price})
	case p.wasResting:
		delete(t.resting, p.id)
		out = t.emit(out, Message{Type: TypeDelete, Symbol: p.symbol, OrderID: p.id})
	}
	p.id = 0
	return out
}
