package httpd_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
)

// chromium finds Debian's chromium (scripts/chromium.sh installs it;
// make test runs that script first), or skips the test saying why.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (scripts/chromium.sh installs it, as root with apt-get; make test runs it): the status page is not tested in a browser")
	return ""
}

// browser starts a headless chromium with a fresh profile and records
// every console message above info of the pages it opens: console.error
// and console.warn, uncaught exceptions, and the browser log's errors
// and warnings (a failed load, a blocked asset).
func browser(t *testing.T) (ctx context.Context, problems func() []string) {
	// Not t.TempDir: chromium's children can still be writing the profile
	// when chromedp has killed the browser, and t.TempDir's cleanup then
	// fails the test ("directory not empty"); this one is removed as far
	// as it can be.
	profile, err := os.MkdirTemp("", "ringex-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); os.RemoveAll(profile) })
	messages := chromedp.Console(ctx) // from the first target on
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the context ended
			}
			if m.Type == chromedp.ConsoleLog || m.Type == chromedp.ConsoleInfo || m.Type == chromedp.ConsoleDebug {
				continue
			}
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancelTimeout(); <-done })
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestStatusPageInBrowser opens the status page in headless chromium: it
// loads and shows the node, the journal's last seq on the page grows
// while a broker's orders flow over FIX, orders/s over the last minute
// shows a rate above 0, and the console shows no error or warning.
func TestStatusPageInBrowser(t *testing.T) {
	ctx, problems := browser(t)
	n, srv, cfg := exchange(t)
	srv.Attach(n)
	url := "http://" + srv.Addr().String() + "/"
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible("#lastSeq")); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	first := waitText(t, text, "#role", func(s string) bool { return strings.HasPrefix(s, "single") })
	t.Logf("role pill: %q", first)
	before := waitText(t, text, "#lastSeq", func(s string) bool { return s != "–" })

	b1 := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	t.Cleanup(b1.Close)
	sent := 0
	order := func() {
		sent++
		b1.Send("D", tag.ClOrdID, fmt.Sprintf("O%d", sent), tag.HandlInst, "1", tag.Symbol, "MSFT", tag.Side, "1",
			tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "50", tag.TimeInForce, "0")
		fixtest.Expect(t, "BROKER01's order", b1.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0"})
	}
	changed := func(sel, from string) string {
		for range 600 { // an order every 50 ms, at most 30 s of orders
			order()
			if s := text(sel); s != from && s != "–" {
				return s
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s still shows %q after %d orders", sel, from, sent)
		return ""
	}
	after := changed("#lastSeq", before)
	rate := changed("#ordersPerSec", "0")
	t.Logf("journal last seq %s → %s, orders/s %s after %d orders", before, after, rate, sent)
	if got := text("#sessions"); !strings.Contains(got, "BROKER01\tlogged on") {
		t.Errorf("sessions table: %q, want BROKER01 logged on", got)
	}
	if got := text("#symbols"); !strings.Contains(got, "MSFT") || !strings.Contains(got, "50") {
		t.Errorf("market table: %q, want MSFT's bid at 50", got)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the page's console is not clean:\n%s", strings.Join(p, "\n"))
	}
}

// waitText polls sel's text until ok holds, for at most 30 s.
func waitText(t *testing.T, text func(string) string, sel string, ok func(string) bool) string {
	var s string
	for range 300 {
		if s = text(sel); ok(s) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s shows %q", sel, s)
	return ""
}

// TestShardStatusPageInBrowser opens the status page of the leader of a
// shard led by a real etcd: it names the shard and this member, the
// leader, the fencing token and the lease left, and says the leader may
// acknowledge; when etcd stops, it says the leader may not, and why. The
// console shows no error or warning.
func TestShardStatusPageInBrowser(t *testing.T) {
	ctx, problems := browser(t)
	etcd := etcdtest.Start(t)
	srvs, prim, stby := shardPair(t, etcd)
	url := "http://" + srvs[prim].Addr().String() + "/"
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible("#shard")); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	token := shardOf(t, srvs[prim]).Token
	table := waitText(t, text, "#shard", func(s string) bool { return strings.Contains(s, "may acknowledge\tyes") })
	for _, want := range []string{"shard\ts1", "this member\t" + prim, "leader\t" + prim, fmt.Sprintf("fencing token\t%d", token), "lease left\t"} {
		if !strings.Contains(table, want) {
			t.Errorf("shard table %q lacks %q", table, want)
		}
	}
	if got := text("#shardName"); got != "shard s1 · "+prim {
		t.Errorf("header shows %q, want shard s1 · %s", got, prim)
	}
	// The members: the standby's position as it published it at a status
	// poll, heard through the leader's watch; the leader's own, live.
	var stbySeq int64
	for _, m := range membersPublished(t, etcd, srvs[prim], stby, token) {
		if m.Name == stby {
			stbySeq = m.DurableSeq
		}
	}
	members := waitText(t, text, "#shardMembers", func(s string) bool {
		return strings.Contains(s, fmt.Sprintf("%s\t%d\t%d\t", stby, stbySeq, token))
	})
	if !strings.Contains(members, prim+" (this node)\t") || !strings.Contains(members, "\tlive") || !strings.Contains(members, " s ago") {
		t.Errorf("members table %q: want %s as this node, live, and %s heard some seconds ago", members, prim, stby)
	}
	etcd.Stop()
	held := waitText(t, text, "#shard", func(s string) bool { return strings.Contains(s, "may acknowledge\tNO: the lease guard ran out") })
	t.Logf("with etcd stopped: %q", held)
	if p := problems(); len(p) > 0 {
		t.Errorf("the page's console is not clean:\n%s", strings.Join(p, "\n"))
	}
}
