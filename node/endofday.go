package node

import (
	"errors"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// The trading day ends with one KindEndOfDay command, submitted through the
// ring like any other, so it is journaled, replicated and replayed in its
// place in the sequence:
//
//   - every match partition applies it to its engine (it is not
//     partitioned by symbol): the resting Day orders expire and the engine
//     forgets the ClOrdIDs of finished orders; each partition's expiries go
//     to its spill store, since several partitions answer one slot;
//   - the publish stage sends the expiries, partition by partition, then
//     tells the gateway the day is over (dayEnder), which forgets each
//     broker's used ClOrdIDs, and market data, which closes the day's
//     prices;
//   - rememberClOrdIDs starts the set again at each one, so a restart keeps
//     the new day's set.
//
// It comes from the scheduler (config tradingDay.endUTC, once a day) or from
// the operator (EndOfDay: the admin endpoint's "endofday"). A standby never
// submits it: it applies its primary's.

// dayEnder is a publisher that keeps per-day state: the gateway's used
// ClOrdIDs. The publish stage calls EndOfDay after the day's expiries.
type dayEnder interface {
	EndOfDay()
}

// ErrStandbyEndOfDay refuses an end of day on a standby.
var ErrStandbyEndOfDay = errors.New("a standby follows its primary's journal: end the day on the primary")

// EndOfDay ends the trading day now: it submits KindEndOfDay and returns
// its journal sequence. The expiries reach the brokers once it is durable,
// like any report.
func (n *Node) EndOfDay() (int64, error) {
	if n.following.Load() {
		return 0, ErrStandbyEndOfDay
	}
	if n.stopping.Load() {
		return 0, errors.New("the exchange is stopping")
	}
	cmd := matcher.Command{Kind: matcher.KindEndOfDay}
	seq, err := n.submitSeq(&cmd)
	if err != nil {
		return 0, err
	}
	n.log.Info("end of the trading day submitted", "seq", seq)
	return seq, nil
}

// publishEndOfDay runs on the publish stage at a KindEndOfDay slot: every
// partition has applied it, and its spill store holds its expiries. Cold
// path.
func (n *Node) publishEndOfDay(seq int64) {
	expired := 0
	for _, p := range n.partitions {
		evs := p.takeSpill(seq)
		for i := range evs {
			n.publishEvent(&evs[i])
		}
		expired += len(evs)
	}
	if d, ok := n.publisher.(dayEnder); ok {
		d.EndOfDay()
	}
	if n.md != nil {
		n.md.EndOfDay() // the day's close; the next day opens at its first trade
	}
	n.log.Info("trading day ended: its Day orders expired; ClOrdIDs start again", "seq", n.baseSeq+seq, "expired", expired)
}

// EndOfDay passes the end of the day to the gateway once the node serves;
// a standby has none, and its promotion rebuilds the gateway's ClOrdIDs
// from the journal (rememberClOrdIDs).
func (p *switchPublisher) EndOfDay() {
	if to := p.to.Load(); to != nil {
		if d, ok := (*to).(dayEnder); ok {
			d.EndOfDay()
		}
	}
}

// noteDay follows when the open trading day began (dayOpenNs): at the
// first order command after an end of day. The journal scan at start and
// the publish stage call it with every command, in sequence order.
func (n *Node) noteDay(cmd *matcher.Command) {
	switch cmd.Kind {
	case matcher.KindEndOfDay:
		n.dayOpenNs = 0
	case matcher.KindNew, matcher.KindReplace, matcher.KindCancel, matcher.KindMassCancel:
		if n.dayOpenNs == 0 {
			n.dayOpenNs = cmd.TimeNs
		}
	}
}

// endDayLeftOpen ends the trading day at once when its end (tradingDay.
// endUTC) passed while no primary ran: the journal's open day began before
// the latest end. A primary calls it as it starts, and a standby as it is
// promoted, after the pipeline has drained and before FIX opens, so that
// no order enters the day that should have ended: yesterday's Day orders
// expire and the used ClOrdIDs start again. Without it they would rest
// until the next scheduled end.
func (n *Node) endDayLeftOpen() {
	at, ok, _ := config.ParseEndUTC(n.cfg.TradingDay.EndUTC)
	if !ok || n.following.Load() || n.dayOpenNs == 0 {
		return // a standby applies its primary's end of day
	}
	opened := time.Unix(0, n.dayOpenNs).UTC()
	end := nextAt(opened, at)
	if end.After(time.Now()) {
		return
	}
	n.log.Warn("the trading day was not ended at its end (no primary ran then): ending it now, before FIX opens",
		"began", opened.Format(time.RFC3339), "end", end.Format(time.RFC3339))
	if _, err := n.EndOfDay(); err != nil {
		n.log.Error("end of the day left open not submitted: end it with 'ringex endofday'", "err", err)
	}
}

// startDayScheduler runs the goroutine that ends the day at
// tradingDay.endUTC, every day, while this node is the primary. A day whose
// end passed while no primary ran is ended as the node starts or is
// promoted (endDayLeftOpen).
func (n *Node) startDayScheduler() {
	at, ok, _ := config.ParseEndUTC(n.cfg.TradingDay.EndUTC) // Check parsed it already
	if !ok {
		close(n.dayDone)
		return
	}
	go func() {
		defer close(n.dayDone)
		var last time.Time // the end last taken
		for {
			now := time.Now().UTC()
			if now.Before(last.Add(time.Second)) {
				now = last.Add(time.Second) // a timer that fired early by the wall clock takes each end once
			}
			next := nextAt(now, at)
			timer := time.NewTimer(time.Until(next))
			select {
			case <-n.dayStop:
				timer.Stop()
				return
			case <-timer.C:
			}
			last = next
			if n.following.Load() {
				continue // the primary ends the day; its record follows in the stream
			}
			if _, err := n.EndOfDay(); err != nil {
				n.log.Error("scheduled end of day not submitted", "err", err)
				if n.ring.Err() != nil || n.stopping.Load() {
					return
				}
			}
		}
	}()
}

// nextAt returns the first time of day at (a duration since midnight UTC)
// strictly after now.
func nextAt(now time.Time, at time.Duration) time.Time {
	now = now.UTC()
	next := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(at)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}
