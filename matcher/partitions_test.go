package matcher

import (
	"slices"
	"testing"
)

// TestPartitionsRouteHashAndFrame: commands go to their symbol's engine and
// the end of the day to every engine; the combined hash agrees with
// CombineHashes of the engines' own; a framed snapshot restores into as
// many partitions and nothing else, and every cut of it is refused.
func TestPartitionsRouteHashAndFrame(t *testing.T) {
	ps, err := NewPartitions(testConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	cmds := []Command{
		limit(brokerA, "B1", Buy, 10, 100),             // symbol 1: partition 1
		onSymbol(limit(brokerA, "B2", Buy, 20, 10), 2), // symbol 2: partition 0
		onSymbol(limit(brokerB, "S1", Sell, 5, 10), 2), // crosses B2
		{Kind: KindCheckpoint},                         // applied by none
		{Kind: KindEndOfDay},                           // every partition
	}
	var evs []Event
	for i := range cmds {
		c := cmds[i]
		c.Seq, c.TimeNs = int64(i+1), int64(i+1)*1000
		evs = ps.Apply(&c, evs[:0])
		if c.Kind == KindCheckpoint && len(evs) != 0 {
			t.Fatalf("a checkpoint caused %d events", len(evs))
		}
	}
	// The end of the day expired B1 (partition 1) and what is left of B2
	// (partition 0), in partition order.
	var expired []string
	for i := range evs {
		expired = append(expired, describe(&evs[i]))
	}
	if len(expired) != 2 || PartitionOf(1, 2) != 1 || PartitionOf(2, 2) != 0 {
		t.Fatalf("end of day over two partitions: %q", expired)
	}
	if want := CombineHashes([]uint64{ps[0].Hash(), ps[1].Hash()}); ps.Hash() != want {
		t.Fatalf("Partitions.Hash %016x, CombineHashes %016x", ps.Hash(), want)
	}

	snap := ps.Snapshot()
	again, _ := NewPartitions(testConfig(), 2)
	if err := again.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again.Hash() != ps.Hash() || !slices.Equal(again.Snapshot(), snap) {
		t.Fatal("restored partitions differ")
	}
	three, _ := NewPartitions(testConfig(), 3)
	if err := three.Restore(snap); err == nil {
		t.Fatal("a snapshot of 2 partitions restored into 3")
	}
	for n := range len(snap) {
		if _, err := SplitSnapshot(snap[:n]); err == nil {
			// A cut on a partition boundary frames fine; restoring it must not.
			if err := again.Restore(snap[:n]); err == nil {
				t.Fatalf("a snapshot cut at %d of %d bytes restored", n, len(snap))
			}
		}
	}
	if _, err := SplitSnapshot(append(slices.Clone(snap), 0)); err == nil {
		t.Fatal("trailing bytes accepted")
	}
	if _, err := NewPartitions(testConfig(), MaxPartitions+1); err == nil {
		t.Fatal("too many partitions accepted")
	}
}
