package node_test

import (
	"testing"
)

// TestRejoinedStandbyHoldingEverythingIsInSync: the primary stops, the
// standby is promoted, and the old primary comes back as its standby
// already holding every record. The new primary counts it in sync at
// once (ringex status: inSync true), not only once the next record is
// acknowledged, which on a quiet venue may be the next day.
func TestRejoinedStandbyHoldingEverythingIsInSync(t *testing.T) {
	dirP, dirS := t.TempDir(), t.TempDir()
	var logP, logS logLines
	p, _ := startRepl(t, replCfg(dirP, "primary", ""), &logP)
	s, _ := startRepl(t, replCfg(dirS, "standby", p.ReplicationAddr().String()), &logS)
	trade(t, p, "A", 8)
	waitUntil(t, "standby has everything", func() bool { return lastSeq(p) >= 8 && lastSeq(s) == lastSeq(p) })
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	last := lastSeq(s)
	old, _ := startRepl(t, replCfg(dirP, "standby", s.ReplicationAddr().String()), &logP)
	defer old.Stop()
	defer s.Stop()
	waitUntil(t, "the new primary in sync with the old one", func() bool {
		st, _ := s.ReplicationStats()
		return st.Standby.Connected && st.InSync
	})
	if st, _ := s.ReplicationStats(); st.LastSeq != last || st.Degraded {
		t.Fatalf("new primary %+v: want lastSeq %d (no record since the promotion), not degraded", st, last)
	}
}
