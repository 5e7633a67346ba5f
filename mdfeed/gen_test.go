package mdfeed

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestBookFromMessagesEqualsMatcher runs random order streams (every time
// in force, market orders, cancels, replaces that keep or lose priority,
// mass cancels, ends of day, each self-trade prevention mode) through a
// matcher engine and the generator, passes every message through its
// bytes to a receiver's book, and checks after every command that the
// book holds the matcher's resting orders, each with its quantity, in the
// matcher's time priority; and that the executions add up to the trades.
func TestBookFromMessagesEqualsMatcher(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) { runStream(t, seed, 2000) })
	}
}

func runStream(t *testing.T, seed uint64, commands int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	e := matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}, STP: matcher.STPMode(seed % 4)})
	g, book := NewGenerator(), NewBook()
	var evs []matcher.Event
	var msgs []Msg
	var buf [MsgSize]byte
	var filled, executed int64
	live := map[int64]matcher.Event{}
	for i := 1; i <= commands; i++ {
		cmd := nextCommand(rng, int64(i), live)
		evs = e.Apply(&cmd, evs[:0])
		follow(live, evs)
		msgs = g.Command(&cmd, evs, msgs[:0])
		for k := range msgs {
			var m Msg
			if err := m.Decode(msgs[k].Encode(buf[:])); err != nil || m != msgs[k] {
				t.Fatalf("command %d: %+v does not come back from its bytes: %+v, %v", i, msgs[k], m, err)
			}
			if err := book.Apply(&m); err != nil {
				t.Fatalf("command %d (%+v): %v", i, cmd, err)
			}
			if m.Type == TypeExecuted {
				executed += m.Qty
			}
		}
		for _, ev := range evs {
			if ev.Type == matcher.EvFill {
				filled += ev.LastQty
			}
		}
		compare(t, i, e, book)
	}
	if 2*executed != filled {
		t.Errorf("executions add up to %d lots, the fills to %d (two per trade)", executed, filled)
	}
}

func compare(t *testing.T, step int, e *matcher.Engine, book *Book) {
	t.Helper()
	var want []matcher.Resting
	e.EachResting(func(r matcher.Resting) {
		r.Qty = 0 // a receiver knows what rests, not the order's total
		want = append(want, r)
	})
	var got []matcher.Resting
	for sym := uint32(1); sym <= 2; sym++ {
		got = book.Orders(sym, matcher.Buy, got)
		got = book.Orders(sym, matcher.Sell, got)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after command %d:\nbook    %v\nmatcher %v", step, got, want)
	}
}

// follow keeps the resting orders as the events show them.
func follow(live map[int64]matcher.Event, evs []matcher.Event) {
	for _, ev := range evs {
		if ev.OrderID == 0 || ev.Type == matcher.EvRejected || ev.Type == matcher.EvCancelRejected || ev.Type == matcher.EvStatus {
			continue
		}
		if ev.LeavesQty > 0 && ev.Type != matcher.EvCancelled && ev.Type != matcher.EvExpired &&
			ev.OrdType == matcher.Limit && (ev.TIF == matcher.Day || ev.TIF == matcher.GTC) {
			live[ev.OrderID] = ev
		} else {
			delete(live, ev.OrderID)
		}
	}
}

func nextCommand(r *rand.Rand, seq int64, live map[int64]matcher.Event) matcher.Command {
	cmd := matcher.Command{Seq: seq, TimeNs: seq * 1000, Account: 1 + uint32(r.IntN(3)), Symbol: 1 + uint32(r.IntN(2))}
	cmd.ClOrdID, _ = matcher.MakeClOrdID("c" + strconv.FormatInt(seq, 10))
	var target matcher.Event
	if len(live) > 0 {
		ids := make([]int64, 0, len(live))
		for id := range live {
			ids = append(ids, id)
		}
		slices.Sort(ids) // the stream must not depend on map order
		target = live[ids[r.IntN(len(ids))]]
	}
	switch p := r.IntN(100); {
	case p < 14 && target.OrderID != 0:
		cmd.Kind, cmd.Symbol, cmd.Account, cmd.OrderID = matcher.KindCancel, target.Symbol, target.Account, target.OrderID
	case p < 32 && target.OrderID != 0:
		cmd.Kind, cmd.Symbol, cmd.Account, cmd.OrderID = matcher.KindReplace, target.Symbol, target.Account, target.OrderID
		cmd.Price, cmd.Qty = target.Price, target.OrderQty-1-int64(r.IntN(3)) // keeps priority when still above what traded
		if r.IntN(2) == 0 {
			cmd.Price, cmd.Qty = target.Price+int64(r.IntN(7))-3, 1+int64(r.IntN(20))
		}
	case p < 34:
		cmd = matcher.MassCancel{Account: cmd.Account, Symbol: cmd.Symbol, Scope: matcher.MassCancelScope(r.IntN(2)), Report: true}.Command()
		cmd.Seq, cmd.TimeNs = seq, seq*1000
	case p < 35:
		cmd = matcher.Command{Seq: seq, TimeNs: seq * 1000, Kind: matcher.KindEndOfDay}
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
