package node

import (
	"fmt"
	"time"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/marketdata"
	"github.com/ringex/ringex/matcher"
)

// startMarketData builds the exchange's market data from the books the
// engines hold after replay, before the pipeline starts, and starts its
// goroutine; the publish stage feeds it from then on (publishSlot,
// publishBatch), on a primary and on a standby alike, so a promoted
// standby serves it at once. A node with its own Publisher (benchmarks,
// replay) has none.
func (n *Node) startMarketData(gw gateway.Options) {
	if n.opts.Publisher != nil {
		return
	}
	syms := make([]marketdata.Symbol, len(gw.Symbols))
	for i, s := range gw.Symbols {
		syms[i] = marketdata.Symbol{Name: s.Name, Tick: s.Tick, Lot: s.Lot}
	}
	var byOrder, rptSeq []string
	for _, s := range n.cfg.FIX.Sessions {
		if s.MarketDataByOrder {
			byOrder = append(byOrder, s.TargetCompID)
		}
		if s.MarketDataRptSeq {
			rptSeq = append(rptSeq, s.TargetCompID)
		}
	}
	md := marketdata.New(marketdata.Options{Symbols: syms, Log: n.logBase, ByOrderSessions: byOrder, RptSeqSessions: rptSeq})
	var rest []matcher.RestingOrder
	for id := range uint32(len(syms)) {
		e := n.partitions[matcher.PartitionOf(id+1, len(n.partitions))].engine
		rest = e.Resting(id+1, rest[:0])
		for _, o := range rest {
			md.Seed(o)
		}
	}
	n.seedDay(md, uint32(len(syms)))
	for id := range uint32(len(syms)) {
		e := n.partitions[matcher.PartitionOf(id+1, len(n.partitions))].engine
		md.SeedLastTrade(id+1, e.LastTradePx(id+1))
	}
	md.Start()
	n.md = md
}

// stopMarketData stops the market-data goroutine once the pipeline has
// drained.
func (n *Node) stopMarketData() {
	if n.md != nil {
		n.md.Stop()
	}
}

// seedDay gives md the day's prices as the journal makes them: each
// symbol's close (its last trade price when the last trading day ended)
// and the open trading day's open, high and low (its trades since). The
// engines hold neither, so it matches again, in engines of its own, from
// the newest snapshot at or before the last KindEndOfDay through the
// journal's end: the books are a function of the journal, so these
// trades are the ones that were made. It costs a second replay of the
// open day at start. A journal that no longer holds what it needs (its
// oldest records removed, no snapshot before them) leaves them unknown,
// and the log says so. Cold path.
func (n *Node) seedDay(md *marketdata.Feed, symbols uint32) {
	start := time.Now()
	if err := n.replayDay(md, symbols); err != nil {
		n.log.Warn("market data: open, high, low and close not rebuilt; they start again from the next trade and end of day", "err", err)
		return
	}
	n.log.Info("market data: the day's open, high, low and close rebuilt from the journal", "took", time.Since(start).Round(time.Millisecond))
}

func (n *Node) replayDay(md *marketdata.Feed, symbols uint32) error {
	dir := n.journalDir()
	eod, err := lastEndOfDay(dir)
	if err != nil {
		return err
	}
	engines := make(matcher.Partitions, len(n.partitions))
	for i := range engines {
		engines[i] = matcher.New(EngineConfig(n.cfg))
	}
	rs, err := newRisk(n.cfg)
	if err != nil {
		return err
	}
	from, err := n.restoreInto(engines, rs, eod)
	if err != nil {
		return err
	}
	first, err := journal.FirstSeq(dir)
	if err != nil {
		return err
	}
	if first > from+1 {
		return fmt.Errorf("journal %s begins at sequence %d, and no snapshot at %d or later is at or before the last end of day (%d)", dir, first, first-1, eod)
	}
	if eod > 0 {
		if _, _, err := applyJournalRisk(dir, engines, rs, from+1, eod, nil); err != nil {
			return err
		}
		for sym := uint32(1); sym <= symbols; sym++ {
			md.SeedClose(sym, engines[matcher.PartitionOf(sym, len(engines))].LastTradePx(sym))
		}
		from = max(from, eod)
	}
	_, _, err = applyJournalRisk(dir, engines, rs, from+1, 0, func(evs []matcher.Event) error {
		md.SeedDay(evs)
		n.obs.seedTrades(evs) // the status page's last trades (observe.go)
		return nil
	})
	return err
}

// lastEndOfDay is the sequence of the journal's last KindEndOfDay, 0 when
// it holds none.
func lastEndOfDay(dir string) (int64, error) {
	first, err := journal.FirstSeq(dir)
	if err != nil {
		return 0, err
	}
	var cmd matcher.Command
	eod := int64(0)
	err = journal.Read(dir, first, func(seq int64, rec []byte) error {
		if err := cmd.Decode(rec); err != nil {
			return fmt.Errorf("journal record %d: %w", seq, err)
		}
		if cmd.Kind == matcher.KindEndOfDay {
			eod = seq
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("find the last end of day in %s: %w", dir, err)
	}
	return eod, nil
}
