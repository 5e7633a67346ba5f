package node_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringex/ringex/journal"
)

// TestLostRecordsMarkersAndTheStandby: a sync primary's last 3 records
// (acknowledged: its standby had made them durable first) are zeroed; the
// operator starts it with startFromLastGood, and it journals markers at
// those seqs (node/missing.go). Its standby still holds the real records
// at the same seqs, in the same epoch. When the standby follows again the
// two journals must not hold different records at the same seq with both
// running on (determinism: one history). Either the standby's records are
// taken, or the standby is told it diverged and stops; here it follows on
// silently.
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
	deadline := time.Now().Add(wait)
	for lastSeq(s) < lastSeq(p) && time.Now().Before(deadline) {
		select {
		case <-s.Done():
			t.Logf("the standby stopped: %v", s.FailErr())
			return // told it diverged: fine
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
		return
	default:
	}
	if len(differ) > 0 {
		t.Fatalf("primary (at %d) and standby (at %d) both run on, in sync, with different records at seqs %v: the primary journaled markers where its standby holds the acknowledged records", lastSeq(p), lastSeq(s), differ)
	}
}
