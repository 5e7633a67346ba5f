package gateway

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringex/ringex/matcher"
)

type noSubmit struct{}

func (noSubmit) Submit(*matcher.Command) error { return nil }

// TestResendOnLogonFollowsDeliveryMarks: after a failover each account
// gets exactly the reports after its delivery mark: part of a command's
// reports when the mark falls inside it, the whole of a mass cancel whose
// report was not delivered (its per-symbol counts included, so the total
// is right), and by the published seq for an account the old primary sent
// no mark for.
func TestResendOnLogonFollowsDeliveryMarks(t *testing.T) {
	g, err := New(Options{Listen: "127.0.0.1:0", SenderCompID: "X",
		Sessions: []Session{{BeginString: "FIX.4.4", TargetCompID: "A"}, {BeginString: "FIX.4.4", TargetCompID: "B"}, {BeginString: "FIX.4.4", TargetCompID: "C"}},
		Symbols:  []Symbol{{Name: "S1", Tick: ScaleOf(1), Lot: ScaleOf(1)}, {Name: "S2", Tick: ScaleOf(1), Lot: ScaleOf(1)}}}, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	fill := func(seq int64, account uint32) matcher.Event {
		return matcher.Event{Seq: seq, Account: account, Type: matcher.EvFill}
	}
	massCancel := func(seq int64, account, symbol uint32, count int64) matcher.Event {
		return matcher.Event{Seq: seq, Account: account, Type: matcher.EvMassCancelReport, Price: massCancelAll, Symbol: symbol, CumQty: count}
	}
	evs := []matcher.Event{
		fill(10, 1), fill(10, 2), fill(10, 1), fill(10, 1), // A: marks 10·S+1..3; B: 10·S+1
		massCancel(11, 2, 1, 4), // B's all-symbols mass cancel: symbol 1 counts 4, no report
		fill(12, 1),             // A: 12·S+1
		massCancel(13, 2, 2, 3), // symbol 2: the report, total 7
		fill(14, 3), fill(15, 3),
	}
	const S = matcher.ExecIDStride
	delivered := []int64{0, 10*S + 2, 11*S + 0, 0} // A has its first two at seq 10; B nothing after seq 10; C: no mark
	g.SetDeliveredBefore(16)                       // promoted after seq 15
	reports, sessions := g.ResendOnLogon(evs, delivered, 14)

	marks := func(a uint32) (got []int64) {
		for _, p := range g.pending[a] {
			got = append(got, p.mark)
		}
		return got
	}
	if want := []int64{10*S + 3, 12*S + 1}; !slices.Equal(marks(1), want) {
		t.Errorf("A: pending marks %v, want %v", marks(1), want)
	}
	if want := []int64{11*S + 1, 13*S + 1}; !slices.Equal(marks(2), want) {
		t.Errorf("B: pending marks %v, want %v (both counts of its mass cancel)", marks(2), want)
	}
	if want := []int64{15*S + 1}; !slices.Equal(marks(3), want) {
		t.Errorf("C: pending marks %v, want %v (after published seq 14)", marks(3), want)
	}
	if reports != 4 || sessions != 3 {
		t.Errorf("ResendOnLogon counted %d reports for %d sessions, want 4 for 3", reports, sessions)
	}
	var affected int64
	for i, p := range g.pending[2] {
		if sent := g.massCancelReport(&g.out, &p.ev, &affected); sent != (i == 1) {
			t.Errorf("B's mass-cancel event %d: report %v", i, sent)
		}
	}
	if got := string(g.out.Bytes()); !strings.Contains(got, "533=7\x01") {
		t.Errorf("B's resent mass-cancel report %q lacks TotalAffectedOrders 7", got)
	}
	// Until they are delivered again, this node's own standby must not
	// take them for delivered.
	if d := g.Delivered(nil); d[1] != 10*S+2 || d[2] != 11*S || d[3] != 15*S {
		t.Errorf("Delivered after ResendOnLogon: %v", d)
	}
}
