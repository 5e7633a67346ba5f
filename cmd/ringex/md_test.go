package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// TestMdServeListenBookCheck runs `ringex md serve`'s feed over a journal
// that a writer keeps extending (with fsync, so its DURABLE mark moves),
// and the three receiving verbs against it: listen prints messages, book
// prints the resting orders, check follows the live feed and finds its
// book equal to a fresh snapshot.
func TestMdServeListenBookCheck(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	dir := filepath.Join(cfg.DataDir, "journal")
	j, err := journal.Open(journal.Options{Dir: dir, Sync: journal.SyncBatch, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	w := &mdWriter{t: t, j: j}
	for range 50 {
		w.next()
	}
	group := fmt.Sprintf("239.77.2.3:%d", 47000+time.Now().UnixNano()%1000)
	addrc := make(chan net.Addr, 1)
	stop := make(chan os.Signal)
	served := make(chan error, 1)
	go func() {
		served <- runFeed(feedSetup{dir: dir, cfg: cfg, recovery: "127.0.0.1:0", poll: 5 * time.Millisecond, send: []string{group},
			ready: func(a net.Addr) { addrc <- a }}, stop, os.Stderr)
	}()
	addr := (<-addrc).String()
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		for range 300 {
			w.next()
			time.Sleep(time.Millisecond)
		}
	}()
	code, out, errOut := runCLI("md", "listen", "--recovery", addr, "--count", "20", "--for", "20s")
	if code != 0 || strings.Count(out, "\n") < 20 || !strings.Contains(out, " A sym ") {
		t.Errorf("md listen: exit %d, stderr %s, stdout:\n%s", code, errOut, out)
	}
	if mc, err := net.ListenMulticastUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(group))); err != nil {
		t.Logf("no multicast here (%v): md check over multicast not run", err)
	} else {
		mc.Close()
		code, out, errOut = runCLI("md", "check", "--recovery", addr, "--for", "300ms", "--udp", group, "--udp-if", "lo")
		if code != 0 || !strings.Contains(out, "OK:") {
			t.Errorf("md check over multicast: exit %d, stdout %s, stderr %s", code, out, errOut)
		}
		t.Log(out)
	}

	code, out, errOut = runCLI("md", "check", "--recovery", addr, "--for", "500ms")
	if code != 0 || !strings.Contains(out, "OK:") {
		t.Errorf("md check: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	<-writing
	code, out, errOut = runCLI("md", "check", "--recovery", addr, "--for", "100ms")
	if code != 0 || !strings.Contains(out, "OK:") {
		t.Errorf("md check after the writer stopped: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	code, out, errOut = runCLI("md", "book", "--recovery", addr)
	if code != 0 || !strings.Contains(out, "bid ") || !strings.Contains(out, "ask ") {
		t.Errorf("md book: exit %d, stderr %s, stdout:\n%s", code, errOut, out)
	}
	close(stop)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// mdWriter journals a plain stream on the default config's first symbol:
// orders on both sides around 1000 ticks that rest and cross, and cancels.
type mdWriter struct {
	t   *testing.T
	j   *journal.Journal
	seq int64
}

func (w *mdWriter) next() {
	w.seq++
	cl, _ := matcher.MakeClOrdID(fmt.Sprintf("o%d", w.seq))
	c := matcher.Command{Seq: w.seq, TimeNs: w.seq, Kind: matcher.KindNew, Symbol: 1, Account: 1 + uint32(w.seq%3),
		ClOrdID: cl, Side: matcher.Side(1 + w.seq%2), Type: matcher.Limit, TIF: matcher.GTC, Price: 1000 + w.seq%7 - 3, Qty: 1 + w.seq%5}
	if w.seq%6 == 0 {
		c = matcher.Command{Seq: w.seq, TimeNs: w.seq, Kind: matcher.KindCancel, Symbol: 1, Account: 1 + uint32((w.seq-4)%3), OrderID: w.seq - 4, ClOrdID: cl}
	}
	var b [matcher.CommandSize]byte
	if err := w.j.Append(w.seq, c.Encode(b[:0])); err != nil {
		w.t.Error(err)
	}
	if err := w.j.Commit(); err != nil {
		w.t.Error(err)
	}
}
