package node_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// TestPromotedPrimaryStopsOnAFullFIXStore: a standby promoted to primary
// opens its FIX gateway in openGateway. Its session stores' disk fills: as
// on a node started as primary (TestFullFIXStoreStopsAcknowledging), the
// node must stop on its own (Done) naming the store, not go on
// acknowledging other brokers' orders. The standby's data folder is a small
// tmpfs; its journal folder is a symlink to the ordinary disk, so only the
// FIX stores run out of room (root only).
func TestPromotedPrimaryStopsOnAFullFIXStore(t *testing.T) {
	dirP := t.TempDir()
	var logP, logS logLines
	cfgP := replCfg(dirP, "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p, err := node.Start(cfgP, node.Options{Logf: func(f string, a ...any) { logP.logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	base := t.TempDir()
	dataS := filepath.Join(base, "data")
	if err := os.MkdirAll(dataS, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dataS, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("needs a tmpfs mount (root): %v", err)
	}
	defer syscall.Unmount(dataS, syscall.MNT_DETACH)
	realJournal := filepath.Join(base, "journal")
	if err := os.MkdirAll(realJournal, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(realJournal, filepath.Join(dataS, "journal")); err != nil {
		t.Fatal(err)
	}
	cfgS := replCfg(dataS, "standby", p.ReplicationAddr().String())
	cfgS.Replication.Mode = config.ModeAsync // the promoted node serves alone
	cfgS.Replication.OnStandbyLost = config.LostAsync
	cfgS.FIX.Listen = fixtest.FreeAddr(t)
	cfgS.FIX.Sessions = slices.Clone(cfgP.FIX.Sessions)
	s, err := node.Start(cfgS, node.Options{Logf: func(f string, a ...any) { logS.logf(f, a...); t.Logf("S: "+f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitUntil(t, "the standby follows", func() bool { st, _ := s.ReplicationStats(); return st.InSync })
	failOver(t, p, s)

	b1 := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	order := func(i int) {
		b1.Send("D", tag.ClOrdID, fmt.Sprintf("O%d", i), tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "0")
	}
	order(0)
	expect(t, "order before the disk is full", b1.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "O0", tag.ExecType: "0"})
	fillDisk(t, filepath.Join(dataS, "filler"))

	halted, answered := false, 0
	for i := 1; i <= 200 && !halted; i++ {
		order(i)
		deadline := time.Now().Add(2 * time.Second)
		got := false
		for !got && !halted && time.Now().Before(deadline) {
			select {
			case <-s.Done():
				halted = true
			case <-time.After(10 * time.Millisecond):
			}
			if len(b1.Drain()) > 0 {
				got = true
				answered++
			}
		}
		if !got && !halted {
			break // the session's store failed: it sends nothing more
		}
	}
	if !halted {
		select {
		case <-s.Done():
			halted = true
		case <-time.After(wait):
		}
	}
	if !halted {
		t.Fatalf("the promoted primary's FIX session store is full (BROKER01 got %d answers, then none), but the node did not stop: Done not closed, FailErr %v", answered, s.FailErr())
	}
}
