package gateway

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// checker is a Submitter that checks every command the gateway lets through
// against what the matcher may be given, and applies it to a real engine.
type checker struct {
	t       *testing.T
	symbols int
	engine  *matcher.Engine
	evs     []matcher.Event
	seq     int64
}

func (c *checker) Submit(cmd *matcher.Command) error {
	c.seq++
	cmd.Seq = c.seq
	bad := ""
	switch {
	case cmd.Account != 1:
		bad = "account not the session's"
	case cmd.Kind != matcher.KindMassCancel && (cmd.Symbol == 0 || int(cmd.Symbol) > c.symbols):
		bad = "symbol out of range"
	case cmd.Kind != matcher.KindMassCancel && cmd.Side != matcher.Buy && cmd.Side != matcher.Sell:
		bad = "side"
	case cmd.Kind != matcher.KindMassCancel && cmd.ClOrdID == (matcher.ClOrdID{}):
		bad = "empty ClOrdID"
	case (cmd.Kind == matcher.KindNew || cmd.Kind == matcher.KindReplace) && cmd.Qty <= 0:
		bad = "quantity"
	case (cmd.Kind == matcher.KindNew || cmd.Kind == matcher.KindReplace) && cmd.Type == matcher.Limit && cmd.Price <= 0:
		bad = "limit price"
	case (cmd.Kind == matcher.KindNew || cmd.Kind == matcher.KindReplace) && cmd.Type == matcher.Market && cmd.Price != 0:
		bad = "market price"
	}
	if bad != "" {
		c.t.Fatalf("gateway let through a bad command (%s): %+v", bad, *cmd)
	}
	c.evs = c.engine.Apply(cmd, c.evs[:0])
	return nil
}

// FuzzFromApp feeds the gateway hostile application messages (any fields,
// repeated tags, huge values, wrong types), bypassing the session layer's
// dictionary, and checks that it never panics and never submits a command
// the matcher could not take.
func FuzzFromApp(f *testing.F) {
	for _, seed := range []string{
		"35=D|11=A1|55=AAPL|54=1|38=100|40=2|44=10.25|59=0|",
		"35=D|11=A1|55=AAPL|54=1|38=-100|40=2|44=10.255|",
		"35=D|11=A1|55=AAPL|54=1|38=100|40=1|44=1|",
		"35=F|11=C1|41=A1|55=IBM|54=2|",
		"35=G|11=R1|41=A1|55=IBM|54=2|38=5|40=2|44=99999999999999999999|",
		"35=H|11=A1|55=AAPL|54=1|37=12|",
		"35=D|11=A1|11=A2|55=AAPL|55=ZZZ|54=3|38=1e9|40=2|44=.|",
		"35=q|11=M1|530=7|",
		"35=D|11=" + strings.Repeat("X", 300) + "|55=AAPL|54=1|38=1|40=2|44=1|",
	} {
		f.Add(strings.ReplaceAll(seed, "|", "\x01"))
	}
	cent, _ := ParseScale("0.01")
	opts := Options{
		Listen: "127.0.0.1:0", SenderCompID: "RINGEX", Log: logtest.Discard(),
		Sessions: []Session{{BeginString: "FIX.4.4", TargetCompID: "BROKER01"}},
		Symbols:  []Symbol{{Name: "AAPL", Tick: cent, Lot: ScaleOf(1)}, {Name: "IBM", Tick: cent, Lot: ScaleOf(100)}},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c := &checker{t: t, symbols: 2, engine: matcher.New(matcher.Config{Symbols: []matcher.SymbolSpec{{ID: 1}, {ID: 2}}})}
		g, err := New(opts, c)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Stop()
		var m fix.Message
		if m.Parse([]byte(raw)) != nil {
			return // not tag=value fields: the session layer drops it before the gateway
		}
		g.FromApp(g.accounts[1].session, &m)
	})
}
