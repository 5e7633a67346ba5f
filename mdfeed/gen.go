package mdfeed

import "github.com/ringex/ringex/matcher"

// Generator turns the matcher's events into messages, command by command.
// It keeps every resting order (by id), as the messages so far leave it.
// Feed it every command from the first, or from a state it was seeded with
// (Seed): it is a pure function of what it was given.
type Generator struct {
	resting map[int64]order
	in      incoming
}

type order struct {
	sym           uint32
	side          matcher.Side
	price, qty    int64 // limit price (ticks); total quantity (lots)
	leaves        int64
	rests         bool // a limit Day or GTC order: it may rest
	replaced, end bool // (incoming only) it was resting before this command; it finished in it
}

// incoming is the order a command brings in (a new order) or takes out
// of its place (a replace that loses time priority): it trades before it
// rests, so it is added, or replaced, when the command's events end.
type incoming struct {
	id int64 // 0: none
	o  order
}

// NewGenerator returns a generator of an empty exchange.
func NewGenerator() *Generator { return &Generator{resting: map[int64]order{}} }

// Seed adds an order resting before the first command the generator is
// given (matcher.Engine.EachResting), in time priority within its level.
func (g *Generator) Seed(r matcher.Resting) {
	g.resting[r.OrderID] = order{sym: r.Symbol, side: r.Side, price: r.Price, qty: r.Qty, leaves: r.Leaves, rests: true}
}

// Command appends the messages of cmd, whose events (every partition's) are
// evs in the order the publish stage hands them on, to out.
func (g *Generator) Command(cmd *matcher.Command, evs []matcher.Event, out []Msg) []Msg {
	if cmd.Kind == matcher.KindEndOfDay {
		out = append(out, Msg{Type: TypeSystem, CmdSeq: cmd.Seq, TimeNs: cmd.TimeNs, Qty: SystemEndOfDay})
	}
	g.in = incoming{}
	for i := range evs {
		out = g.event(&evs[i], out)
	}
	if g.in.id == 0 {
		return out
	}
	id, o := g.in.id, g.in.o
	m := Msg{Side: o.side, Symbol: o.sym, CmdSeq: cmd.Seq, OrderID: id, Price: o.price, Qty: o.leaves, TimeNs: cmd.TimeNs}
	switch rest := o.rests && !o.end && o.leaves > 0; {
	case rest && o.replaced:
		m.Type = TypeReplace
	case rest:
		m.Type = TypeAdd
	case o.replaced:
		m.Type, m.Price, m.Qty = TypeDelete, 0, 0
	default:
		return out // it never rested
	}
	if m.Type != TypeDelete {
		o.replaced, o.end = false, false
		g.resting[id] = o
	}
	return append(out, m)
}

// event appends what one event says of a resting order; an incoming
// order's events are kept in g.in.
func (g *Generator) event(ev *matcher.Event, out []Msg) []Msg {
	m := Msg{Side: ev.Side, Symbol: ev.Symbol, CmdSeq: ev.Seq, OrderID: ev.OrderID, TimeNs: ev.TimeNs}
	r, resting := g.resting[ev.OrderID]
	isIn := g.in.id != 0 && ev.OrderID == g.in.id
	switch ev.Type {
	case matcher.EvAccepted:
		g.in = incoming{id: ev.OrderID, o: terms(ev)}
	case matcher.EvFill:
		switch {
		case resting:
			m.Type, m.Price, m.Qty = TypeExecuted, ev.LastPx, ev.LastQty
			out = append(out, m)
			g.setLeaves(ev.OrderID, r, ev.LeavesQty)
		case isIn:
			g.in.o.leaves = ev.LeavesQty
		}
	case matcher.EvCancelled, matcher.EvExpired:
		switch {
		case resting:
			m.Type = TypeDelete
			out = append(out, m)
			delete(g.resting, ev.OrderID)
		case isIn:
			g.in.o.end = true
		}
	case matcher.EvReplaced:
		if resting && ev.Price == r.price && ev.OrderQty <= r.qty {
			// A lower quantity at the same price keeps time priority.
			if d := r.leaves - ev.LeavesQty; d > 0 {
				m.Type, m.Price, m.Qty = TypeReduce, r.price, d
				out = append(out, m)
			}
			r.qty = ev.OrderQty
			g.setLeaves(ev.OrderID, r, ev.LeavesQty)
			break
		}
		delete(g.resting, ev.OrderID)
		o := terms(ev)
		o.replaced = resting
		g.in = incoming{id: ev.OrderID, o: o}
	}
	return out
}

func (g *Generator) setLeaves(id int64, r order, leaves int64) {
	if leaves == 0 {
		delete(g.resting, id)
		return
	}
	r.leaves = leaves
	g.resting[id] = r
}

func terms(ev *matcher.Event) order {
	return order{sym: ev.Symbol, side: ev.Side, price: ev.Price, qty: ev.OrderQty, leaves: ev.LeavesQty,
		rests: ev.OrdType == matcher.Limit && (ev.TIF == matcher.Day || ev.TIF == matcher.GTC)}
}
