package node

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// A symbol scale record checks the name at its id, then the tick and
// lot; one without a name (written before names were journaled) is
// checked for its tick and lot alone; one of a symbol the config does
// not list is not checked.
func TestScaleCheckerNames(t *testing.T) {
	cfg := config.Default()
	check := SymbolScaleCheck(cfg)
	aapl := cfg.Symbols[0] // id 1
	for _, c := range []struct {
		s    matcher.SymbolScale
		want []string // words of the refusal; none: accepted
	}{
		{matcher.SymbolScale{Symbol: 1, Name: aapl.Name, Tick: "0.01", Lot: aapl.LotSize}, nil},
		{matcher.SymbolScale{Symbol: 1, Tick: "0.01", Lot: aapl.LotSize}, nil},
		{matcher.SymbolScale{Symbol: 1, Name: "AMD", Tick: "0.01", Lot: aapl.LotSize}, []string{"symbol id 1", "AAPL", "AMD", "at the end"}},
		{matcher.SymbolScale{Symbol: 1, Name: "AMD", Tick: "0.05", Lot: aapl.LotSize}, []string{"AMD", "AAPL"}},
		{matcher.SymbolScale{Symbol: 1, Tick: "0.05", Lot: aapl.LotSize}, []string{"AAPL", "tickSize", `"0.05"`}},
		{matcher.SymbolScale{Symbol: uint32(len(cfg.Symbols) + 1), Name: "NEW", Tick: "1", Lot: 1}, nil},
	} {
		cmd, err := c.s.Command()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Seq = 7
		err = check(&cmd)
		if (err != nil) != (c.want != nil) {
			t.Fatalf("%+v: %v, want refused: %v", c.s, err, c.want != nil)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: refusal without %q: %v", c.s, w, err)
			}
		}
	}
}
