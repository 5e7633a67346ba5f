package node_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
)

// TestDataDirDeletedStopsTheNode: the data folder removed while the
// exchange runs (rm -rf data) is noticed at the next batch: that order is
// not acknowledged (it is rejected with a Text, or gets no answer), the
// node stops accepting orders, says why, and stops on its own (Done), so
// that `ringex serve` exits non-zero.
func TestDataDirDeletedStopsTheNode(t *testing.T) {
	dir := t.TempDir() + "/data"
	addr := fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)
	defer n.Stop()
	broker := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer broker.Close()
	order := func(id string) {
		broker.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "0")
	}
	order("BEFORE")
	expect(t, "order before the loss", broker.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "BEFORE", tag.ExecType: "0"})

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	order("AFTER")
	select {
	case <-n.Done():
	case <-time.After(wait):
		t.Fatalf("the node went on after its data folder was deleted")
	}
	time.Sleep(300 * time.Millisecond) // whatever answer AFTER gets
	if err := n.FailErr(); err == nil || !strings.Contains(err.Error(), "deleted while open") {
		t.Fatalf("node stopped with %v, want the journal's deletion named", err)
	}
	for _, m := range broker.Drain() {
		if f := fixtest.Fields(m); f[tag.ExecType] != "8" || f[tag.Text] == "" {
			t.Fatalf("after the data folder was deleted the broker got %v, want nothing or a reject with Text", f)
		}
	}
}
