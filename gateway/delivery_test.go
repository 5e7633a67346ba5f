package gateway

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

type noSubmit struct{}

func (noSubmit) Submit(*matcher.Command) error { return nil }

// TestResendOnLogonFollowsDeliveryMarks: after a failover each account
// gets exactly the reports after its delivery mark: part of a command's
// reports when the mark falls inside it, the whole of a mass cancel whose
// report was not delivered (its per-symbol counts included, so the total
// is right), and every kept report of an account the old primary had no
// mark for (0: it had no session for it, so the mark is unknown).
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
	delivered := []int64{0, 10*S + 2, 11*S + 0, 0} // A has its first two at seq 10; B nothing after seq 10; C: unknown
	g.SetDeliveredBefore(16)                       // promoted after seq 15
	reports, sessions := g.ResendOnLogon(evs, delivered, 14, nil)

	marks := func(a uint32) (got []int64) {
		for _, p := range g.accounts[a].pending {
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
	if want := []int64{14*S + 1, 15*S + 1}; !slices.Equal(marks(3), want) {
		t.Errorf("C: pending marks %v, want %v (no mark known: all of them, published or not)", marks(3), want)
	}
	if reports != 5 || sessions != 3 {
		t.Errorf("ResendOnLogon counted %d reports for %d sessions, want 5 for 3", reports, sessions)
	}
	var affected int64
	for i, p := range g.accounts[2].pending {
		if sent := g.massCancelReport(&g.out, &p.ev, &affected); sent != (i == 1) {
			t.Errorf("B's mass-cancel event %d: report %v", i, sent)
		}
	}
	if got := string(g.out.Bytes()); !strings.Contains(got, "533=7\x01") {
		t.Errorf("B's resent mass-cancel report %q lacks TotalAffectedOrders 7", got)
	}
	// Until they are delivered again, this node's own standby must not
	// take them for delivered.
	if d := g.Delivered(nil); d[1] != 10*S+2 || d[2] != 11*S || d[3] != 14*S {
		t.Errorf("Delivered after ResendOnLogon: %v", d)
	}
}

// TestHeldUntilLogonAndRebuiltFirst: on a promoted primary, a report made
// before its broker's first Logon waits with the resent ones, after them,
// instead of going to a session store that the broker's
// ResetSeqNumFlag=Y would empty; a mass cancel half before, half after
// keeps its whole total; an account whose older reports are being rebuilt
// from the journal gets them before its held ones, when they come.
func TestHeldUntilLogonAndRebuiltFirst(t *testing.T) {
	g, err := New(Options{Listen: "127.0.0.1:0", SenderCompID: "X",
		Sessions: []Session{{BeginString: "FIX.4.4", TargetCompID: "A"}, {BeginString: "FIX.4.4", TargetCompID: "B"}},
		Symbols:  []Symbol{{Name: "S1", Tick: ScaleOf(1), Lot: ScaleOf(1)}, {Name: "S2", Tick: ScaleOf(1), Lot: ScaleOf(1)}}}, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	const S = matcher.ExecIDStride
	fill := func(seq int64, account uint32) matcher.Event {
		return matcher.Event{Seq: seq, Account: account, Type: matcher.EvFill}
	}
	g.SetDeliveredBefore(21) // promoted after seq 20
	kept := []matcher.Event{fill(19, 1), fill(19, 2), fill(20, 2)}
	delivered := []int64{0, 18 * S, 5*S + 1}
	if reports, sessions := g.ResendOnLogon(kept, delivered, 20, []bool{false, false, true}); reports != 1 || sessions != 1 {
		t.Errorf("ResendOnLogon: %d reports for %d sessions, want 1 for 1 (B is being rebuilt)", reports, sessions)
	}
	if d := g.Delivered(nil); d[2] != 5*S+1 {
		t.Errorf("B's delivered mark while rebuilding: %d, want %d (where the old primary left it)", d[2], 5*S+1)
	}
	g.Publish(&matcher.Event{Seq: 21, Account: 1, Type: matcher.EvAccepted})
	g.Publish(&matcher.Event{Seq: 22, Account: 1, Type: matcher.EvMassCancelReport, Price: massCancelAll, Symbol: 1, CumQty: 2})
	g.Publish(&matcher.Event{Seq: 23, Account: 1, Type: matcher.EvMassCancelReport, Price: massCancelAll, Symbol: 2, CumQty: 3})
	g.Publish(&matcher.Event{Seq: 24, Account: 2, Type: matcher.EvAccepted})

	type entry struct {
		mark int64
		live bool
	}
	entries := func(a uint32) (got []entry) {
		for _, p := range g.accounts[a].pending {
			got = append(got, entry{p.mark, p.live})
		}
		return got
	}
	if want := []entry{{19*S + 1, false}, {21*S + 1, true}, {23*S + 1, true}}; !slices.Equal(entries(1), want) {
		t.Errorf("A pending %v, want %v", entries(1), want)
	}
	if got := g.accounts[1].pending[2].ev.CumQty; got != 5 {
		t.Errorf("A's held mass-cancel report counts %d, want the total 5", got)
	}
	if want := []entry{{24*S + 1, true}}; !slices.Equal(entries(2), want) {
		t.Errorf("B pending before its rebuild %v, want %v", entries(2), want)
	}
	rebuilt := []matcher.Event{fill(5, 2), fill(7, 1), fill(7, 2), fill(19, 2), fill(20, 2)}
	if reports, sessions := g.Regenerated(rebuilt, delivered, 20, nil); reports != 3 || sessions != 1 {
		t.Errorf("Regenerated: %d reports for %d sessions, want 3 for 1", reports, sessions)
	}
	if want := []entry{{7*S + 1, false}, {19*S + 1, false}, {20*S + 1, false}, {24*S + 1, true}}; !slices.Equal(entries(2), want) {
		t.Errorf("B pending after its rebuild %v, want %v", entries(2), want)
	}
	if want := []entry{{19*S + 1, false}, {21*S + 1, true}, {23*S + 1, true}}; !slices.Equal(entries(1), want) {
		t.Errorf("A pending after B's rebuild %v, want %v (untouched)", entries(1), want)
	}
}

// TestLongResendIsPaced: a broker owed more reports than a session's out
// queue holds (8 MiB) gets every one, in order, after its Logon: the flush
// waits for the socket between chunks instead of tripping the slow-consumer
// disconnect, though the broker stops reading for a while. A report made
// meanwhile comes after all of them.
func TestLongResendIsPaced(t *testing.T) {
	const owed = 40_000 // about 11 MiB of ExecutionReports
	g, err := New(Options{Listen: "127.0.0.1:0", SenderCompID: "RINGEX", StoreDir: t.TempDir(), Log: logtest.New(t),
		Sessions: []Session{{BeginString: "FIX.4.4", TargetCompID: "BROKER01"}},
		Symbols:  []Symbol{{Name: "AAPL", Tick: mustScale(t, "0.01"), Lot: ScaleOf(1)}}}, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]matcher.Event, owed)
	for i := range evs {
		seq := int64(i + 1)
		evs[i] = matcher.Event{Seq: seq, Account: 1, Symbol: 1, Type: matcher.EvFill, OrderID: seq, ExecID: seq * matcher.ExecIDStride,
			OrderQty: 10, CumQty: 10, LastQty: 10, LastPx: 10000, CumNotional: 100000, Price: 10000}
	}
	g.SetDeliveredBefore(owed + 1)
	if reports, _ := g.ResendOnLogon(evs, []int64{0, 0}, 0, nil); reports != owed {
		t.Fatalf("ResendOnLogon: %d reports pending, want %d", reports, owed)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	c := fixtest.Dial(t, g.Addr().String(), "FIX.4.4", "BROKER01", "RINGEX")
	defer c.Close()
	g.Publish(&matcher.Event{Seq: owed + 1, Account: 1, Symbol: 1, Type: matcher.EvAccepted, OrderID: owed + 1,
		ExecID: (owed + 1) * matcher.ExecIDStride, OrderQty: 10, LeavesQty: 10, Price: 10000})
	// The broker reads nothing for a while (its inbox holds 1,024
	// messages): the socket fills and the session's queue would grow.
	time.Sleep(time.Second)
	for i := range owed + 1 {
		m := c.Next(10 * time.Second)
		want := strconv.Itoa((i + 1) * matcher.ExecIDStride)
		if id, _ := m.Body.GetString(tag.ExecID); id != want {
			t.Fatalf("report %d: ExecID %s, want %s", i, id, want)
		}
	}
	c.Quiet(200 * time.Millisecond)
}
