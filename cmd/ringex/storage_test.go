package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestServeExitsWhenDataDirDeleted: `rm -rf data` under a running
// exchange is noticed at the next order's batch; that order is not
// acknowledged, the log says why, and serve exits with status 1.
func TestServeExitsWhenDataDirDeleted(t *testing.T) {
	bin := ringexBin(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := fixtest.FreeAddr(t)
	p := startProc(t, bin, "serve", "--data", dir, "--listen", addr)
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	broker := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer broker.Close()
	order := func(id string) {
		broker.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "0")
	}
	order("BEFORE")
	fixtest.Expect(t, "order before", broker.Next(10*time.Second), map[quickfix.Tag]string{tag.ClOrdID: "BEFORE", tag.ExecType: "0"})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	order("AFTER")
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("serve went on after its data folder was deleted")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve ended with %v, want exit status 1", err)
	}
	if !p.has("STOPPED ACCEPTING ORDERS") || !p.has("deleted while open") {
		t.Fatal("the log does not say why it stopped")
	}
	for _, m := range broker.Drain() {
		if f := fixtest.Fields(m); f[tag.ClOrdID] == "AFTER" && f[tag.ExecType] != "8" {
			t.Fatalf("AFTER was acknowledged: %v", f)
		}
	}
}
