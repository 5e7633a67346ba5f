package node

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// TestGoldenJournalReplaysAtStartUp: the journal audit keeps as written by
// the code before the typed control records (audit/testdata/golden-journal.md)
// replays through the node's own replay, the one start-up runs, to the
// record count and state hash it had then, every checkpoint hash in it
// checked and equal.
func TestGoldenJournalReplaysAtStartUp(t *testing.T) {
	const dir = "../audit/testdata/golden-journal"
	b, err := os.ReadFile(dir + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Records     int    `json:"records"`
		Partitions  int    `json:"partitions"`
		Checkpoints int    `json:"checkpoints"`
		StateHash   string `json:"stateHash"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s.json: %v", dir, err)
	}
	engines, err := matcher.NewPartitions(EngineConfig(config.Default()), want.Partitions)
	if err != nil {
		t.Fatal(err)
	}
	count, checked, err := applyJournal(dir, engines, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%016x", engines.Hash()); count != want.Records || checked != want.Checkpoints || got != want.StateHash {
		t.Fatalf("replayed %d records, %d checkpoints checked, state hash %s; when written: %d, %d, %s",
			count, checked, got, want.Records, want.Checkpoints, want.StateHash)
	}
}
