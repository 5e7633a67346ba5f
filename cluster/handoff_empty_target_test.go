package cluster_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/etcdtest"
)

// What should hold (docs/design.md, "The sync set": "A member the set
// names whose journal is empty (started again on a new disk) is not
// chosen", and the election refuses one whose journal ends before the
// set's seq; issue 17 item 3: promotion goes only to a member that holds
// every acknowledged record): a handoff gives the shard to the member
// that was shown to hold every record handed over, not to whatever
// process next joins under its name.
//
// The scenario an operator hits: leader a, whose sync set {a, b} is at
// seq 10, hands the shard to b ('ringex promote b'); b held seq 10 when
// the handoff was decided. Before b takes the shard it dies, and its
// supervisor starts it again under the same name on an empty disk (a
// fresh volume) while the handoff key still lives (HandoffTTL, 2 TTLs; 10 s here).
//
// The new b, holding less than the handoff was decided on, is refused
// (Member.handedShort): it waits for the handoff to lapse and an election,
// which the set's rules decide. Before, Contend skipped every check for the
// member a live handoff names, and the empty b took the shard and put the
// set {b} at seq 0, so a, holding every acknowledged record, followed it
// and set them all aside.
func TestHandoffTargetRestartedOnEmptyDiskDoesNotTakeTheShard(t *testing.T) {
	s := etcdtest.Start(t)
	var seqA, seqB, seqEmpty atomic.Int64
	seqA.Store(10)
	seqB.Store(10)
	// a's TTL sets the handoff key's life (2 TTLs): long enough that b's
	// restart below falls within it on a loaded machine.
	a := join(t, s, "shard1", "a", 5*time.Second, &seqA)
	b := join(t, s, "shard1", "b", testTTL, &seqB)
	ctx := ctxFor(t, time.Minute)
	la := contendOnce(t, ctx, a)
	if err := la.SetSync(ctx, []string{"b"}, 10); err != nil {
		t.Fatalf("a puts its sync set {a, b} at seq 10: %v", err)
	}
	if err := la.Handoff(ctx, "b", 10); err != nil {
		t.Fatalf("a hands the shard to b, which holds seq 10: %v", err)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Close(closeCtx); err != nil { // b dies before it takes the shard
		t.Fatalf("close b: %v", err)
	}
	b2 := join(t, s, "shard1", "b", testTTL, &seqEmpty) // b again, on an empty disk
	l, err := b2.Contend(ctx)
	if err == nil {
		st, _ := b2.Status(ctx, time.Second)
		sync := "none"
		if st.Sync != nil {
			sync = fmt.Sprintf("%v at seq %d", st.Sync.Members, st.Sync.Seq)
		}
		t.Fatalf("b, started again with an empty journal (seq 0), took the shard by the handoff meant for the b that held seq 10 (token %d); etcd's sync set is now %s: a, holding every acknowledged record, must follow it and set them aside",
			l.Token(), sync)
	}
	t.Logf("b on an empty disk is refused: %v", err)
}
