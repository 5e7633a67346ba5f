package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// Check's goroutine reads the cells while the settle half is in the
// middle of a command, and relies on Exact and Final for what it reads
// then. At every point between the settle half's calls (after Apply, after
// each Event), this looks as Check's goroutine would: for every account
// Exact vouches for, its views; for every account and asset, the total a
// final refusal (Final) of a withdrawal of it rests on. After the
// command's Done a vouched view must be the view (nothing left to settle
// changed it), and a total Final relied on must be no less than the total
// (it can only go down). The order of the settle half's stores within
// one call is settle.go's argument; this holds the order of its calls.
func TestExactAndFinalHoldBetweenTheSettleHalfsCalls(t *testing.T) {
	vouched, finals := 0, 0
	for seed := uint64(1); seed <= 4; seed++ {
		cmds := stream(seed, 3000)
		ref, _ := New(testConfig(ModeSpot))
		s, _ := New(testConfig(ModeSpot))
		engines := testEngines(t, 1+int(seed%3), matcher.STPMode(seed%5))
		var evs []matcher.Event
		type seen struct {
			cell  int
			value int64
		}
		var views, totals []seen
		look := func() {
			for a := uint32(0); a <= testAccounts; a++ {
				if !s.Exact(a) {
					continue
				}
				for i := s.cashCell(a); i < s.cashCell(a)+s.stride; i++ {
					views = append(views, seen{i, s.view(i)})
				}
			}
			for a := uint32(1); a <= testAccounts; a++ {
				for y := uint32(0); y <= testSymbols; y++ {
					w, _ := matcher.Funds{Withdraw: true, Account: a, Symbol: y, Amount: matcher.MaxFundsAmount}.Command()
					if s.Final(&w, matcher.ReasonRiskFundsRefused) {
						i := s.cashCell(a)
						if y != 0 {
							i = s.invCell(a, y)
						}
						totals = append(totals, seen{i, s.cells[i].total.Load()})
					}
				}
			}
		}
		for k := range cmds {
			c, c2 := cmds[k], cmds[k]
			id, cum := engines.Target(&c)
			var h Hold
			evs, h = ref.Step(&c, engines, evs[:0])
			h2 := s.Check(&c2)
			if Reducible(&c2, h2.Reason) {
				h2 = s.CheckExact(&c2, id, cum)
			}
			if h2 != h {
				t.Fatalf("seed %d seq %d: decided %+v, Step %+v", seed, c.Seq, h2, h)
			}
			views, totals = views[:0], totals[:0]
			s.Apply(&c2, h)
			look()
			for j := range evs {
				s.Event(&evs[j])
				look()
			}
			s.Done()
			for _, v := range views {
				if got := s.view(v.cell); got != v.value {
					t.Fatalf("seed %d seq %d: Exact vouched for cell %d of account %d during the command, which saw %d free; after it %d",
						seed, c.Seq, v.cell%s.stride, v.cell/s.stride, v.value, got)
				}
			}
			for _, v := range totals {
				if got := s.cells[v.cell].total.Load(); got > v.value {
					t.Fatalf("seed %d seq %d: Final took total %d of cell %d of account %d as final during the command; after it %d",
						seed, c.Seq, v.value, v.cell%s.stride, v.cell/s.stride, got)
				}
			}
			vouched += len(views)
			finals += len(totals)
		}
		if ref.Hash() != s.Hash() {
			t.Fatalf("seed %d: the state stepped call by call differs from Step's", seed)
		}
	}
	t.Logf("%d views vouched for and %d totals taken as final during commands", vouched, finals)
	if vouched == 0 || finals == 0 {
		t.Fatalf("%d views vouched for and %d totals taken as final: the test looked at nothing", vouched, finals)
	}
}
