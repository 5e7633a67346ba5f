package gateway

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringex/ringex/fix"
	"github.com/ringex/ringex/matcher"
)

// dropCopyPublisher is publisher(n) plus DROPCOPY, account n+1, the drop
// copy of the sessions named in of.
func dropCopyPublisher(tb testing.TB, n int, of ...string) (*Gateway, error) {
	tb.Helper()
	opts := publisher(tb, n).opts
	opts.StoreDir = tb.TempDir()
	opts.Sessions = append(slices.Clone(opts.Sessions), Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY", DropCopyOf: of})
	g, err := New(opts, noSubmit{})
	if err == nil {
		tb.Cleanup(g.Stop)
	}
	return g, err
}

// TestDropCopyLinks: "*" copies every broker session, a list only those
// named; a name that is no broker session is refused.
func TestDropCopyLinks(t *testing.T) {
	g, err := dropCopyPublisher(t, 3, "*")
	if err != nil {
		t.Fatal(err)
	}
	for a := 1; a <= 3; a++ {
		if !slices.Equal(g.accounts[a].copies, []uint32{4}) {
			t.Errorf("account %d copies to %v, want [4]", a, g.accounts[a].copies)
		}
	}
	if !g.accounts[4].dropCopy || len(g.accounts[4].copies) != 0 {
		t.Errorf("DROPCOPY: dropCopy %v, copies %v; want a drop copy that copies to nobody", g.accounts[4].dropCopy, g.accounts[4].copies)
	}
	g, err = dropCopyPublisher(t, 3, "BROKER2", "BROKER2")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.accounts[1].copies) != 0 || !slices.Equal(g.accounts[2].copies, []uint32{4}) {
		t.Errorf("copies %v %v, want BROKER2's only, once", g.accounts[1].copies, g.accounts[2].copies)
	}
	if got := g.WithCopied([]bool{false, false, false, false, true}); !slices.Equal(got, []bool{false, false, true, false, true}) {
		t.Errorf("WithCopied = %v, want BROKER2 added", got)
	}
	if _, err := dropCopyPublisher(t, 3, "NOBODY"); err == nil || !strings.Contains(err.Error(), `"NOBODY"`) {
		t.Errorf("dropCopyOf NOBODY: err %v, want one naming it", err)
	}
}

// publishAllocs publishes ev through g 1000 times, then measures the
// allocations of one Publish over 1000 more. The i-th event (from 0) has
// Seq i+1, OrderID and ExecID to match, and vary(i) applied. It returns
// the allocations per event and how many events it published.
func publishAllocs(g *Gateway, ev *matcher.Event, vary func(i int)) (allocs float64, published int) {
	i := 0
	publish := func() {
		ev.Seq = int64(i + 1)
		vary(i)
		ev.OrderID, ev.ExecID = ev.Seq, ev.Seq*matcher.ExecIDStride
		g.Publish(ev)
		i++
	}
	for range 1000 {
		publish()
	}
	allocs = testing.AllocsPerRun(1000, publish)
	return allocs, i
}

// TestPublishWithDropCopyAllocatesNothing: an event whose account has a
// drop copy goes to both sessions, and allocates nothing.
func TestPublishWithDropCopyAllocatesNothing(t *testing.T) {
	g, err := dropCopyPublisher(t, 4, "*")
	if err != nil {
		t.Fatal(err)
	}
	ev := fillEvent
	n, i := publishAllocs(g, &ev, func(i int) { ev.Account = uint32(i%4 + 1) })
	if n != 0 {
		t.Errorf("Publish with a drop copy allocates %v times an event", n)
	}
	if c := g.accounts[5].marks; c.seq != int64(i) || c.n != 1 {
		t.Errorf("DROPCOPY's marks at %+v, want seq %d n 1: every event copied", c, i)
	}
}

// TestReportsOfANamedAccountNameIt: a report of an order for a firm's
// named account (Event.Owner) carries Account (1) with the account's
// name, an ExecutionReport and an OrderCancelReject alike, to the session
// and its drop copy, allocating nothing; one of the session's own account
// carries no tag 1, as before firms.
func TestReportsOfANamedAccountNameIt(t *testing.T) {
	opts := publisher(t, 2).opts
	opts.StoreDir = t.TempDir()
	opts.Sessions = slices.Clone(opts.Sessions)
	opts.Sessions[0].Accounts = map[string]uint32{"ACC-A": 1024, "ACC-B": 1025}
	opts.Sessions = append(opts.Sessions, Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY", DropCopyOf: []string{"BROKER1"}})
	g, err := New(opts, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	var f fix.Fields
	for _, c := range []struct {
		name  string
		typ   matcher.EventType
		owner uint16
		want  string // "" : no tag 1
	}{
		{"fill_for_acc_b", matcher.EvFill, 1025, "ACC-B"},
		{"cancel_reject_for_acc_a", matcher.EvCancelRejected, 1024, "ACC-A"},
		{"fill_for_the_sessions_own", matcher.EvFill, 0, ""},
		{"fill_for_an_account_no_session_lists", matcher.EvFill, 2000, ""},
	} {
		ev := fillEvent
		ev.Account, ev.Owner, ev.Type, ev.OrderID = 1, c.owner, c.typ, 7
		f.Reset()
		g.report(&f, false, &ev)
		msg := string(f.Bytes())
		has := strings.HasPrefix(msg, "1=") || strings.Contains(msg, "\x011=")
		if want := "\x011=" + c.want + "\x01"; (c.want == "" && has) || (c.want != "" && !strings.Contains(msg, want)) {
			t.Errorf("%s: report %q, want Account %q", c.name, strings.ReplaceAll(msg, "\x01", "|"), c.want)
		}
	}
	ev := fillEvent
	ev.Account, ev.Owner = 1, 1025
	if n, _ := publishAllocs(g, &ev, func(int) {}); n != 0 {
		t.Errorf("Publish of a named account's report with a drop copy allocates %v times an event", n)
	}
}

// TestDropCopyHeaderByVersion: only a drop copy's ExecutionReports say
// 797=Y, and only where its version has the tag: FIX.4.4, or FIX.4.2 with
// CopyMsgIndicator (its engine's dictionary adds it); no version defines
// it in an OrderCancelReject or OrderMassCancelReport. A FIX.4.2 drop copy
// gets no OrderMassCancelReport (FIX 4.2 has none): resent after a
// failover it is passed over and not counted.
func TestDropCopyHeaderByVersion(t *testing.T) {
	g, err := New(Options{Listen: "127.0.0.1:0", SenderCompID: "X",
		Sessions: []Session{
			{BeginString: "FIX.4.4", TargetCompID: "A"},
			{BeginString: "FIX.4.4", TargetCompID: "DC44", DropCopyOf: []string{"A"}},
			{BeginString: "FIX.4.2", TargetCompID: "DC42", DropCopyOf: []string{"A"}},
			{BeginString: "FIX.4.2", TargetCompID: "MARKED42", DropCopyOf: []string{"A"}, CopyMsgIndicator: true},
		},
		Symbols: []Symbol{{Name: "S1", Tick: ScaleOf(1), Lot: ScaleOf(1)}}, StoreDir: t.TempDir()}, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	for a, want := range []bool{1: false, 2: true, 3: false, 4: true} {
		if a > 0 && g.accounts[a].copyMark != want {
			t.Errorf("account %d: copyMark %v, want %v", a, g.accounts[a].copyMark, want)
		}
	}
	for _, tc := range []struct {
		copyMark bool
		msgType  string
		live     bool
		want     string
	}{
		{true, "8", true, "797=Y|"}, {true, "8", false, "97=Y|797=Y|"},
		{true, "9", true, ""}, {true, "9", false, "97=Y|"}, {true, "r", true, ""},
		{false, "8", true, ""}, {false, "8", false, "97=Y|"},
	} {
		var got string
		if h := reportHeader(tc.copyMark, tc.msgType, tc.live); h != nil {
			got = strings.ReplaceAll(string(h.Bytes()), "\x01", "|")
		}
		if got != tc.want {
			t.Errorf("reportHeader(%v, %q, live %v) = %q, want %q", tc.copyMark, tc.msgType, tc.live, got, tc.want)
		}
	}

	report := matcher.Event{Seq: 5, Account: 1, Type: matcher.EvMassCancelReport, Price: massCancelAll, Symbol: 1, CumQty: 2}
	reports, sessions := g.ResendOnLogon([]matcher.Event{report}, []int64{0, 0, 0, 0, 0}, 5, nil)
	if reports != 2 || sessions != 4 {
		t.Errorf("ResendOnLogon: %d reports for %d sessions, want 2 (A's, DC44's) for 4", reports, sessions)
	}
	for a := uint32(1); a <= 4; a++ {
		var affected int64
		msgType, ok := g.reportOf(&g.out, g.sessionOf(a), &g.accounts[a].pending[0].ev, &affected)
		if want := a <= 2; ok != want || (ok && msgType != "r") {
			t.Errorf("account %d: the mass cancel's report %q %v, want one: %v", a, msgType, ok, want)
		}
	}
}
