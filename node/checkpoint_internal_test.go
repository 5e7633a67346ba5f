package node

import (
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// TestCollectsCheckpointsTheMatchStageTookAhead: a standby applies its
// primary's stream, in which the match stage can pass a second checkpoint
// before the publish stage collects the first; each is collected whole, in
// order, with the state at its own sequence.
func TestCollectsCheckpointsTheMatchStageTookAhead(t *testing.T) {
	n := &Node{cpTaken: make(chan checkpoint, 2)}
	for i := range 2 {
		n.partitions = append(n.partitions, &partition{index: i, engine: matcher.New(EngineConfig(config.Default()))})
	}
	hashes := func() uint64 {
		return matcher.CombineHashes([]uint64{n.partitions[0].engine.Hash(), n.partitions[1].engine.Hash()})
	}
	at10 := hashes()
	for _, p := range n.partitions {
		p.takeCheckpoint(10)
	}
	cl, _ := matcher.MakeClOrdID("A")
	n.partitions[0].engine.Apply(&matcher.Command{Seq: 11, Kind: matcher.KindNew, Symbol: 2, Account: 1,
		Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Price: 10000, Qty: 5, ClOrdID: cl}, nil)
	at20 := hashes()
	for _, p := range n.partitions {
		p.takeCheckpoint(20)
	}
	n.collectCheckpoint(10)
	n.collectCheckpoint(20)
	for _, want := range []struct {
		seq  int64
		hash uint64
	}{{10, at10}, {20, at20}} {
		cp := <-n.cpTaken
		if cp.seq != want.seq || cp.hash != want.hash {
			t.Fatalf("collected checkpoint %d hash %016x, want %d hash %016x", cp.seq, cp.hash, want.seq, want.hash)
		}
	}
	if at10 == at20 {
		t.Fatal("the order between the checkpoints did not change the state")
	}
}
