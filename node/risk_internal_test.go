package node

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// The live pipeline, with the risk stage running ahead of the match
// partitions and the settle step and four writers racing, reaches the
// state a one-command-at-a-time replay of its journal reaches: every risk
// balance, hold and order record byte for byte, and the books. The
// balances are tight, so many refusals depend on settlements still in
// flight, and wait for them.
func TestRiskPipelineMatchesReplay(t *testing.T) {
	riskPipelineMatchesReplay(t, randomRiskCommand)
}

// The same with accounts 5 to 8 trading one side only (5 and 6 buy, 7
// and 8 sell, IOC) and moving funds often: refusals the risk stage takes
// as final at once, or on an exact view, while others settle.
func TestRiskPipelineMatchesReplayOneSided(t *testing.T) {
	riskPipelineMatchesReplay(t, func(r *rand.Rand, w, i int) matcher.Command {
		c := randomRiskCommand(r, w, i)
		if c.Account >= 5 && c.Kind == matcher.KindNew {
			c.Side, c.TIF = matcher.Buy, matcher.IOC
			if c.Account >= 7 {
				c.Side = matcher.Sell
			}
		}
		if c.Account >= 5 && c.Kind == matcher.KindMassCancel {
			c, _ = matcher.Funds{Withdraw: true, Account: c.Account, Amount: 1 + r.Int64N(300)}.Command()
		}
		return c
	})
}

func riskPipelineMatchesReplay(t *testing.T, next func(r *rand.Rand, w, i int) matcher.Command) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Snapshot = config.Snapshot{}
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01", Limits: config.RiskLimits{MaxOpenOrders: 5},
		Protection: []config.RiskProtection{{Symbol: "AAPL", Price: "1.20"}}}
	live := &recorder{}
	n, err := Start(cfg, Options{Log: logtest.New(t), Publisher: live})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 3000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range each {
				c := next(r, w, i)
				if err := n.Submit(&c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d refusals waited for the settle step", n.risk.stage.Waits())
	if n.risk.stage.Waits() == 0 {
		t.Error("no refusal waited for the settle step: the test did not exercise it")
	}

	rs, err := newRisk(cfg)
	if err != nil {
		t.Fatal(err)
	}
	engines, _ := matcher.NewPartitions(EngineConfig(cfg), len(n.partitions))
	var replayed []matcher.Event
	count, _, err := applyJournalRisk(n.journalDir(), engines, rs, 1, 0, func(evs []matcher.Event) error {
		replayed = append(replayed, evs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count < writers*each {
		t.Fatalf("replayed %d records, submitted %d (and the start's rule records)", count, writers*each)
	}
	for i := range min(len(live.evs), len(replayed)) {
		if live.evs[i] != replayed[i] {
			t.Fatalf("event %d differs:\nlive   %+v\nreplay %+v", i, live.evs[i], replayed[i])
		}
	}
	if len(live.evs) != len(replayed) {
		t.Fatalf("%d events published live, %d replayed", len(live.evs), len(replayed))
	}
	if !bytes.Equal(rs.Snapshot(nil), n.risk.state.Snapshot(nil)) {
		t.Fatal("the risk state after the replay differs from the live pipeline's")
	}
	if engines.Hash() != n.engines().Hash() {
		t.Fatal("the books after the replay differ from the live pipeline's")
	}
	for a := uint32(1); a <= 8; a++ {
		b, _ := rs.Balance(a)
		t.Logf("account %d: cash %d held %d open %d inventory %v held %v", a, b.Cash, b.CashHeld, b.OpenOrders, b.Inv, b.InvHeld)
	}
}

// randomRiskCommand is writer w's i-th command: mostly orders in two
// symbols around 1.00, with small deposits, withdrawals and cancels.
func randomRiskCommand(r *rand.Rand, w, i int) matcher.Command {
	a := 1 + uint32(r.IntN(8))
	sym := 1 + uint32(r.IntN(2))
	switch p := r.IntN(100); {
	case p < 6:
		c, _ := matcher.Funds{Account: a, Amount: 1 + r.Int64N(2000)}.Command()
		return c
	case p < 10:
		c, _ := matcher.Funds{Account: a, Symbol: sym, Amount: 1 + r.Int64N(20)}.Command()
		return c
	case p < 13:
		c, _ := matcher.Funds{Withdraw: true, Account: a, Amount: 1 + r.Int64N(1000)}.Command()
		return c
	case p < 20:
		return matcher.MassCancel{Account: a, Symbol: sym, Scope: matcher.ScopeAllOrders}.Command()
	}
	c := matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: sym, Side: matcher.Side(1 + r.IntN(2)),
		Type: matcher.Limit, Qty: 1 + r.Int64N(10), Price: 95 + r.Int64N(10)}
	c.TIF = []matcher.TIF{matcher.Day, matcher.GTC, matcher.IOC}[r.IntN(3)]
	if r.IntN(10) == 0 {
		c.Type, c.Price = matcher.Market, 0
	}
	c.ClOrdID, _ = matcher.MakeClOrdID(string(rune('a'+w)) + strconv.Itoa(i))
	return c
}
