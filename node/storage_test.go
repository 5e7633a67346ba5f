package node_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/node"
	"github.com/ringex/ringex/replica"
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

// TestFullFIXStoreStopsAcknowledging: the FIX session stores' disk fills
// (a small tmpfs under the data folder; root only). The first report that
// cannot be stored is not sent, the node stops acknowledging and stops on
// its own naming the store, and a restart on the same folder serves again.
func TestFullFIXStoreStopsAcknowledging(t *testing.T) {
	dir := t.TempDir()
	fixDir := filepath.Join(dir, "fix")
	if err := os.MkdirAll(fixDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", fixDir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("needs a tmpfs mount (root): %v", err)
	}
	defer syscall.Unmount(fixDir, syscall.MNT_DETACH)
	addr := fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)
	broker := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	order := func(i int) { // GTC: the restart's cancel-on-disconnect leaves them
		broker.Send("D", tag.ClOrdID, fmt.Sprintf("O%d", i), tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "1")
	}
	order(0)
	expect(t, "order before the disk is full", broker.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "O0", tag.ExecType: "0"})
	fillDisk(t, filepath.Join(fixDir, "filler"))

	// The store's last page still has room for a few reports; the first
	// that needs a new page fails.
	halted := false
	for i := 1; i <= 100 && !halted; i++ {
		order(i)
		deadline := time.Now().Add(wait)
		got := false
		for !got && !halted && time.Now().Before(deadline) {
			select {
			case <-n.Done():
				halted = true
			case <-time.After(10 * time.Millisecond):
			}
			for _, m := range broker.Drain() {
				expect(t, "order while the store could be written", m, map[quickfix.Tag]string{tag.ClOrdID: fmt.Sprintf("O%d", i), tag.ExecType: "0"})
				got = true
			}
		}
		if !got && !halted {
			t.Fatalf("order O%d: no answer and the node still runs", i)
		}
	}
	if !halted {
		t.Fatal("100 orders acknowledged after the FIX stores' disk filled")
	}
	if err := n.FailErr(); err == nil || !strings.Contains(err.Error(), "FIX session store") || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("node stopped with %v, want the store's failure named", err)
	}
	time.Sleep(300 * time.Millisecond)
	for _, m := range broker.Drain() {
		t.Errorf("after the store failed the broker got %v", fixtest.Fields(m))
	}
	broker.Close()
	n.Stop()

	os.Remove(filepath.Join(fixDir, "filler"))
	n = startNode(t, dir, addr)
	defer n.Stop()
	broker = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer broker.Close()
	order(1000)
	// Orders journaled but not answered when the store failed are answered
	// after the restart (PossResend=Y, rebuilt from the journal or carried
	// over by the reset Logon; an answered one may come again, so marked),
	// before the new one.
	for i := 0; ; i++ {
		f := fixtest.Fields(broker.Next(wait))
		if f[tag.ClOrdID] == "O1000" {
			if f[tag.ExecType] != "0" {
				t.Fatalf("order after the restart: %v", f)
			}
			break
		}
		if f[tag.ExecType] != "0" || f[tag.PossResend] != "Y" || i >= 102 {
			t.Fatalf("before the order after the restart: %v; want only the New of an earlier order, with PossResend=Y", f)
		}
	}
}

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
	p, err := node.Start(cfgP, node.Options{Log: logP.Logger()})
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
	s, err := node.Start(cfgS, node.Options{Log: logS.Tee(t, "S").Logger()})
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
	if err := s.FailErr(); err == nil || !strings.Contains(err.Error(), "FIX session store") {
		t.Errorf("the promoted primary stopped, but FailErr does not name the FIX session store: %v", err)
	}
}

// fillDisk writes to path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for range 1 << 16 {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatal("the disk never filled")
}

// TestLostAcknowledgedRecordsRefuseToStart: acknowledged records zeroed at
// the end of the active segment are not taken for a torn tail: the node
// refuses to start, naming the file, the offset and the missing seqs. When
// the operator starts it anyway (startFromLastGood), no OrderID a broker
// has seen is given again.
func TestLostAcknowledgedRecordsRefuseToStart(t *testing.T) {
	dir := t.TempDir()
	addr := fixtest.FreeAddr(t)
	n := startNode(t, dir, addr)
	broker := fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	maxOrderID, lastNew := 0, int64(0)
	for i := range 10 {
		broker.Send("D", tag.ClOrdID, fmt.Sprintf("O%d", i), tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
			tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "1")
		f := expect(t, "new", broker.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: fmt.Sprintf("O%d", i), tag.ExecType: "0"})
		id, _ := strconv.Atoi(f[tag.OrderID])
		maxOrderID, lastNew = max(maxOrderID, id), execSeq(t, f)
	}
	// The broker's engine confirms its reports before the stop: else the
	// next start resends them (PossResend=Y) ahead of the reply expected.
	waitConfirmed(t, n, 1, lastNew, 1)
	n.Stop() // GTC orders, stopped before the broker leaves: the orders are the last records
	broker.Close()

	seg, off := zeroLastRecords(t, filepath.Join(dir, "journal"), 3)
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = dir, addr
	_, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err == nil || !strings.Contains(err.Error(), seg) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", off)) ||
		!strings.Contains(err.Error(), "are missing") {
		t.Fatalf("start on a journal whose acknowledged end was zeroed: %v; want a refusal naming %s, offset %d and the missing seqs", err, seg, off)
	}

	cfg.Journal.StartFromLastGood = true
	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start with startFromLastGood: %v", err)
	}
	defer n.Stop()
	broker = fixtest.Dial(t, addr, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer broker.Close()
	broker.Send("D", tag.ClOrdID, "AFTER", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100",
		tag.OrdType, "2", tag.Price, "101.25", tag.TimeInForce, "0")
	f := expect(t, "new after the loss", broker.Next(wait), map[quickfix.Tag]string{tag.ClOrdID: "AFTER", tag.ExecType: "0"})
	if id, _ := strconv.Atoi(f[tag.OrderID]); id <= maxOrderID {
		t.Fatalf("OrderID %d given again: the broker has seen OrderIDs up to %d", id, maxOrderID)
	}
}

// TestLostRecordsMarkersAndTheStandby: a sync primary's last 3 records
// (acknowledged: its standby had made them durable first) are zeroed; the
// operator starts it with startFromLastGood, and it journals markers at
// those seqs (node/missing.go). Its standby still holds the real records
// at the same seqs, in the same epoch. When the standby follows again the
// two journals must not hold different records at the same seq with both
// running on (determinism: one history). Either the standby's records are
// taken, or the standby is told it diverged from the first lost seq on and
// stops (Run then sets its copies aside and follows again).
func TestLostRecordsMarkersAndTheStandby(t *testing.T) {
	var logs logLines
	dirP, dirS := t.TempDir(), t.TempDir()
	cfgP := replCfg(dirP, "primary", "")
	cfgP.Replication.Listen = "127.0.0.1:0"
	p, _ := startRepl(t, cfgP, &logs)
	cfgS := replCfg(dirS, "standby", p.ReplicationAddr().String())
	s, _ := startRepl(t, cfgS, &logs)
	trade(t, p, "A", 20)
	waitUntil(t, "the standby has every record", func() bool { return lastSeq(s) == lastSeq(p) && lastSeq(p) >= 20 })
	last := lastSeq(p)
	s.Stop()
	p.Stop()

	zeroLastRecords(t, filepath.Join(dirP, "journal"), 3)
	cfgP.Journal.StartFromLastGood = true
	cfgP.Replication.Listen = p.ReplicationAddr().String() // the standby's primary address
	p, _ = startRepl(t, cfgP, &logs)
	defer p.Stop()
	s, _ = startRepl(t, cfgS, &logs)
	defer s.Stop()
	trade(t, p, "B", 10)
	toldDiverged := func() {
		t.Logf("the standby stopped: %v", s.FailErr())
		var div *replica.DivergedError
		if !errors.As(s.FailErr(), &div) || div.Keep != last-3 {
			t.Errorf("the standby stopped, but not told it diverges after seq %d, before the first lost record: %v", last-3, s.FailErr())
		}
	}
	// Until the standby has followed past the lost seqs to the primary's
	// end, or stopped: a primary still at the markers' end proves nothing.
	deadline := time.Now().Add(wait)
	for (lastSeq(p) <= last || lastSeq(s) < lastSeq(p)) && time.Now().Before(deadline) {
		select {
		case <-s.Done():
			toldDiverged()
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	var differ []int64
	recs := map[int64][]byte{}
	journal.Read(filepath.Join(dirP, "journal"), last-2, func(seq int64, r []byte) error {
		recs[seq] = bytes.Clone(r)
		return nil
	})
	journal.Read(filepath.Join(dirS, "journal"), last-2, func(seq int64, r []byte) error {
		if seq <= last && !bytes.Equal(recs[seq], r) {
			differ = append(differ, seq)
		}
		return nil
	})
	select {
	case <-s.Done():
		toldDiverged()
		return
	default:
	}
	if len(differ) > 0 {
		t.Fatalf("primary (at %d) and standby (at %d) both run on, in sync, with different records at seqs %v: the primary journaled markers where its standby holds the acknowledged records", lastSeq(p), lastSeq(s), differ)
	}
}

// zeroLastRecords zeroes the last k records of the journal's active
// segment (journal's documented layout: a 24-byte header, then frames of a
// 16-byte header, length at byte 4, and the payload) and returns the
// segment's path and the offset of the first zeroed record.
func zeroLastRecords(t *testing.T, dir string, k int) (string, int64) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	path := segs[len(segs)-1]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for p := 24; p+16 <= len(b) && !bytes.Equal(b[p:p+16], make([]byte, 16)); p += 16 + int(binary.LittleEndian.Uint32(b[p+4:])) {
		offs = append(offs, p)
	}
	if len(offs) < k {
		t.Fatalf("%s holds %d records", path, len(offs))
	}
	from := offs[len(offs)-k]
	clear(b[from:])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, int64(from)
}
