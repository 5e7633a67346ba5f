package node_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// dropCopyConfig is the default config plus DROPCOPY (account 9), a
// drop-copy session of BROKER01 and BROKER02.
func dropCopyConfig(t *testing.T, dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY",
		DropCopyOf: []string{"BROKER01", "BROKER02"}})
	return cfg
}

// reportsUntil reads c's messages until one has ClOrdID last and ExecType
// lastType, and returns them all; it fails the test after wait, or at
// once when c refused a message (a session Reject: its data dictionary,
// fixtest.WithDataDictionary, did not take it).
func reportsUntil(t *testing.T, who string, c *fixtest.Client, last, lastType string) []map[quickfix.Tag]string {
	t.Helper()
	var out []map[quickfix.Tag]string
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if r := c.Rejects(); len(r) > 0 {
			t.Fatalf("%s refused %d messages (session Rejects %v); got %v", who, len(r), r, out)
		}
		ms := c.Drain()
		if len(ms) == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		for _, m := range ms {
			f := fixtest.Fields(m)
			out = append(out, f)
			if f[tag.ClOrdID] == last && f[tag.ExecType] == lastType {
				return out
			}
		}
	}
	t.Fatalf("%s: no report %s with ExecType %s within %v; got %v", who, last, lastType, wait, out)
	return nil
}

// TestDropCopy: DROPCOPY, a real FIX session configured as the drop copy
// of BROKER01 and BROKER02, gets every ExecutionReport of theirs (New,
// the fills of a trade between them, a Canceled) with 797=Y and the
// ExecID the broker got, none of BROKER03's, and has an order refused.
func TestDropCopy(t *testing.T) {
	cfg := dropCopyConfig(t, t.TempDir())
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	dc := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	b2 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02", "RINGEX")
	defer b2.Close()
	b3 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03", "RINGEX")
	defer b3.Close()

	newOrder := func(b *fixtest.Client, id, side, px, qty string) {
		b.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, side, tag.OrdType, "2", tag.Price, px, tag.OrderQty, qty)
	}
	newOrder(b3, "X3", "1", "50", "5") // BROKER03's: not copied
	brokers := reportsUntil(t, "BROKER03", b3, "X3", "0")
	newOrder(b1, "B1", "1", "100", "10")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B1", "0")...)
	newOrder(b2, "S2", "2", "100", "10")
	brokers = append(brokers, reportsUntil(t, "BROKER02", b2, "S2", "F")...)
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B1", "F")...)
	newOrder(b1, "B3", "1", "90", "4")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "B3", "0")...)
	b1.Send("F", tag.ClOrdID, "C3", tag.OrigClOrdID, "B3", tag.Symbol, "AAPL", tag.Side, "1")
	brokers = append(brokers, reportsUntil(t, "BROKER01", b1, "C3", "4")...)

	copies := reportsUntil(t, "DROPCOPY", dc, "C3", "4")
	want := map[string]string{} // ExecID → ClOrdID/ExecType, of BROKER01's and BROKER02's reports
	for _, f := range brokers {
		if f[tag.ClOrdID] != "X3" {
			want[f[tag.ExecID]] = f[tag.ClOrdID] + "/" + f[tag.ExecType]
		}
	}
	if len(want) != 6 {
		t.Fatalf("brokers got %d reports, want 6 (New B1, New S2, two fills, New B3, Canceled C3): %v", len(want), brokers)
	}
	for _, f := range copies {
		if f[tag.CopyMsgIndicator] != "Y" || f[tag.MsgType] != "8" {
			t.Errorf("DROPCOPY: %v, want an ExecutionReport with 797=Y", f)
		}
		if got := f[tag.ClOrdID] + "/" + f[tag.ExecType]; want[f[tag.ExecID]] != got {
			t.Errorf("DROPCOPY: report %s ExecID %s, which no broker got as such (want %q)", got, f[tag.ExecID], want[f[tag.ExecID]])
		}
		delete(want, f[tag.ExecID])
	}
	if len(want) > 0 {
		t.Errorf("DROPCOPY lacks copies of %v", want)
	}

	// An order on the drop-copy session is refused, and changes nothing.
	newOrder(dc, "D1", "1", "100", "1")
	m := dc.Next(wait)
	fixtest.Expect(t, "DROPCOPY's order", m, map[quickfix.Tag]string{tag.MsgType: "j", tag.RefMsgType: "D", tag.BusinessRejectReason: "6"})

	// A mass cancel's Canceled and OrderMassCancelReport are copied too,
	// the report without 797 (FIX 4.4 defines it in no OrderMassCancelReport).
	newOrder(b1, "B4", "1", "80", "3")
	reportsUntil(t, "BROKER01", b1, "B4", "0")
	b1.Send("q", tag.ClOrdID, "M1", tag.MassCancelRequestType, "7")
	own := reportsUntil(t, "BROKER01", b1, "M1", "")
	copies = reportsUntil(t, "DROPCOPY", dc, "M1", "")
	if len(copies) != 3 || len(own) != 2 {
		t.Fatalf("DROPCOPY got %v, want the New and Canceled of B4 and the mass cancel report BROKER01 got (%v)", copies, own)
	}
	for i, f := range copies[1:] {
		want97 := "Y" // on the Canceled; FIX 4.4 defines no 797 in an OrderMassCancelReport
		if f[tag.MsgType] == "r" {
			want97 = ""
		}
		if f[tag.CopyMsgIndicator] != want97 || f[tag.MsgType] != own[i][tag.MsgType] || f[tag.ExecID] != own[i][tag.ExecID] ||
			f[tag.TotalAffectedOrders] != own[i][tag.TotalAffectedOrders] {
			t.Errorf("DROPCOPY: %v, want %v with 797 %q", f, own[i], want97)
		}
	}
}

// TestDropCopyAcrossRestart: DROPCOPY (FIX 4.4) and COPY42 (FIX 4.2)
// are logged out while BROKER01 and BROKER02 trade; the machine then dies
// with the fills journaled and the drop-copy sessions' stores' last
// writes lost (put back as they were before the sell). On restart each
// drop copy's next Logon brings the New it was queued before the crash
// and the reports of the trade rebuilt from the journal, with
// PossResend=Y; DROPCOPY's each with 797=Y, COPY42's without (FIX 4.2
// has no tag 797): each engine validates them with its version's stock
// data dictionary and refuses none.
func TestDropCopyAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := dropCopy42Config(t, dir)
	start := func() *node.Node {
		t.Helper()
		n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	submit := func(n *node.Node, cmds ...*matcher.Command) {
		t.Helper()
		for _, c := range cmds {
			if err := n.Submit(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	submit(start(), order(1, "B1", matcher.Buy, 100, 10))
	stores, saved := filepath.Join(dir, "fix"), filepath.Join(t.TempDir(), "fix")
	if err := os.CopyFS(saved, os.DirFS(stores)); err != nil {
		t.Fatal(err)
	}
	submit(start(), order(2, "S2", matcher.Sell, 100, 20))
	// The crash loses the drop copies' store writes only: the brokers'
	// stores hold their reports, so only the copies need rebuilding.
	restoreStore(t, stores, saved, "DROPCOPY")
	restoreStore(t, stores, saved, "COPY42")

	n := start()
	defer n.Stop()
	for name, got := range copiesByVersion(t, cfg.FIX.Listen, 4) {
		if _, ok := got["B1/0"]; !ok {
			t.Errorf("%s lacks the New of B1, queued for it before the crash: %v", name, got)
		}
		for _, k := range []string{"S2/0", "S2/1", "B1/2"} { // New, partly filled, filled
			f, ok := got[k]
			if !ok || f[tag.PossResend] != "Y" {
				t.Errorf("%s: %s %v, want it rebuilt with PossResend=Y (all: %v)", name, k, f, got)
			}
		}
	}
}

// restoreStore puts back the files of the store in dir of the session
// whose name contains compID as they are in saved.
func restoreStore(t *testing.T, dir, saved, compID string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "*"+compID+"*"))
	back, _ := filepath.Glob(filepath.Join(saved, "*"+compID+"*"))
	if len(old) == 0 || len(back) == 0 {
		t.Fatalf("no store files of %s in %s (%v) or %s (%v)", compID, dir, old, saved, back)
	}
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range back {
		b, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDropCopyGetsTheCancelsOfARestart: BROKER01's resting Day order is
// cancelled when the exchange starts again (cancel-on-disconnect); the
// Canceled, held until a Logon, reaches DROPCOPY's next Logon too.
func TestDropCopyGetsTheCancelsOfARestart(t *testing.T) {
	cfg := dropCopyConfig(t, t.TempDir())
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	day := order(1, "D1", matcher.Buy, 100, 10)
	day.TIF = matcher.Day
	if err := n.Submit(day); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if n, err = node.Start(cfg, node.Options{Log: logtest.New(t)}); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	dc := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "DROPCOPY", "RINGEX")
	defer dc.Close()
	for _, f := range reportsUntil(t, "DROPCOPY", dc, "D1", "4") {
		if f[tag.CopyMsgIndicator] != "Y" {
			t.Errorf("DROPCOPY: %v without 797=Y", f)
		}
	}
}

// TestDropCopyAfterAFailover: DROPCOPY (FIX 4.4) and COPY42 (FIX 4.2) are
// away while BROKER01 and BROKER02 trade on the primary; after a failover
// each one's first Logon on the new primary brings the copies of the four
// reports, by its own delivery mark, with PossResend=Y, DROPCOPY's with
// 797=Y and COPY42's without; each engine validates them with its
// version's stock data dictionary and refuses none.
func TestDropCopyAfterAFailover(t *testing.T) {
	var logS logLines
	p, s, _, cfgS := startFIXPair(t, func(c *config.Config) {
		c.FIX.Sessions = append(c.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: "DROPCOPY", DropCopyOf: []string{"*"}},
			config.Session{BeginString: "FIX.4.2", TargetCompID: "COPY42", DropCopyOf: []string{"*"}})
	}, &logS)
	if err := p.Submit(order(1, "B1", matcher.Buy, 100, 10)); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(order(2, "S2", matcher.Sell, 100, 10)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the standby has both orders and hears they were published", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(p) >= 2 && lastSeq(s) == lastSeq(p) && st.PrimaryPublished >= lastSeq(p)
	})
	failOver(t, p, s)

	for name, got := range copiesByVersion(t, cfgS.FIX.Listen, 4) {
		for _, k := range []string{"B1/0", "S2/0", "S2/2", "B1/2"} {
			if f, ok := got[k]; !ok || f[tag.PossResend] != "Y" {
				t.Errorf("%s after the failover: %s %v, want it with 97=Y (all: %v)", name, k, f, got)
			}
		}
	}
}

// copiesByVersion logs DROPCOPY (FIX 4.4) and COPY42 (FIX 4.2) on to addr,
// each an engine validating with its version's stock data dictionary
// (dialStock), and returns by name the first n reports each gets, by
// ClOrdID/OrdStatus (ExecType differs by version). It fails the test at
// once on a report its engine refused, and marks one that comes twice or
// whose CopyMsgIndicator is not its version's (797=Y on FIX 4.4, none on
// FIX 4.2, which has no tag 797).
func copiesByVersion(t *testing.T, addr string, n int) map[string]map[string]map[quickfix.Tag]string {
	t.Helper()
	out := map[string]map[string]map[quickfix.Tag]string{}
	for _, d := range []struct{ begin, name, want797 string }{
		{quickfix.BeginStringFIX44, "DROPCOPY", "Y"},
		{quickfix.BeginStringFIX42, "COPY42", ""},
	} {
		dc := dialStock(t, addr, d.begin, d.name)
		defer dc.Close()
		got := map[string]map[quickfix.Tag]string{}
		for range n {
			f := fixtest.Fields(dc.NextValid(wait))
			k := f[tag.ClOrdID] + "/" + f[tag.OrdStatus]
			if got[k] != nil || f[tag.CopyMsgIndicator] != d.want797 {
				t.Errorf("%s: %s %v, want each report once with CopyMsgIndicator %q", d.name, k, f, d.want797)
			}
			got[k] = f
		}
		out[d.name] = got
	}
	return out
}
