package node

import (
	"github.com/ringex/ringex/gateway"
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
	md := marketdata.New(marketdata.Options{Symbols: syms, Logf: n.logf})
	var rest []matcher.RestingOrder
	for id := range uint32(len(syms)) {
		e := n.partitions[matcher.PartitionOf(id+1, len(n.partitions))].engine
		rest = e.Resting(id+1, rest[:0])
		for _, o := range rest {
			md.Seed(o)
		}
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
